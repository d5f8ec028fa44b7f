package insight

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/switchboardhq/switchboard/configs/cfg"
	"github.com/switchboardhq/switchboard/pipeline"
	"github.com/switchboardhq/switchboard/pipeline/natstest"
	"github.com/switchboardhq/switchboard/pipeline/streams"
	"github.com/switchboardhq/switchboard/router/insight/kpi"
	"github.com/switchboardhq/switchboard/router/insight/kpi/kpitest"
	"github.com/switchboardhq/switchboard/schema"
)

type env struct {
	t   *testing.T
	js  jetstream.JetStream
	cfg Config
	ls  *pipeline.Leases
}

func newEnv(t *testing.T, c Config) *env {
	t.Helper()
	js := natstest.StartJetStream(t)
	ctx := context.Background()
	if err := pipeline.Provision(ctx, js, pipeline.Config{}, 1); err != nil {
		t.Fatal(err)
	}
	if err := Provision(ctx, js, c, 1); err != nil {
		t.Fatal(err)
	}
	kv, err := js.KeyValue(ctx, streams.BucketLeases)
	if err != nil {
		t.Fatal(err)
	}
	c = c.WithDefaults()
	return &env{t: t, js: js, cfg: c, ls: pipeline.NewLeases(kv, &pipeline.Instance{ID: "a"}, 3*time.Second, zap.NewNop())}
}

// publish stores events on SB_CONVERSATIONS as the router does; the last stream sequence.
func (e *env) publish(evs []*schema.Event) uint64 {
	e.t.Helper()
	var last uint64
	for _, ev := range evs {
		ev.Schema = schema.EventSchema
		data, _ := json.Marshal(ev)
		ack, err := e.js.Publish(context.Background(), streams.EventSubject(ev), data, jetstream.WithMsgID(ev.ID))
		if err != nil {
			e.t.Fatal(err)
		}
		last = ack.Sequence
	}
	return last
}

func (e *env) projection() *Projection {
	e.t.Helper()
	p, err := New(context.Background(), Options{JS: e.js, Config: e.cfg, Leases: e.ls, Logger: zap.NewNop()})
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

// run runs a projection until the stored position reaches seq, then stops it cleanly.
func (e *env) run(seq uint64) *Projection {
	e.t.Helper()
	p := e.projection()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			e.t.Error(err)
		}
	}()
	// A loaded machine (the race detector, other tests) is slow, not stuck: fail when the
	// projection stops moving for 20 s, or after two minutes in all.
	stalled, limit := time.Now().Add(20*time.Second), time.Now().Add(2*time.Minute)
	var last uint64
	for {
		pos, _, err := loadPosition(context.Background(), p.kv)
		if err != nil {
			e.t.Fatal(err)
		}
		if pos.Seq >= seq {
			return p
		}
		if pos.Seq > last {
			last, stalled = pos.Seq, time.Now().Add(20*time.Second)
		}
		if now := time.Now(); now.After(stalled) || now.After(limit) {
			e.t.Fatalf("the projection reached stream sequence %d of %d (stalled or too slow)", pos.Seq, seq)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func histories(seed uint64, n int, loc *time.Location, window time.Duration) ([]*schema.Event, []kpitest.Sample) {
	g := &kpitest.Gen{Rng: rand.New(rand.NewPCG(seed, 5)), Now: time.Date(2026, 11, 1, 3, 0, 0, 0, time.UTC)}
	var all []*schema.Event
	var want []kpitest.Sample
	for i := range n {
		evs := g.Conversation(fmt.Sprintf("conv%d", i))
		all = append(all, evs...)
		want = append(want, kpitest.BruteForce(evs, noCalendar{}, window)...)
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].At.Before(all[j].At) })
	return all, want
}

// noCalendar is no business hours: the business-hours figure is 0 for every response.
type noCalendar struct{}

func (noCalendar) Between(a, b time.Time) time.Duration { return 0 }

