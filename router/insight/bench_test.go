package insight

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchboardhq/switchboard/router/insight/kpi"
	"github.com/switchboardhq/switchboard/router/planning"
	"github.com/switchboardhq/switchboard/schema"
)

// generatedConversations folds n synthetic conversations spread over days (6 channels, 12
// accounts, 4 queues, 40 agents, 3 priorities) into cells, as the projection would, in time
// order; store is handed the cells of every day once nothing can touch them any more (a
// conversation spans at most 3 days), so memory stays bounded.
func generatedConversations(n, days int, start time.Time, loc *time.Location, store func(map[kpi.CellID]*kpi.Cell)) {
	rng := rand.New(rand.NewPCG(42, 42))
	channels := []schema.Channel{schema.ChannelEmail, schema.ChannelSMS, schema.ChannelWhatsApp, schema.ChannelWebchat, schema.ChannelMessenger, schema.ChannelAPI}
	cells := map[kpi.CellID]*kpi.Cell{}
	o := kpi.Options{ReopenWindow: 168 * time.Hour}
	starts := make([]time.Time, n)
	for i := range starts {
		starts[i] = start.Add(time.Duration(rng.Int64N(int64(days) * int64(24*time.Hour))))
	}
	slices.SortFunc(starts, func(a, b time.Time) int { return a.Compare(b) })
	flushed := start
	flush := func(before time.Time) {
		done := map[kpi.CellID]*kpi.Cell{}
		for id, c := range cells {
			if cellStart(id, loc).Before(before) {
				done[id] = c
				delete(cells, id)
			}
		}
		store(done)
	}
	for i := range n {
		at := starts[i]
		if at.Sub(flushed) > 24*time.Hour {
			flushed = at.Add(-4 * 24 * time.Hour)
			flush(flushed)
			flushed = at
		}
		ch := channels[rng.IntN(len(channels))]
		acct := fmt.Sprintf("acct%d", rng.IntN(2))
		queue := fmt.Sprintf("q%d", rng.IntN(4))
		agent := fmt.Sprintf("agent%02d", rng.IntN(40))
		prio := rng.IntN(3)
		var seq uint64
		tr := &kpi.Tracker{}
		step := func(typ schema.EventType, d time.Duration, f func(*schema.Event)) {
			seq++
			at = at.Add(d)
			e := &schema.Event{Type: typ, Seq: seq, At: at, ConversationID: fmt.Sprint(i)}
			if f != nil {
				f(e)
			}
			for _, op := range tr.Apply(e, o) {
				kpi.Place(op, loc, func(base string, mi int, op kpi.Op) {
					id := kpi.CellID{Base: base, Mask: kpi.Masks[mi]}
					c := cells[id]
					if c == nil {
						c = kpi.NewCell()
						cells[id] = c
					}
					c.Add(op)
				})
			}
		}
		in := func(e *schema.Event) {
			e.Message = &schema.Message{Direction: schema.Inbound, Kind: schema.KindMessage, Channel: ch, Account: acct}
		}
		out := func(e *schema.Event) {
			e.Message = &schema.Message{Direction: schema.Outbound, Kind: schema.KindMessage, Channel: ch, AgentID: agent}
		}
		step(schema.EventOpened, 0, nil)
		step(schema.EventMessage, 0, in)
		step(schema.EventQueued, time.Second, func(e *schema.Event) { e.Routing = &schema.Routing{Queue: queue, Priority: prio} })
		step(schema.EventAssigned, time.Duration(rng.IntN(1800))*time.Second, func(e *schema.Event) {
			e.Routing = &schema.Routing{Queue: queue, Priority: prio, AgentID: agent}
		})
		for r := range 1 + rng.IntN(3) {
			if r > 0 {
				step(schema.EventMessage, time.Duration(rng.IntN(3600))*time.Second, in)
			}
			step(schema.EventMessage, time.Duration(rng.IntN(7200))*time.Second, out)
		}
		step(schema.EventResolved, time.Duration(rng.IntN(3600))*time.Second, nil)
		if rng.IntN(10) == 0 {
			step(schema.EventReopened, time.Duration(rng.IntN(48))*time.Hour, nil)
			step(schema.EventMessage, 0, in)
			step(schema.EventAssigned, time.Minute, func(e *schema.Event) { e.Routing = &schema.Routing{Queue: queue, AgentID: agent} })
			step(schema.EventMessage, time.Duration(rng.IntN(3600))*time.Second, out)
			step(schema.EventResolved, time.Hour, nil)
		}
	}
	flush(start.AddDate(1, 0, 0))
}

// cellStart is when a cell's interval starts.
func cellStart(id kpi.CellID, loc *time.Location) time.Time {
	if q, ok := strings.CutPrefix(id.Base, "q."); ok {
		n, _ := strconv.ParseInt(q, 10, 64)
		return time.Unix(n*900, 0)
	}
	d, _ := time.ParseInLocation("20060102", strings.TrimPrefix(id.Base, "d."), loc)
	return d
}

