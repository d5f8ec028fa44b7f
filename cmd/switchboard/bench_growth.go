package main

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/cmd/switchboard/app"
	"github.com/switchboardhq/switchboard/pipeline/streams"
)

// growthRow is one load round of `switchboard bench -rounds N`: the round's throughput, then
// the gateway restarted on the same data directory and measured idle.
type growthRow struct {
	Round         int     `json:"round"`
	Stored        uint64  `json:"stored_messages"` // in SB_INBOUND, all rounds so far
	EventsPerSec  float64 `json:"events_per_sec"`
	CPUPerMessage float64 `json:"cpu_ms_per_message"`
	Lost          int     `json:"lost"`
	Violations    int     `json:"order_violations"`
	RSSLoaded     uint64  `json:"rss_after_load_bytes"`  // before the restart, free memory returned
	Restart       float64 `json:"restart_seconds"`       // Stop + Start until the gateway serves
	ListingReady  float64 `json:"listing_ready_seconds"` // Stop + Start until GET /v1/conversations answers
	Heap          uint64  `json:"idle_heap_bytes"`       // live heap 10 s after the restart (two GCs)
	RSS           uint64  `json:"idle_rss_bytes"`
	Disk          uint64  `json:"disk_bytes"` // the data directory
}

// runGrowth loads o.Rounds rounds of o.Messages into one in-process gateway and measures,
// after each, how the idle gateway's memory, disk and restart time grow with the history.
func runGrowth(ctx context.Context, o *benchOptions, sc scenario, w io.Writer) ([]growthRow, error) {
	if o.Target != "" {
		return nil, fmt.Errorf("-rounds measures an in-process gateway: drop -target")
	}
	o.SkipRaw, o.SkipRef = true, true
	env, err := setupBench(ctx, o, sc)
	if err != nil {
		return nil, err
	}
	defer func() { env.close() }()
	var rows []growthRow
	for round := 1; round <= o.Rounds; round++ {
		runID = fmt.Sprintf("%s-r%d", strconv.FormatInt(time.Now().UnixNano(), 36), round)
		rep, err := benchmark(ctx, o, sc, env)
		if err != nil {
			return rows, fmt.Errorf("round %d: %w", round, err)
		}
		row := growthRow{Round: round, EventsPerSec: rep.EventsPerSec, CPUPerMessage: rep.CPUPerMessage,
			Lost: rep.Lost, Violations: rep.OrderViolations}
		debug.FreeOSMemory()
		row.RSSLoaded = processRSS()
		if o.HeapProfile != "" && round == o.Rounds {
			if err := writeHeapProfile(o.HeapProfile + ".loaded"); err != nil {
				return rows, err
			}
		}
		if wait := o.DedupeWindow; wait > 0 {
			// JetStream keeps each message id of the window in memory, and rebuilds that at
			// start: traffic of the last window, not history.
			fmt.Fprintf(w, "round %d/%d  waiting %s for the duplicate windows to pass\n", round, o.Rounds, wait+5*time.Second)
			time.Sleep(wait + 5*time.Second)
		}
		t0 := time.Now()
		if err := env.restart(ctx); err != nil {
			return rows, fmt.Errorf("round %d: restart: %w", round, err)
		}
		row.Restart = time.Since(t0).Seconds()
		if err := env.waitListing(ctx, o.Token); err != nil {
			return rows, fmt.Errorf("round %d: %w", round, err)
		}
		row.ListingReady = time.Since(t0).Seconds()
		time.Sleep(o.Settle) // the start's replays end and nats-server's block caches expire (10 s after their last use)
		row.Heap = idleHeap()
		debug.FreeOSMemory()
		row.RSS = processRSS()
		row.Disk = dirSize(env.dir)
		row.Stored, _ = streamMsgs(ctx, env, streams.StreamInbound)
		rows = append(rows, row)
		fmt.Fprintf(w, "round %d/%d  %s stored  %.0f events/s  %.3f ms cpu/msg  lost %d  restart %.1fs  listing %.1fs  idle heap %s  rss %s  disk %s (%.1f KB/msg)\n",
			round, o.Rounds, thousands(row.Stored), row.EventsPerSec, row.CPUPerMessage, row.Lost, row.Restart, row.ListingReady,
			mib(row.Heap), mib(row.RSS), mib(row.Disk), float64(row.Disk)/1024/float64(max(row.Stored, 1)))
		if row.Lost > 0 || row.Violations > 0 {
			return rows, errFailed
		}
	}
	if o.HeapProfile != "" {
		return rows, writeHeapProfile(o.HeapProfile)
	}
	return rows, nil
}