func (e *env) checkReports(want []kpitest.Sample, loc *time.Location, seed uint64) {
	e.t.Helper()
	r, err := OpenReports(context.Background(), e.js, e.cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 11))
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, loc)
	for q := range 12 {
		from := start.Add(time.Duration(rng.IntN(5*24*4)) * 15 * time.Minute)
		to := from.Add(time.Duration(1+rng.IntN(6*24*4)) * 15 * time.Minute)
		if q == 0 {
			from, to = start, start.AddDate(0, 0, 10)
		}
		ivs := []kpi.Interval{kpi.IntervalNone, kpi.IntervalHour, kpi.IntervalDay, kpi.IntervalWeek}
		iv := ivs[q%len(ivs)]
		groupBy := [][]string{nil, {"channel"}, {"queue", "agent"}, {"channel", "account", "priority"}}[q%4]
		if len(groupBy) > kpi.MaxQuarterGroupBy { // several dimensions: whole days
			from = time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, loc)
			to = time.Date(to.Year(), to.Month(), to.Day()+1, 0, 0, 0, 0, loc)
			if iv == kpi.IntervalHour {
				iv = kpi.IntervalDay
			}
		}
		rep, err := r.Conversations(context.Background(), Query{From: from, To: to, Interval: iv, GroupBy: groupBy})
		if err != nil {
			e.t.Fatal(err)
		}
		// The business-hours figure: the brute force was given no calendar, so it has one
		// sample of 0 per first response, while the projection (no business_hours
		// configured) has none. Leave that metric out of the comparison.
		kpitest.Compare(e.t, fmt.Sprintf("query %d", q), rep.Rows, dropBusiness(want), from, to, iv, groupBy, loc)
	}
}

func dropBusiness(in []kpitest.Sample) []kpitest.Sample {
	var out []kpitest.Sample
	for _, s := range in {
		if s.Name != kpi.FirstResponseBusiness {
			out = append(out, s)
		}
	}
	return out
}

// TestProjectionEqualsBruteForce: the stored cells, read through the reports, equal the
// brute-force figures; an undecodable event is skipped.
func TestProjectionEqualsBruteForce(t *testing.T) {
	e := newEnv(t, Config{Timezone: "Europe/Berlin", ReopenWindow: 48 * hour})
	loc := mustLoc(t, "Europe/Berlin")
	evs, want := histories(1, 120, loc, 48*time.Hour)
	e.publish(evs[:len(evs)/2])
	if _, err := e.js.Publish(context.Background(), "sb.conv.broken.message", []byte("{not json")); err != nil {
		t.Fatal(err)
	}
	last := e.publish(evs[len(evs)/2:])
	e.run(last)
	e.checkReports(want, loc, 1)
}

