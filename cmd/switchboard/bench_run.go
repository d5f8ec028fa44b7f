package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchboardhq/switchboard/pipeline/streams"
	"github.com/switchboardhq/switchboard/schema"
)

// runID keeps external ids of this run distinct from earlier runs on the same gateway.
var runID = strconv.FormatInt(time.Now().UnixNano(), 36)

// tracker records, per (customer, seq), when the request started and when its conversation
// event arrived, and checks per-customer order on arrival.
type tracker struct {
	perCustomer int
	customers   map[string]int
	start       []atomic.Int64
	arrived     []atomic.Int64
	lastSeq     []int // only touched by the subscription goroutine
	events      atomic.Int64
	violations  atomic.Int64
	unknown     atomic.Int64
	done        chan struct{}
	want        atomic.Int64
}

func newTracker(o *benchOptions, sc scenario) *tracker {
	per := (o.Messages + o.Customers - 1) / o.Customers
	t := &tracker{perCustomer: per, customers: make(map[string]int, o.Customers),
		start: make([]atomic.Int64, o.Customers*per), arrived: make([]atomic.Int64, o.Customers*per),
		lastSeq: make([]int, o.Customers), done: make(chan struct{})}
	for c := 0; c < o.Customers; c++ {
		t.customers[sc.Customer(c)] = c
		t.lastSeq[c] = -1
	}
	t.want.Store(-1)
	return t
}

func (t *tracker) slot(c, seq int) int { return c*t.perCustomer + seq }

// onEvent runs on the subscription's single goroutine, in delivery order.
func (t *tracker) onEvent(m *nats.Msg) {
	now := time.Now().UnixNano()
	var ev struct {
		Message *struct {
			Direction string `json:"direction"`
			Text      string `json:"text"`
			From      struct {
				Value string `json:"value"`
			} `json:"from"`
		} `json:"message"`
	}
	if json.Unmarshal(m.Data, &ev) != nil || ev.Message == nil || ev.Message.Direction != string(schema.Inbound) {
		return
	}
	c, ok := t.customers[ev.Message.From.Value]
	line, _, _ := strings.Cut(ev.Message.Text, "\n")
	seq, err := strconv.Atoi(line)
	if !ok || err != nil || seq >= t.perCustomer {
		t.unknown.Add(1)
		return
	}
	if seq <= t.lastSeq[c] {
		t.violations.Add(1)
	}
	t.lastSeq[c] = seq
	if t.arrived[t.slot(c, seq)].CompareAndSwap(0, now) {
		if n := t.events.Add(1); n == t.want.Load() {
			close(t.done)
		}
	}
}

// expect sets how many events to wait for (the accepted count, known after sending).
func (t *tracker) expect(n int64) {
	t.want.Store(n)
	if t.events.Load() >= n {
		select {
		case <-t.done:
		default:
			close(t.done)
		}
	}
}

// benchmark drives the load and collects the report.
func benchmark(ctx context.Context, o *benchOptions, sc scenario, env *benchEnv) (*benchReport, error) {
	tr := newTracker(o, sc)
	sub, err := env.nc.Subscribe(streams.ConversationTypeFilter("", schema.EventMessage), tr.onEvent)
	if err != nil {
		return nil, err
	}
	defer sub.Unsubscribe()
	_ = sub.SetPendingLimits(-1, -1)
	if err := env.nc.Flush(); err != nil {
		return nil, err
	}
	before, err := streamMsgs(ctx, env, streams.StreamInbound)
	if err != nil {
		return nil, err
	}
	rep := &benchReport{Scenario: o.Scenario, Messages: o.Messages, Concurrency: o.Concurrency,
		Customers: o.Customers, Rate: o.Rate, InProcess: env.inproc, Failures: map[string]int{}}
	cpu0 := processCPU()
	accepted, acceptLat, elapsed := drive(ctx, o, sc, env, tr, rep)
	rep.Accepted = accepted
	rep.AcceptedPerSec = float64(accepted) / elapsed.Seconds()
	rep.AcceptLatency = summarize(acceptLat)
	tr.expect(int64(accepted))
	wait(ctx, tr, o.Timeout)
	rep.InsightLag, rep.InsightCatchUp = insightLag(ctx, env, o.Timeout)
	rep.collectEvents(tr)
	if rep.Events > 0 {
		rep.CPUPerMessage = float64(processCPU()-cpu0) / float64(time.Millisecond) / float64(rep.Events)
	}
	after, err := streamMsgs(ctx, env, streams.StreamInbound)
	if err == nil {
		rep.Stored = int(after - before)
		rep.StoredMismatch = rep.Stored - accepted
	}
	if !o.SkipRaw {
		raw, err := rawCeiling(ctx, env, o, sampleSize(ctx, env))
		if err != nil {
			return nil, fmt.Errorf("raw ceiling: %w", err)
		}
		rep.Raw = raw
		rep.Ratio = rep.AcceptedPerSec / raw.PerSec
	}
	if !o.SkipRef {
		ref, err := runReference(ctx, o, sc, env)
		if err != nil {
			return nil, fmt.Errorf("reference gateway: %w", err)
		}
		rep.Reference = ref
		if ref.PerSec > 0 {
			rep.RoutedToReference, rep.AcceptedToReference = rep.EventsPerSec/ref.PerSec, rep.AcceptedPerSec/ref.PerSec
		}
		if ref.CPUPerMessage > 0 {
			rep.CPUToReference = rep.CPUPerMessage / ref.CPUPerMessage
		}
	}
	return rep, nil
}

