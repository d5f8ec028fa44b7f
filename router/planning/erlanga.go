package planning

import (
	"math"
	"time"
)

// erlangA fills r for the M/M/n+M queue (Erlang A: exponential patience with mean
// q.Patience) from its birth–death chain, solved directly: state k is the number of contacts
// in the system, born at the arrival rate λ and leaving at min(k, n)·μ + max(k − n, 0)·θ. The
// chain is cut where the remaining probability is below 1e-15 (abandonment makes it decay
// factorially). Arrivals see the stationary state (PASTA):
//
//   - PWait = P(k ≥ n); Abandon = Σ (k − n)·θ·π_k ÷ λ (the abandonment rate over arrivals);
//   - ASA is the mean time in queue of all arrivals, answered or not (Little: L_q ÷ λ);
//   - ServiceLevel is the share of all arrivals answered within t: those who find a free agent,
//     and those who find j waiting ahead, reach an agent before t and do not give up first —
//     from the chain "j ahead" (advancing at n·μ + j·θ, the customer leaving at θ), integrated
//     over [0, t] (RK4).
func erlangA(q Queue, n int, t time.Duration, r Result) Result {
	lambda := q.Arrivals
	mu := 1 / q.AHT.Seconds()
	theta := 1 / q.Patience.Seconds()
	pi := []float64{1}
	sum := 1.0
	for k := 1; ; k++ {
		death := float64(min(k, n))*mu + float64(max(k-n, 0))*theta
		p := pi[k-1] * lambda / death
		pi = append(pi, p)
		sum += p
		if k > n && p < 1e-15*sum || k > n+1_000_000 {
			break
		}
	}
	var wait, lq, ab float64
	for k, p := range pi {
		p /= sum
		pi[k] = p
		if k >= n {
			wait += p
			lq += float64(k-n) * p
			ab += float64(k-n) * theta * p
		}
	}
	r.PWait, r.Abandon, r.ASA, r.Stable = wait, ab/lambda, lq/lambda, true
	served := answeredWithin(len(pi)-n, float64(n)*mu, theta, t.Seconds())
	sl := 0.0
	for k, p := range pi {
		if k < n {
			sl += p
		} else {
			sl += p * served[k-n]
		}
	}
	r.ServiceLevel = sl
	return r
}

// answeredWithin returns, for j = 0 … m−1 contacts waiting ahead, the probability that a
// waiting contact reaches an agent within t without giving up: u_j(t) of
// du_0/ds = ν(1 − u_0) − θu_0, du_j/ds = (ν + jθ)(u_{j−1} − u_j) − θu_j, u(0) = 0, where ν is
// the agents' completion rate n·μ.
func answeredWithin(m int, nu, theta, t float64) []float64 {
	u := make([]float64, m)
	if t <= 0 || m == 0 {
		return u
	}
	maxRate := nu + float64(m)*theta + theta
	steps := int(math.Ceil(t * maxRate / 0.02))
	steps = max(steps, 50)
	h := t / float64(steps)
	deriv := func(u, du []float64) {
		for j := range u {
			prev := 1.0
			if j > 0 {
				prev = u[j-1]
			}
			du[j] = (nu+float64(j)*theta)*(prev-u[j]) - theta*u[j]
		}
	}
	k1, k2, k3, k4, tmp := make([]float64, m), make([]float64, m), make([]float64, m), make([]float64, m), make([]float64, m)
	for range steps {
		deriv(u, k1)
		for j := range u {
			tmp[j] = u[j] + h/2*k1[j]
		}
		deriv(tmp, k2)
		for j := range u {
			tmp[j] = u[j] + h/2*k2[j]
		}
		deriv(tmp, k3)
		for j := range u {
			tmp[j] = u[j] + h*k3[j]
		}
		deriv(tmp, k4)
		for j := range u {
			u[j] += h / 6 * (k1[j] + 2*k2[j] + 2*k3[j] + k4[j])
		}
	}
	return u
}