// TestProjectionReplayChangesNothing: cells stored ahead of the position (a crash between
// the two writes) are not counted twice when the events are read again, and a restart with
// no memory of the conversations reads their earlier events back.
func TestProjectionReplayChangesNothing(t *testing.T) {
	e := newEnv(t, Config{ReopenWindow: 48 * hour})
	evs, want := histories(2, 100, time.UTC, 48*time.Hour)
	mid := e.publish(evs[:len(evs)*2/3])
	last := e.publish(evs[len(evs)*2/3:])
	// A first run applies two thirds of the stream and stores its cells, not its position.
	p := e.projection()
	b := p.builder(Position{Generation: 1}, 0, false)
	ctx := context.Background()
	err := streams.NewReader(e.js).Read(ctx, streams.Query{Filter: streams.FilterConversations, Until: mid}, func(s *streams.Stored) error {
		return b.apply(ctx, s)
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.flushCells(ctx); err != nil {
		t.Fatal(err)
	}
	// The next run starts from nothing, replays everything, and must count each event once.
	e.run(last)
	e.checkReports(want, time.UTC, 2)
}

// TestProjectionRestartsFromItsCheckpoint: after a clean stop the next run takes the
// conversations' state from the stop checkpoint and reads none back from the stream; after a
// crash past that checkpoint (a position stored later, no new checkpoint) the stale checkpoint
// is not used and conversations are read back. The figures stay exact either way.
func TestProjectionRestartsFromItsCheckpoint(t *testing.T) {
	e := newEnv(t, Config{ReopenWindow: 48 * hour})
	evs, want := histories(4, 100, time.UTC, 48*time.Hour)
	first := e.publish(evs[:len(evs)/3])
	following := map[string]bool{}
	for _, ev := range evs[:len(evs)/3] {
		following[ev.ConversationID] = true
	}
	if p := e.run(first); counterValue(t, p.o.Metrics.Restored) != 0 {
		t.Fatal("a first run restored state from nowhere")
	}

	second := e.publish(evs[len(evs)/3 : len(evs)*2/3])
	p := e.run(second)
	if got := counterValue(t, p.o.Metrics.Restored); int(got) != len(following) {
		t.Errorf("restored %v conversations from the checkpoint, want the %d followed", got, len(following))
	}
	if got := counterValue(t, p.o.Metrics.Rebuilt); got != 0 {
		t.Errorf("read %v conversations back from the stream after a clean stop, want 0", got)
	}

	// A run that stores a later position and crashes before its stop checkpoint.
	last := e.publish(evs[len(evs)*2/3:])
	crashed := e.projection()
	pos, rev, err := loadPosition(context.Background(), crashed.kv)
	if err != nil {
		t.Fatal(err)
	}
	b := crashed.builder(pos, rev, false)
	ctx := context.Background()
	mid := second + (last-second)/2
	err = streams.NewReader(e.js).Read(ctx, streams.Query{Filter: streams.FilterConversations, After: second, Until: mid}, func(s *streams.Stored) error {
		return b.apply(ctx, s)
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.flush(ctx); err != nil {
		t.Fatal(err)
	}
	p = e.run(last)
	if got := counterValue(t, p.o.Metrics.Restored); got != 0 {
		t.Errorf("restored %v conversations from a checkpoint older than the position", got)
	}
	if counterValue(t, p.o.Metrics.Rebuilt) == 0 {
		t.Error("no conversation was read back after the crash")
	}
	e.checkReports(want, time.UTC, 4)
}

// counterValue reads a counter.
func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil || len(mfs) != 1 {
		t.Fatal(err, len(mfs))
	}
	return mfs[0].GetMetric()[0].GetCounter().GetValue()
}

const hour = cfg.Duration(time.Hour)

func mustLoc(t *testing.T, name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// cellsOf reads every cell of a generation, without its through-sequence.
func (e *env) cellsOf(gen uint64) map[string]*kpi.Cell {
	e.t.Helper()
	ctx := context.Background()
	kv, err := e.js.KeyValue(ctx, streams.BucketInsight)
	if err != nil {
		e.t.Fatal(err)
	}
	lister, err := kv.ListKeysFiltered(ctx, fmt.Sprintf("g%d.>", gen))
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]*kpi.Cell{}
	for k := range lister.Keys() {
		entry, err := kv.Get(ctx, k)
		if err != nil {
			e.t.Fatal(err)
		}
		c, err := kpi.DecodeCell(entry.Value())
		if err != nil {
			e.t.Fatal(err)
		}
		c.Through = 0
		out[k[len(fmt.Sprintf("g%d.", gen)):]] = c
	}
	return out
}

// TestRebuildReproducesTheCells: a rebuild while the projection runs recomputes identical
// cells into the next generation, switches to it, purges the old one, and the running
// projection carries on in the new generation.
func TestRebuildReproducesTheCells(t *testing.T) {
	e := newEnv(t, Config{Timezone: "America/New_York", ReopenWindow: 48 * hour})
	loc := mustLoc(t, "America/New_York")
	evs, want := histories(3, 90, loc, 48*time.Hour)
	first := e.publish(evs[:len(evs)/2])
	e.run(first)
	live := e.cellsOf(1)
	if len(live) == 0 {
		t.Fatal("the projection stored no cells")
	}
	p := e.projection()
	var calls int
	pos, err := p.Rebuild(context.Background(), func(done, total uint64) {
		calls++
		if done > total || total != first {
			t.Errorf("progress %d of %d, want a total of %d", done, total, first)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if pos.Generation != 2 || pos.Seq != first || calls == 0 {
		t.Fatalf("rebuilt to %+v with %d progress calls", pos, calls)
	}
	rebuilt := e.cellsOf(2)
	if len(rebuilt) != len(live) {
		t.Fatalf("the rebuild has %d cells, the live projection had %d", len(rebuilt), len(live))
	}
	for k, c := range live {
		if string(rebuilt[k].Encode()) != string(c.Encode()) {
			t.Fatalf("cell %s differs after the rebuild", k)
		}
	}
	if left := e.cellsOf(1); len(left) != 0 {
		t.Fatalf("%d cells of the old generation are left", len(left))
	}
	// The projection goes on in the new generation.
	last := e.publish(evs[len(evs)/2:])
	e.run(last)
	e.checkReports(want, loc, 3)
}
