package rules

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/schema"
)

// benchSetup builds 1,000 agents and 200 rules over 50 queues: 70 rules on channel and
// account, 50 on customer attributes, 50 on keywords, 20 expressions, 10 regexes, and a
// catch-all; agents have three skills each, 80% are available with 0-4 open conversations.
func benchSetup(tb testing.TB) (*Rules, *StaticView, []*Input) {
	rng := rand.New(rand.NewPCG(1, 2))
	agents := make([]AgentConfig, 1000)
	for j := range agents {
		agents[j] = AgentConfig{ID: fmt.Sprintf("agent%04d", j),
			Skills:    []string{fmt.Sprintf("s%d", j%50), fmt.Sprintf("s%d", (j*7)%50), fmt.Sprintf("s%d", (j*13)%50)},
			Languages: []string{"en", []string{"de", "fr", "es"}[j%3]}, Capacity: map[string]int{"default": 5}}
	}
	roster := NewRoster(agents, map[string]int{"webchat": 2})
	var b strings.Builder
	b.WriteString("queues:\n")
	strategies := []string{StrategyLeastLoaded, StrategyRoundRobin, StrategyLongestIdle}
	for q := 0; q < 50; q++ {
		fmt.Fprintf(&b, "  q%d: {skills: [s%d], strategy: %s}\n", q, q, strategies[q%3])
	}
	b.WriteString("rules:\n")
	for i := 0; i < 199; i++ {
		fmt.Fprintf(&b, "  - name: r%d\n    when: {", i)
		switch {
		case i < 70:
			fmt.Fprintf(&b, "channel: [%s], account: [acct%d]", []string{"email", "sms", "webchat", "whatsapp"}[i%4], i)
		case i < 120:
			fmt.Fprintf(&b, "customer: {tier: t%d}", i)
		case i < 170:
			fmt.Fprintf(&b, "keywords: [word%da, word%db, \"phrase %d\"]", i, i, i)
		case i < 190:
			fmt.Fprintf(&b, "expr: 'message.metadata.plan == \"p%d\" && customer.conversations > 1'", i)
		default:
			fmt.Fprintf(&b, "regex: '(?i)\\border[- ]%d\\b'", i)
		}
		fmt.Fprintf(&b, "}\n    targets: [{queue: q%d, priority: %d, timeout: 5m, skip_if_empty: true}, {queue: q%d}]\n", i%50, i%10, (i+1)%50)
	}
	b.WriteString("  - {name: rest, targets: [{queue: q0}]}\n")
	rs, err := ParseRules("bench.yaml", []byte(b.String()), roster)
	if err != nil {
		tb.Fatal(err)
	}
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	v := NewStaticView(roster)
	for i := 0; i < roster.Len(); i++ {
		if rng.IntN(10) < 8 {
			v.Set(i, Available, map[string]int{"email": rng.IntN(3), "webchat": rng.IntN(2)}, now.Add(-time.Duration(rng.IntN(3600))*time.Second))
		}
	}
	var ins []*Input
	for k := 0; k < 256; k++ {
		i := rng.IntN(230) // some match no specific rule and fall through to the catch-all
		m := &schema.Message{Channel: schema.Channel([]string{"email", "sms", "webchat", "whatsapp"}[i%4]),
			Account: fmt.Sprintf("acct%d", i), Kind: schema.KindMessage, Direction: schema.Inbound, Language: "en",
			Subject: "Question about my account", Metadata: map[string]string{"plan": fmt.Sprintf("p%d", i)},
			Text: fmt.Sprintf("Hello, I have a question about order %d and the word%da. Thanks for your help, best regards.", i, i)}
		c := &schema.Customer{ID: "cus_x", Attributes: map[string]string{"tier": fmt.Sprintf("t%d", i)}, Conversations: []string{"a", "b"}}
		ins = append(ins, &Input{Message: m, Customer: c, Now: now})
	}
	return rs, v, ins
}

// BenchmarkDecide measures routing decisions (rule match, targets, agent pick) in process.
//
//	go test -run XXX -bench Decide -benchtime 3s -cpu 1 ./router/
//
// On a shared machine wall time depends on the neighbours; decisions/cpu-s divides by the
// CPU time the process actually got (user + system, GC included).
func BenchmarkDecide(b *testing.B) {
	rs, v, ins := benchSetup(b)
	b.ReportAllocs()
	cpu0 := processCPU()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		rs.Decide(ins[i%len(ins)], v)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "decisions/s")
	b.ReportMetric(float64(b.N)/(processCPU()-cpu0).Seconds(), "decisions/cpu-s")
}

// processCPU is the CPU time the process used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestBenchSetupDecidesAcrossTheRules keeps the benchmark honest: its messages reach rules
// of every kind and most get an agent.
func TestBenchSetupDecidesAcrossTheRules(t *testing.T) {
	rs, v, ins := benchSetup(t)
	kinds, assigned := map[string]bool{}, 0
	for _, in := range ins {
		d := rs.Decide(in, v)
		var n int
		if _, err := fmt.Sscanf(d.Rule, "r%d", &n); err == nil {
			kinds[ruleKind(n)] = true
		}
		if d.Rule == "rest" {
			kinds["catch-all"] = true
		}
		if d.Agent != "" {
			assigned++
		}
	}
	if len(kinds) < 4 || assigned < len(ins)/2 {
		t.Fatalf("rule kinds reached %v, %d of %d assigned", kinds, assigned, len(ins))
	}
}

func ruleKind(n int) string {
	switch {
	case n < 70:
		return "channel"
	case n < 120:
		return "customer"
	case n < 170:
		return "keywords"
	case n < 190:
		return "expr"
	}
	return "regex"
}
