package main

import (
	"context"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"
)

// limitMemory sets the Go runtime's soft memory limit: memory_limit from the config, else 80%
// of the container's cgroup limit when there is one (GOMEMLIMIT, when set, wins over both).
// Near the limit the collector works harder instead of letting the heap grow.
func limitMemory(configured int64, log *zap.Logger) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	limit := configured
	if limit == 0 {
		if cg := cgroupMemoryLimit(); cg > 0 {
			limit = cg / 10 * 8
		}
	}
	if limit > 0 {
		debug.SetMemoryLimit(limit)
		log.Info("memory limit", zap.Int64("bytes", limit))
	}
}

// cgroupMemoryLimit reads cgroup v2's memory.max (0: none or unknown).
func cgroupMemoryLimit() int64 {
	data, err := os.ReadFile("/sys/fs/cgroup/memory.max")
	if err != nil {
		return 0
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
	if err != nil || n <= 0 || n > 1<<50 {
		return 0
	}
	return n
}

// releaseMemory hands memory the heap no longer uses back to the OS once a burst is over.
// The runtime keeps freed memory up to its heap goal (twice the live heap) for reuse, and a
// process gone quiet after an overload does not even collect the burst's garbage (nothing
// allocates, so nothing triggers a GC). Every 15 s, while the heap holds more than 64 MiB
// from the OS, it collects and returns what is free: a forced GC of a heap that size costs a
// few tens of milliseconds of CPU.
func releaseMemory(ctx context.Context) {
	t := time.NewTicker(15 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		if ms.HeapSys-ms.HeapReleased > 64<<20 {
			debug.FreeOSMemory()
		}
	}
}