// BenchmarkReportMonth stores a generated month of 1,000,000 conversations as the
// projection would and times report queries over it (p50/p99 per query shape).
//
//	go test ./router/insight -run '^$' -bench ReportMonth -benchtime 1x -timeout 30m
func BenchmarkReportMonth(b *testing.B) {
	n := 1_000_000
	if testing.Short() {
		n = 50_000
	}
	e := newEnv(&testing.T{}, Config{}) // the server lives as long as the process
	_ = e
	loc := time.UTC
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, loc)
	t0 := time.Now()
	ctx := context.Background()
	kv, err := e.js.KeyValue(ctx, "sb_insight")
	if err != nil {
		b.Fatal(err)
	}
	var biggest, total, count int
	generatedConversations(n, 30, start, loc, func(cells map[kpi.CellID]*kpi.Cell) {
		b, t := storeCells(b, kv, cells)
		biggest, total, count = max(biggest, b), total+t, count+len(cells)
	})
	b.Logf("folded and stored %d conversations in %s: %d cells, %.1f MB, the biggest %d KB", n, time.Since(t0).Round(time.Millisecond),
		count, float64(total)/1e6, biggest/1024)
	r, err := OpenReports(ctx, e.js, Config{})
	if err != nil {
		b.Fatal(err)
	}
	end := start.AddDate(0, 0, 30)
	shapes := []struct {
		name string
		q    Query
	}{
		{"month-total", Query{From: start, To: end}},
		{"month-by-day-queue", Query{From: start, To: end, Interval: kpi.IntervalDay, GroupBy: []string{"queue"}}},
		{"month-by-agent", Query{From: start, To: end, GroupBy: []string{"agent"}}},
		{"month-by-channel-queue", Query{From: start, To: end, GroupBy: []string{"channel", "queue"}}},
		{"week-by-hour", Query{From: start, To: start.AddDate(0, 0, 7), Interval: kpi.IntervalHour}},
		{"day-by-15m-channel", Query{From: start, To: start.AddDate(0, 0, 1), Interval: kpi.Interval15m, GroupBy: []string{"channel"}}},
	}
	b.ResetTimer()
	for range b.N {
		for _, s := range shapes {
			var ds []time.Duration
			for range 30 {
				t := time.Now()
				rep, err := r.Conversations(ctx, s.q)
				if err != nil {
					b.Fatal(err)
				}
				ds = append(ds, time.Since(t))
				_ = rep
			}
			slices.Sort(ds)
			b.Logf("%-24s p50 %6.1f ms  p99 %6.1f ms  (30 queries)", s.name, ms(ds[len(ds)/2]), ms(ds[len(ds)*99/100]))
		}
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// storeCells puts cells into sb_insight (generation 1) as the projection would; it returns the
// biggest cell's size and the total.
func storeCells(b *testing.B, kv jetstream.KeyValue, cells map[kpi.CellID]*kpi.Cell) (biggest, total int) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	sem := make(chan struct{}, 16)
	for id, c := range cells {
		data := c.Encode()
		mu.Lock()
		biggest, total = max(biggest, len(data)), total+len(data)
		mu.Unlock()
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if _, err := kv.Put(context.Background(), cellKey(1, id.Key()), data); err != nil {
				b.Error(err)
			}
		}()
	}
	wg.Wait()
	return biggest, total
}

// BenchmarkStaffingHistory times the staffing report of one queue (30-minute intervals, a
// week's forecast) over 7, 14, 28 and 56 days of stored history (8 weeks of 160,000 generated
// conversations over 4 queues and 40 agents): reading it should scale linearly.
//
//	go test ./router/insight -run '^$' -bench StaffingHistory -count 5 -timeout 30m
func BenchmarkStaffingHistory(b *testing.B) {
	e := newEnv(&testing.T{}, Config{}) // the server lives as long as the process
	ctx := context.Background()
	kv, err := e.js.KeyValue(ctx, "sb_insight")
	if err != nil {
		b.Fatal(err)
	}
	start := time.Date(2026, 9, 7, 0, 0, 0, 0, time.UTC) // a Monday
	const days = 56
	generatedConversations(160_000, days, start, time.UTC, func(cells map[kpi.CellID]*kpi.Cell) { storeCells(b, kv, cells) })
	r, err := OpenReports(ctx, e.js, Config{})
	if err != nil {
		b.Fatal(err)
	}
	end := start.AddDate(0, 0, days)
	for _, d := range []int{7, 14, 28, 56} {
		b.Run(fmt.Sprintf("days=%d", d), func(b *testing.B) {
			q := StaffingQuery{From: end.AddDate(0, 0, -d), To: end, Interval: 30 * time.Minute, Queue: "q0",
				Target: planning.Target{Share: 0.8, Within: 20 * time.Second}, Concurrency: 1, Days: 7,
				Eligible: func(string) bool { return true }}
			for b.Loop() {
				rep, err := r.Staffing(ctx, q)
				if err != nil {
					b.Fatal(err)
				}
				if rep.Inputs.Arrivals == 0 {
					b.Fatal("no arrivals read")
				}
			}
		})
	}
}

// BenchmarkProjection is the projection's own rate: events read from SB_CONVERSATIONS and
// folded into cells (cells stored every 4096 events, as during a rebuild), per second.
//
//	go test ./router/insight -run '^$' -bench Projection -benchtime 3x
func BenchmarkProjection(b *testing.B) {
	e := newEnv(&testing.T{}, Config{})
	evs, _ := histories(9, 3000, time.UTC, time.Hour)
	e.publish(evs)
	b.Logf("%d events", len(evs))
	b.ResetTimer()
	for i := range b.N {
		p := e.projection()
		pos := Position{Generation: uint64(10 + i)}
		t0 := time.Now()
		if _, err := p.rebuildInto(context.Background(), pos, nil); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(len(evs))/time.Since(t0).Seconds(), "events/s")
	}
}