func wait(ctx context.Context, tr *tracker, timeout time.Duration) {
	select {
	case <-tr.done:
	case <-time.After(timeout):
	case <-ctx.Done():
	}
}

// drive sends every message: worker w owns customers c ≡ w (mod concurrency) and sends each
// customer's messages in order, one request at a time.
func drive(ctx context.Context, o *benchOptions, sc scenario, env *benchEnv, tr *tracker, rep *benchReport) (int, []time.Duration, time.Duration) {
	payload := strings.Repeat("x", max(o.Size-8, 0))
	jobs := make([][]int, o.Concurrency) // message numbers per worker, in order
	for i := 0; i < o.Messages; i++ {
		w := (i % o.Customers) % o.Concurrency
		jobs[w] = append(jobs[w], i)
	}
	var (
		mu       sync.Mutex
		lat      = make([]time.Duration, 0, o.Messages)
		accepted atomic.Int64
		wg       sync.WaitGroup
	)
	t0 := time.Now()
	for w := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, len(jobs[w]))
			for _, i := range jobs[w] {
				if ctx.Err() != nil {
					break
				}
				c, seq := i%o.Customers, i/o.Customers
				start := pace(o, t0, i)
				tr.start[tr.slot(c, seq)].Store(start.UnixNano())
				status, err := send(env, sc, o, c, seq, payload)
				if err == nil && sc.Accepted(status) {
					accepted.Add(1)
					local = append(local, time.Since(start))
					continue
				}
				mu.Lock()
				rep.Failures[failureKey(status, err)]++
				mu.Unlock()
			}
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return int(accepted.Load()), lat, time.Since(t0)
}

// pace returns the intended start of message i: now (closed loop) or its slot in the
// open-loop schedule, waiting for it. Latency counts from the intended start, so a slow
// gateway cannot hide its queueing (no coordinated omission).
func pace(o *benchOptions, t0 time.Time, i int) time.Time {
	if o.Rate <= 0 {
		return time.Now()
	}
	at := t0.Add(time.Duration(float64(i) / o.Rate * float64(time.Second)))
	if d := time.Until(at); d > 0 {
		time.Sleep(d)
	}
	return at
}

func send(env *benchEnv, sc scenario, o *benchOptions, c, seq int, payload string) (int, error) {
	req, err := sc.Request(o, env.base, c, seq, payload)
	if err != nil {
		return 0, err
	}
	resp, err := env.client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

func failureKey(status int, err error) string {
	if err != nil {
		return "error: " + err.Error()
	}
	return strconv.Itoa(status) + " " + http.StatusText(status)
}

func streamMsgs(ctx context.Context, env *benchEnv, name string) (uint64, error) {
	state, err := streamState(ctx, env, name)
	return state.Msgs, err
}

// streamState is a stream's state now.
func streamState(ctx context.Context, env *benchEnv, name string) (jetstream.StreamState, error) {
	st, err := env.js.Stream(ctx, name)
	if err != nil {
		return jetstream.StreamState{}, err
	}
	info, err := st.Info(ctx)
	if err != nil {
		return jetstream.StreamState{}, err
	}
	return info.State, nil
}

// sampleSize is the size of the last stored inbound message: the raw ceiling publishes
// payloads of the same size.
func sampleSize(ctx context.Context, env *benchEnv) int {
	st, err := env.js.Stream(ctx, streams.StreamInbound)
	if err != nil {
		return 512
	}
	m, err := st.GetLastMsgForSubject(ctx, streams.FilterInbound)
	if err != nil {
		return 512
	}
	return len(m.Data)
}

// processCPU is the CPU time (user + system) this process has used so far. In process, that
// is the gateway and the load generator together.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// insightLag is how many events the insight projection's stored position is behind
// SB_CONVERSATIONS now, and how long it takes to reach where the stream is now.
func insightLag(ctx context.Context, env *benchEnv, timeout time.Duration) (uint64, float64) {
	target, err := streamLast(ctx, env, streams.StreamConversations)
	if err != nil {
		return 0, -1
	}
	kv, err := env.js.KeyValue(ctx, streams.BucketInsight)
	if err != nil {
		return 0, -1
	}
	pos := func() uint64 {
		var p struct {
			Seq uint64 `json:"seq"`
		}
		if e, err := kv.Get(ctx, "pos"); err == nil {
			_ = json.Unmarshal(e.Value(), &p)
		}
		return p.Seq
	}
	t0 := time.Now()
	lag := target - min(target, pos())
	for pos() < target {
		if time.Since(t0) > timeout {
			return lag, -1
		}
		time.Sleep(20 * time.Millisecond)
	}
	return lag, time.Since(t0).Seconds()
}

// streamLast is a stream's last sequence.
func streamLast(ctx context.Context, env *benchEnv, name string) (uint64, error) {
	state, err := streamState(ctx, env, name)
	return state.LastSeq, err
}
