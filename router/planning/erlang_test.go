package planning

import (
	"math"
	"math/big"
	"testing"
	"time"
)

// erlangCByFactorials is Erlang C straight from its textbook definition, in big floats:
// (aⁿ/n! · n/(n−a)) ÷ (Σ_{k<n} aᵏ/k! + aⁿ/n! · n/(n−a)). It is independent of the recursion.
func erlangCByFactorials(a float64, n int) float64 {
	prec := uint(512)
	A := new(big.Float).SetPrec(prec).SetFloat64(a)
	term := new(big.Float).SetPrec(prec).SetInt64(1) // aᵏ/k!
	sum := new(big.Float).SetPrec(prec)
	for k := 0; k < n; k++ {
		sum.Add(sum, term)
		term.Mul(term, A)
		term.Quo(term, new(big.Float).SetPrec(prec).SetInt64(int64(k+1)))
	}
	last := new(big.Float).SetPrec(prec).Mul(term, new(big.Float).SetPrec(prec).SetFloat64(float64(n)/(float64(n)-a)))
	den := new(big.Float).SetPrec(prec).Add(sum, last)
	c, _ := new(big.Float).Quo(last, den).Float64()
	return c
}

func TestErlangCAgreesWithTheDefinition(t *testing.T) {
	for _, c := range []struct {
		a float64
		n int
	}{{0.5, 1}, {2, 3}, {10, 11}, {10, 14}, {48, 55}, {95.5, 100}, {400, 420}} {
		got, want := ErlangC(c.a, c.n), erlangCByFactorials(c.a, c.n)
		if math.Abs(got-want) > 1e-9 {
			t.Errorf("ErlangC(%v, %d) = %.12f, the definition gives %.12f", c.a, c.n, got, want)
		}
	}
	// M/M/1: the probability of waiting is the utilisation.
	if c := ErlangC(0.7, 1); math.Abs(c-0.7) > 1e-12 {
		t.Errorf("M/M/1 at 0.7: %v", c)
	}
	// A load the factorial form overflows float64 on (n! past 170) stays finite.
	if c := ErlangC(5000, 5100); math.IsNaN(c) || c <= 0 || c >= 1 {
		t.Errorf("large load: %v", c)
	}
}

// TestErlangBTableValues: the Erlang B table's 1% grade-of-service column (the traffic n
// trunks carry at 1% blocking), as printed in every teletraffic handbook, e.g. ITU-D
// "Teletraffic Engineering Handbook" (Iversen, 2005), Table of Erlang's B-formula: 10 trunks
// 4.461 E, 20 trunks 12.031 E, 5 trunks 1.361 E.
func TestErlangBTableValues(t *testing.T) {
	for _, c := range []struct {
		n int
		a float64
	}{{5, 1.361}, {10, 4.461}, {20, 12.031}} {
		if b := ErlangB(c.a, c.n); math.Abs(b-0.01) > 0.0002 {
			t.Errorf("B(%v E, %d) = %.5f, the table says 1%%", c.a, c.n, b)
		}
	}
}

// TestCallCentreHelperExample: Call Centre Helper's worked example "Erlang C Formula – Made
// Simple with an Easy Worked Example": 100 calls in 30 minutes, 3-minute handle time, 80% to be
// answered in 20 s: 14 agents (13 give under 80%), and with 30% shrinkage 20 to schedule.
func TestCallCentreHelperExample(t *testing.T) {
	q := Queue{Arrivals: 100.0 / 1800, AHT: 3 * time.Minute}
	target := Target{Share: 0.8, Within: 20 * time.Second}
	r, err := Required(q, target)
	if err != nil {
		t.Fatal(err)
	}
	if r.Agents != 14 || math.Abs(r.Load-10) > 1e-9 || q.At(13, target.Within).ServiceLevel >= 0.8 {
		t.Fatalf("required %+v; 13 agents give %.3f", r, q.At(13, target.Within).ServiceLevel)
	}
	if s := Scheduled(r.Agents, 0.30); s != 20 {
		t.Fatalf("scheduled with 30%% shrinkage: %d, want 20", s)
	}
	t.Logf("14 agents: service level %.3f, ASA %.1fs, occupancy %.3f", r.ServiceLevel, r.ASA, r.Occupancy)
}

