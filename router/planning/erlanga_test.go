package planning

import (
	"container/heap"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// mzA is A(x, y) = x·e^y·y^(−x)·γ(x, y) of Mandelbaum and Zeltyn, with γ the lower incomplete
// gamma function, summed as its series 1 + y/(x+1) + y²/((x+1)(x+2)) + …
func mzA(x, y float64) float64 {
	sum, term := 1.0, 1.0
	for k := 1; k < 100000; k++ {
		term *= y / (x + float64(k))
		sum += term
		if term < 1e-17*sum {
			break
		}
	}
	return sum
}

// erlangBByDefinition is (aⁿ/n!) ÷ Σ_{k≤n} aᵏ/k!, term by term (small n).
func erlangBByDefinition(a float64, n int) float64 {
	term, sum := 1.0, 1.0
	for k := 1; k <= n; k++ {
		term *= a / float64(k)
		sum += term
	}
	return term / sum
}

// The Erlang A (M/M/n+M) chain against the closed forms published by A. Mandelbaum and
// S. Zeltyn, "The Palm/Erlang-A Queue, with Applications to Call Centers" (Technion, 2005),
// §4.4 and §4.5:
//
//	P{W>0}      = A(nμ/θ, λ/θ)·E₁,ₙ ÷ (1 + (A(nμ/θ, λ/θ) − 1)·E₁,ₙ)   (E₁,ₙ: Erlang B, load λ/μ)
//	P{Ab | W>0} = 1 ÷ (ρ·A(nμ/θ, λ/θ)) + 1 − 1/ρ                       (ρ = λ/(nμ))
//
// The formulas go through the incomplete gamma function, the package through the birth–death
// chain: two independent ways to the same numbers. Cases span under- and over-load (ρ from
// 0.4 to 1.5: only Erlang A has an answer there) and patience from a tenth to ten times the
// handle time.
func TestErlangAAgainstTheClosedForms(t *testing.T) {
	for _, c := range []struct {
		perHour       float64
		aht, patience time.Duration
		agents        int
	}{
		{100, 3 * time.Minute, 3 * time.Minute, 4},
		{100, 3 * time.Minute, 3 * time.Minute, 8},
		{200, 3 * time.Minute, 1 * time.Minute, 10},
		{200, 3 * time.Minute, 30 * time.Minute, 12},
		{600, 5 * time.Minute, 2 * time.Minute, 40},
		{600, 5 * time.Minute, 30 * time.Second, 60},
		{1200, 4 * time.Minute, 10 * time.Minute, 75},
		{30, 10 * time.Minute, 1 * time.Minute, 3},
	} {
		q := Queue{Arrivals: c.perHour / 3600, AHT: c.aht, Patience: c.patience}
		lambda, mu, theta := q.Arrivals, 1/c.aht.Seconds(), 1/c.patience.Seconds()
		n := float64(c.agents)
		aa := mzA(n*mu/theta, lambda/theta)
		e := erlangBByDefinition(lambda/mu, c.agents)
		pw := aa * e / (1 + (aa-1)*e)
		rho := lambda / (n * mu)
		pab := (1/(rho*aa) + 1 - 1/rho) * pw
		got := q.At(c.agents, 20*time.Second)
		if math.Abs(got.PWait-pw) > 1e-9 || math.Abs(got.Abandon-pab) > 1e-9 {
			t.Errorf("%.0f/h, AHT %s, patience %s, %d agents: P{W>0} %.10f P{Ab} %.10f; closed forms %.10f %.10f",
				c.perHour, c.aht, c.patience, c.agents, got.PWait, got.Abandon, pw, pab)
		}
		// Little's law over the queue: abandonments per second = θ·E[Q] = θ·λ·ASA.
		if math.Abs(got.Abandon-theta*got.ASA) > 1e-9 {
			t.Errorf("%.0f/h, %d agents: P{Ab} %.10f but θ·ASA %.10f", c.perHour, c.agents, got.Abandon, theta*got.ASA)
		}
	}
}

// The service level (the share of all arrivals answered within t) has no simple closed form;
// a discrete-event simulation of the M/M/n+M queue (seeded, 400,000 arrivals each) measures
// it, and the abandonment, directly from the model's definition.
func TestErlangAServiceLevelAgainstASimulation(t *testing.T) {
	if testing.Short() {
		t.Skip("simulates 1.2 million arrivals")
	}
	for i, c := range []struct {
		perHour       float64
		aht, patience time.Duration
		agents        int
		within        time.Duration
	}{
		{200, 3 * time.Minute, 1 * time.Minute, 10, 20 * time.Second},
		{100, 3 * time.Minute, 3 * time.Minute, 5, 30 * time.Second},
		{600, 5 * time.Minute, 2 * time.Minute, 48, 20 * time.Second},
	} {
		q := Queue{Arrivals: c.perHour / 3600, AHT: c.aht, Patience: c.patience}
		got := q.At(c.agents, c.within)
		sl, ab := simulateErlangA(q, c.agents, c.within, 400000, uint64(i+1))
		if math.Abs(got.ServiceLevel-sl) > 0.01 || math.Abs(got.Abandon-ab) > 0.01 {
			t.Errorf("%.0f/h, AHT %s, patience %s, %d agents, %s: SL %.4f abandon %.4f; simulated %.4f %.4f",
				c.perHour, c.aht, c.patience, c.agents, c.within, got.ServiceLevel, got.Abandon, sl, ab)
		}
	}
}

// simulateErlangA runs FCFS M/M/n+M for arrivals customers after a warm-up of a tenth as many
// and returns the share answered within t and the share that gave up.
func simulateErlangA(q Queue, n int, within time.Duration, arrivals int, seed uint64) (sl, ab float64) {
	rng := rand.New(rand.NewPCG(seed, 7))
	lambda, mu, theta := q.Arrivals, 1/q.AHT.Seconds(), 1/q.Patience.Seconds()
	type waiting struct {
		arrived, gives float64
		counted        bool
	}
	var queue []waiting
	free := &floatHeap{} // busy servers' completion times
	clock, nextArrival := 0.0, rng.ExpFloat64()/lambda
	warm := arrivals / 10
	var seen, answered, left int
	idx := 0
	serve := func(at float64) {
		heap.Push(free, at+rng.ExpFloat64()/mu)
	}
	for idx < warm+arrivals {
		if free.Len() > 0 && (*free)[0] <= nextArrival {
			clock = heap.Pop(free).(float64)
			for len(queue) > 0 && queue[0].gives < clock {
				queue = queue[1:] // gave up before this agent was free
			}
			if len(queue) > 0 {
				w := queue[0]
				queue = queue[1:]
				if w.counted {
					left-- // it did not give up after all
					if clock-w.arrived <= within.Seconds() {
						answered++
					}
				}
				serve(clock)
			}
			continue
		}
		clock = nextArrival
		nextArrival = clock + rng.ExpFloat64()/lambda
		counted := idx >= warm
		idx++
		if counted {
			seen++
		}
		if free.Len() < n {
			if counted {
				answered++
			}
			serve(clock)
			continue
		}
		if counted {
			left++ // until it is served
		}
		queue = append(queue, waiting{arrived: clock, gives: clock + rng.ExpFloat64()/theta, counted: counted})
	}
	return float64(answered) / float64(seen), float64(left) / float64(seen)
}

type floatHeap []float64

func (h floatHeap) Len() int           { return len(h) }
func (h floatHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h floatHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *floatHeap) Push(x any)        { *h = append(*h, x.(float64)) }
func (h *floatHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