// writeHeapProfile writes the live heap's profile to path.
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	runtime.GC()
	return pprof.WriteHeapProfile(f)
}

// restart stops the in-process gateway and starts it again on the same data directory,
// returning once it serves (JetStream recovered, consumers and HTTP up).
func (e *benchEnv) restart(ctx context.Context) error {
	e.nc.Close()
	sctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := e.app.Stop(sctx); err != nil {
		return err
	}
	e.app = nil
	runtime.GC()
	a, err := app.Start(ctx, e.opts)
	if err != nil {
		return err
	}
	e.app, e.base = a, "http://"+a.HTTPAddr()
	if err := e.connect(a.NATSURL(), a.NATSLogin()); err != nil {
		return err
	}
	// Wait until a conversation event can be read: the streams are recovered.
	_, err = e.js.Stream(ctx, streams.StreamConversations)
	return err
}

// waitListing waits until the conversation listing answers (it reads SB_CONVERSATIONS, or
// the checkpoint of a clean stop and what was stored after it, before it does).
func (e *benchEnv) waitListing(ctx context.Context, token string) error {
	deadline := time.Now().Add(10 * time.Minute)
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.base+"/v1/conversations?limit=1", nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := e.client.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			if resp.StatusCode != http.StatusServiceUnavailable {
				return fmt.Errorf("GET /v1/conversations after the restart: %s", resp.Status)
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the listing was not ready 10 minutes after the restart (%v)", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// idleHeap is the median of three live-heap samples two seconds apart (timers and caches
// come and go even in an idle gateway).
func idleHeap() uint64 {
	var s []uint64
	for i := range 3 {
		if i > 0 {
			time.Sleep(2 * time.Second)
		}
		s = append(s, liveHeap())
	}
	slices.Sort(s)
	return s[1]
}

// liveHeap is the heap still in use after two collections.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// processRSS reads this process's resident set from /proc (0 when unknown).
func processRSS() uint64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

func dirSize(dir string) uint64 {
	var n uint64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				n += uint64(info.Size())
			}
		}
		return nil
	})
	return n
}

func mib(b uint64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

func thousands(n uint64) string {
	s := strconv.FormatUint(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// printGrowth prints the rounds as a Markdown table (for docs/benchmarks.md).
func printGrowth(w io.Writer, o *benchOptions, rows []growthRow) {
	fmt.Fprintf(w, "\n%s scenario, %d customers, %d messages per round\n\n", o.Scenario, o.Customers, o.Messages)
	fmt.Fprintln(w, "| stored messages | events/s | CPU ms/msg | restart | listing ready | idle heap | idle RSS | RSS after load | disk | disk/msg |")
	fmt.Fprintln(w, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range rows {
		fmt.Fprintf(w, "| %s | %.0f | %.3f | %.1f s | %.1f s | %s | %s | %s | %s | %.1f KB |\n", thousands(r.Stored), r.EventsPerSec,
			r.CPUPerMessage, r.Restart, r.ListingReady, mib(r.Heap), mib(r.RSS), mib(r.RSSLoaded), mib(r.Disk),
			float64(r.Disk)/1024/float64(max(r.Stored, 1)))
	}
}