// TestMonotonic: more agents never lower the service level (nor raise the ASA or the
// abandonment); more arrivals never lower the requirement. Erlang C and Erlang A alike.
func TestMonotonic(t *testing.T) {
	for _, patience := range []time.Duration{0, 90 * time.Second} {
		q := Queue{Arrivals: 0.05, AHT: 5 * time.Minute, Patience: patience}
		prev := q.At(1, 20*time.Second)
		for n := 2; n <= 40; n++ {
			r := q.At(n, 20*time.Second)
			if r.ServiceLevel < prev.ServiceLevel-1e-9 || (r.Stable && prev.Stable && r.ASA > prev.ASA+1e-9) || r.Abandon > prev.Abandon+1e-9 {
				t.Fatalf("patience %s: %d agents %+v worse than %d %+v", patience, n, r, n-1, prev)
			}
			prev = r
		}
		target := Target{Share: 0.8, Within: 20 * time.Second}
		last := 0
		for arrivals := 0.01; arrivals < 0.5; arrivals += 0.01 {
			q.Arrivals = arrivals
			r, err := Required(q, target)
			if err != nil {
				t.Fatal(err)
			}
			if r.Agents < last {
				t.Fatalf("patience %s: %.2f/s needs %d agents, fewer than %d for less", patience, arrivals, r.Agents, last)
			}
			last = r.Agents
		}
	}
}

// TestErlangAApproachesErlangC: with patience far longer than any wait, nobody abandons and
// the Erlang A chain gives Erlang C's figures.
func TestErlangAApproachesErlangC(t *testing.T) {
	c := Queue{Arrivals: 100.0 / 1800, AHT: 3 * time.Minute}
	a := c
	a.Patience = 1000 * time.Hour
	for _, n := range []int{11, 14, 20} {
		rc, ra := c.At(n, 20*time.Second), a.At(n, 20*time.Second)
		if math.Abs(rc.PWait-ra.PWait) > 1e-3 || math.Abs(rc.ServiceLevel-ra.ServiceLevel) > 1e-3 || math.Abs(rc.ASA-ra.ASA) > 0.005*rc.ASA || ra.Abandon > 1e-4 {
			t.Errorf("%d agents: Erlang C %+v, Erlang A %+v", n, rc, ra)
		}
	}
	// Impatient customers: some leave, fewer agents are needed, and an overloaded queue stays
	// finite (abandonment relieves it).
	a.Patience = time.Minute
	over := a.At(8, 20*time.Second)
	if over.Abandon <= 0.05 || over.ServiceLevel <= 0 || math.IsInf(over.ASA, 0) {
		t.Errorf("8 agents for 10 Erlangs with 1-minute patience: %+v", over)
	}
	ra, _ := Required(a, Target{Share: 0.8, Within: 20 * time.Second})
	rc, _ := Required(c, Target{Share: 0.8, Within: 20 * time.Second})
	if ra.Agents > rc.Agents {
		t.Errorf("impatience raised the requirement: %d > %d", ra.Agents, rc.Agents)
	}
}

func TestConcurrencyOccupancyAndBadTargets(t *testing.T) {
	chat := Queue{Arrivals: 120.0 / 3600, AHT: 6 * time.Minute, Concurrency: 2}
	r, err := Required(chat, Target{Share: 0.8, Within: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	single := chat
	single.Concurrency = 1
	r1, _ := Required(single, Target{Share: 0.8, Within: 20 * time.Second})
	if r.Agents*2 < r1.Agents-1 || r.Agents >= r1.Agents {
		t.Fatalf("two chats at once: %d agents, one at a time: %d", r.Agents, r1.Agents)
	}
	capped, _ := Required(single, Target{Share: 0.8, Within: 20 * time.Second, MaxOccupancy: 0.7})
	if capped.Occupancy > 0.7 || capped.Agents < r1.Agents {
		t.Fatalf("occupancy cap 70%%: %+v", capped)
	}
	if _, err := Required(Queue{Arrivals: 1, AHT: 0}, Target{Share: 0.8, Within: time.Second}); err == nil {
		t.Fatal("a zero handle time was accepted")
	}
	if _, err := Required(Queue{Arrivals: 1e6, AHT: time.Hour}, Target{Share: 0.8, Within: time.Second}); err == nil {
		t.Fatal("an unreachable target was met")
	}
	if r, _ := Required(Queue{}, Target{Share: 0.8, Within: time.Second}); r.Agents != 0 || r.ServiceLevel != 1 {
		t.Fatalf("no arrivals: %+v", r)
	}
}

func BenchmarkWeekOfIntervals(b *testing.B) {
	// Seven days × 96 quarter hours × 20 queues.
	target := Target{Share: 0.8, Within: 20 * time.Second}
	for b.Loop() {
		for i := range 7 * 96 * 20 {
			q := Queue{Arrivals: float64(i%50+1) / 300, AHT: time.Duration(120+i%300) * time.Second}
			if _, err := Required(q, target); err != nil {
				b.Fatal(err)
			}
		}
	}
}
