package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// rawResult is the raw JetStream publish ceiling on the same server.
type rawResult struct {
	Messages int          `json:"messages"`
	Size     int          `json:"payload_bytes"`
	PerSec   float64      `json:"per_sec"`
	Latency  latencyStats `json:"latency"`
}

// rawCeiling publishes messages of the gateway's payload size into a scratch stream with the
// same storage and dedupe settings as SB_INBOUND, from as many concurrent synchronous
// publishers as the bench used: what JetStream alone does, no HTTP, no routing.
func rawCeiling(ctx context.Context, env *benchEnv, o *benchOptions, size int) (*rawResult, error) {
	const name = "SB_BENCH_RAW"
	_, err := env.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{Name: name, Subjects: []string{"sb.benchraw.>"},
		Storage: jetstream.FileStorage, Duplicates: 20 * time.Minute, MaxAge: time.Hour})
	if err != nil {
		return nil, err
	}
	defer func() { _ = env.js.DeleteStream(context.WithoutCancel(ctx), name) }()
	n := min(o.Messages, 100000)
	data := []byte(strings.Repeat("r", size))
	var next atomic.Int64
	var mu sync.Mutex
	lat := make([]time.Duration, 0, n)
	var firstErr atomic.Value
	var wg sync.WaitGroup
	t0 := time.Now()
	for w := 0; w < o.Concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, n/o.Concurrency+1)
			for i := next.Add(1) - 1; i < int64(n); i = next.Add(1) - 1 {
				start := time.Now()
				_, err := env.js.Publish(ctx, fmt.Sprintf("sb.benchraw.%d", i%64), data,
					jetstream.WithMsgID(fmt.Sprintf("raw-%s-%d", runID, i)))
				if err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				local = append(local, time.Since(start))
			}
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(t0)
	if err, _ := firstErr.Load().(error); err != nil {
		return nil, err
	}
	return &rawResult{Messages: n, Size: size, PerSec: float64(n) / elapsed.Seconds(), Latency: summarize(lat)}, nil
}
