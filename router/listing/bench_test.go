package listing

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/schema"
)

// bigIndex is 1,000,000 conversations over four weeks, each opened, with a message, routed
// (queue and agent of 200), 30% resolved, 10% tagged (of 50 tags), 2% snoozed.
func bigIndex(b *testing.B, n int) *Index {
	b.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	ix := New()
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	seq := uint64(0)
	apply := func(ev *schema.Event) { seq++; ix.Apply(seq, ev) }
	for i := 0; i < n; i++ {
		id, cust := fmt.Sprintf("cnv_%07d", i), fmt.Sprintf("cus_%06d", rng.IntN(n/3))
		at := t0.Add(time.Duration(i) * 2419 * time.Millisecond) // 28 days
		apply(&schema.Event{Type: schema.EventOpened, ConversationID: id, CustomerID: cust, At: at})
		apply(&schema.Event{Type: schema.EventMessage, ConversationID: id, CustomerID: cust, At: at,
			Message: &schema.Message{Direction: schema.Inbound, Channel: channels[rng.IntN(len(channels))]}})
		apply(&schema.Event{Type: schema.EventAssigned, ConversationID: id, CustomerID: cust, At: at,
			Routing: &schema.Routing{Queue: queues[rng.IntN(len(queues))], AgentID: fmt.Sprintf("agent%03d", rng.IntN(200))}})
		switch r := rng.IntN(100); {
		case r < 30:
			apply(&schema.Event{Type: schema.EventResolved, ConversationID: id, CustomerID: cust, At: at.Add(time.Minute)})
		case r < 40:
			apply(&schema.Event{Type: schema.EventTagged, ConversationID: id, CustomerID: cust, At: at.Add(time.Minute),
				Triage: &schema.Triage{Tags: []string{fmt.Sprintf("tag%02d", rng.IntN(50))}}})
		case r < 42:
			apply(&schema.Event{Type: schema.EventSnoozed, ConversationID: id, CustomerID: cust, At: at.Add(time.Minute)})
		}
	}
	return ix
}

// BenchmarkQuery1M: the listing's queries over 1,000,000 conversations — the helpdesk's
// usual ones (an agent's open conversations, a queue's, a tag's, a customer's, the newest
// across everything, a page deep into the results, the oldest open ones) — with the p50 and
// p99 of one query in the mix (docs/benchmarks.md).
func BenchmarkQuery1M(b *testing.B) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	ix := bigIndex(b, 1_000_000)
	runtime.GC()
	runtime.ReadMemStats(&after)
	heap := float64(after.HeapAlloc-before.HeapAlloc) / (1 << 20)
	mid := time.Date(2026, 11, 15, 0, 0, 0, 0, time.UTC)
	deep, _ := ix.Query(Query{Status: schema.ConversationOpen, Limit: 1000})
	mix := []Query{
		{Agent: "agent042", Status: schema.ConversationOpen},
		{Queue: "billing", Status: schema.ConversationOpen},
		{Tag: "tag07"},
		{Customer: "cus_012345"},
		{},
		{Status: schema.ConversationOpen, Cursor: deep.Next},
		{Status: schema.ConversationOpen, Oldest: true},
		{Channel: "sms", UpdatedSince: mid},
		{Snoozed: "true", Queue: "vip"},
		{Agent: "agent007", Tag: "tag03", Status: schema.ConversationResolved},
	}
	var durs []time.Duration
	i := 0
	for b.Loop() {
		t := time.Now()
		if _, err := ix.Query(mix[i%len(mix)]); err != nil {
			b.Fatal(err)
		}
		durs = append(durs, time.Since(t))
		i++
	}
	slices.Sort(durs)
	b.ReportMetric(float64(durs[len(durs)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(durs[len(durs)*99/100].Microseconds()), "p99-µs")
	b.ReportMetric(float64(ix.Len()), "conversations")
	b.ReportMetric(heap, "index-MiB")
}

// BenchmarkApply is the cost of following the stream: one event into a 1,000,000-conversation
// index.
func BenchmarkApply(b *testing.B) {
	ix := bigIndex(b, 1_000_000)
	t := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	seq := ix.Position()
	i := 0
	for b.Loop() {
		seq++
		id := fmt.Sprintf("cnv_%07d", i%1_000_000)
		ix.Apply(seq, &schema.Event{Type: schema.EventMessage, ConversationID: id, At: t.Add(time.Duration(i)),
			Message: &schema.Message{Direction: schema.Inbound, Channel: "email"}})
		i++
	}
}
