package planning

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"
)

// ErlangB is the blocking probability of n servers offered a Erlangs (the Erlang loss
// formula), by the recursion B(0) = 1, B(k) = a·B(k−1) / (k + a·B(k−1)): no factorials, stable
// for any load.
func ErlangB(a float64, n int) float64 {
	if a <= 0 {
		return 0
	}
	b := 1.0
	for k := 1; k <= n; k++ {
		b = a * b / (float64(k) + a*b)
	}
	return b
}

// ErlangC is the probability that an arrival waits at n servers offered a Erlangs (no one
// gives up): n·B / (n − a·(1 − B)); 1 when n ≤ a (the queue grows without bound).
func ErlangC(a float64, n int) float64 {
	if a <= 0 {
		return 0
	}
	if float64(n) <= a {
		return 1
	}
	b := ErlangB(a, n)
	return float64(n) * b / (float64(n) - a*(1-b))
}

// Queue is one interval's workload.
type Queue struct {
	// Arrivals per second; AHT the average handle time of one contact.
	Arrivals float64
	AHT      time.Duration
	// Concurrency is how many contacts an agent handles at once (live chat: 2–3; 0 or 1: one).
	// An agent then counts as that many servers, each taking AHT per contact — the common
	// approximation; it is optimistic when agents slow down with several chats.
	Concurrency int
	// Patience is customers' mean patience (exponential): with it the queue is Erlang A
	// (M/M/n+M) and some abandon; 0: Erlang C, nobody leaves.
	Patience time.Duration
}

// Load is the offered load in Erlangs: arrivals × AHT.
func (q Queue) Load() float64 { return q.Arrivals * q.AHT.Seconds() }

func (q Queue) servers(agents int) int {
	if q.Concurrency > 1 {
		return agents * q.Concurrency
	}
	return agents
}

// Result is what a headcount gives.
type Result struct {
	Agents int `json:"agents"`
	// Load in Erlangs; Occupancy the share of agents' time busy (load ÷ servers, at most 1).
	Load      float64 `json:"load_erlangs"`
	Occupancy float64 `json:"occupancy"`
	// PWait is the probability of waiting at all; ServiceLevel the share answered within the
	// target time; ASA the average speed of answer (seconds, of all arrivals); Abandon the
	// share that gives up (Erlang A only).
	PWait        float64 `json:"p_wait"`
	ServiceLevel float64 `json:"service_level"`
	ASA          float64 `json:"asa_seconds"`
	Abandon      float64 `json:"abandon"`
	// Stable is false when the load reaches the servers' capacity without abandonment: the
	// queue grows without bound (service level 0, ASA infinite).
	Stable bool `json:"stable"`
}

// At is what agents give for the queue, answered within t.
func (q Queue) At(agents int, t time.Duration) Result {
	n := q.servers(agents)
	a := q.Load()
	r := Result{Agents: agents, Load: a}
	if n > 0 {
		r.Occupancy = math.Min(1, a/float64(n))
	}
	if q.Patience > 0 && a > 0 {
		return erlangA(q, n, t, r)
	}
	if a == 0 {
		r.ServiceLevel, r.Stable = 1, true
		return r
	}
	if float64(n) <= a {
		r.PWait, r.ASA = 1, math.Inf(1)
		return r
	}
	aht := q.AHT.Seconds()
	c := ErlangC(a, n)
	r.PWait, r.Stable = c, true
	r.ServiceLevel = 1 - c*math.Exp(-(float64(n)-a)*t.Seconds()/aht)
	r.ASA = c * aht / (float64(n) - a)
	return r
}

// Target is a service goal: a share answered within a time (80% in 20 s), or an average speed
// of answer; MaxOccupancy caps how busy agents may be (0: no cap).
type Target struct {
	Share        float64
	Within       time.Duration
	ASA          time.Duration
	MaxOccupancy float64
}

func (t Target) String() string {
	if t.ASA > 0 {
		return fmt.Sprintf("ASA ≤ %s", t.ASA)
	}
	return fmt.Sprintf("%.0f%% within %s", t.Share*100, t.Within)
}

// met reports whether r meets the target.
func (t Target) met(r Result) bool {
	if !r.Stable && r.Abandon == 0 {
		return false
	}
	if t.MaxOccupancy > 0 && r.Occupancy > t.MaxOccupancy+1e-12 {
		return false
	}
	if t.ASA > 0 {
		return r.ASA <= t.ASA.Seconds()+1e-9
	}
	return r.ServiceLevel >= t.Share-1e-12
}

// MaxAgents bounds the search for a headcount.
const MaxAgents = 100000

// ErrUnreachable is a target no headcount up to MaxAgents meets.
var ErrUnreachable = errors.New("unreachable target")

// Required is the smallest headcount that meets the target (0 for no arrivals). It searches
// upward from the smallest stable headcount; more agents never lower the service level, so
// the first that meets the target is the minimum.
func Required(q Queue, t Target) (Result, error) {
	if q.Arrivals <= 0 {
		return q.At(0, t.Within), nil
	}
	if q.AHT <= 0 {
		return Result{}, errors.New("the handle time must be positive")
	}
	per := max(q.Concurrency, 1)
	start := int(math.Floor(q.Load()/float64(per))) + 1
	if q.Patience > 0 {
		start = 1
	}
	for n := start; n <= MaxAgents; n++ {
		if r := q.At(n, t.Within); t.met(r) {
			return r, nil
		}
	}
	return Result{}, fmt.Errorf("%w: %s is not met by up to %d agents for %.1f Erlangs", ErrUnreachable, t, MaxAgents, q.Load())
}

// Scheduled is the headcount to schedule for onQueue agents when a share shrinkage of paid
// time goes to breaks, training and meetings: ⌈onQueue ÷ (1 − shrinkage)⌉.
func Scheduled(onQueue int, shrinkage float64) int {
	if shrinkage <= 0 || onQueue == 0 {
		return onQueue
	}
	return int(math.Ceil(float64(onQueue)/(1-shrinkage) - 1e-9))
}

// MarshalJSON writes an unbounded ASA (an unstable queue) as null: JSON has no infinity.
func (r Result) MarshalJSON() ([]byte, error) {
	type plain Result
	out := struct {
		plain
		ASA *float64 `json:"asa_seconds"`
	}{plain: plain(r)}
	if !math.IsInf(r.ASA, 0) && !math.IsNaN(r.ASA) {
		out.ASA = &r.ASA
	}
	return json.Marshal(out)
}
