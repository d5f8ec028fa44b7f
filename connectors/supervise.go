package connectors

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"go.uber.org/zap"
)

// Backoff is an exponential backoff with full jitter.
type Backoff struct {
	Min, Max time.Duration
}

// Delay returns the wait before attempt n (0-based): a random duration in
// [d/2, d] where d = min(Max, Min*2^n).
func (b Backoff) Delay(n int) time.Duration {
	lo, hi := b.Min, b.Max
	if lo <= 0 {
		lo = 500 * time.Millisecond
	}
	if hi < lo {
		hi = 2 * time.Minute
	}
	d := lo
	for i := 0; i < n && d < hi; i++ {
		d *= 2
	}
	d = min(d, hi)
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

// SuperviseOptions configures [Supervise].
type SuperviseOptions struct {
	Leases  Leaser // nil: no lease is taken
	Backoff Backoff
	// Healthy is how long Run must last before a failure counts as a fresh one (the
	// backoff restarts from its minimum).
	Healthy time.Duration
	Metrics *Metrics
	Logger  *zap.Logger
}

// Supervise runs a source until ctx ends: it takes the source's lease (when it has one),
// runs it, and on failure or a lost lease restarts it after a backoff. It returns when ctx
// ends, after Run has returned.
func Supervise(ctx context.Context, spec SourceSpec, o SuperviseOptions) {
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(nil)
	}
	if o.Healthy <= 0 {
		o.Healthy = time.Minute
	}
	log := o.Logger.With(zap.String("source", spec.Name))
	failures := 0
	for ctx.Err() == nil {
		started := time.Now()
		err := superviseOnce(ctx, spec, o, log)
		if ctx.Err() != nil {
			return
		}
		if time.Since(started) > o.Healthy {
			failures = 0
		}
		wait := o.Backoff.Delay(failures)
		failures++
		o.Metrics.SourceRestarts.WithLabelValues(spec.Name).Inc()
		log.Warn("source stopped; restarting", zap.Error(err), zap.Duration("backoff", wait), zap.Int("failures", failures))
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

var errLeaseLost = errors.New("lease lost")

func superviseOnce(ctx context.Context, spec SourceSpec, o SuperviseOptions, log *zap.Logger) error {
	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	if spec.LeaseKey != "" && o.Leases != nil {
		lease, err := o.Leases.Acquire(ctx, spec.LeaseKey)
		if err != nil {
			return err
		}
		defer lease.Release()
		o.Metrics.SourceLeased.WithLabelValues(spec.Name).Set(1)
		defer o.Metrics.SourceLeased.WithLabelValues(spec.Name).Set(0)
		log.Info("lease acquired", zap.String("lease", spec.LeaseKey))
		go func() {
			select {
			case <-lease.Lost():
				cancel(errLeaseLost)
			case <-runCtx.Done():
			}
		}()
	}
	o.Metrics.SourceUp.WithLabelValues(spec.Name).Set(1)
	defer o.Metrics.SourceUp.WithLabelValues(spec.Name).Set(0)
	err := spec.Source.Run(runCtx)
	if cause := context.Cause(runCtx); errors.Is(cause, errLeaseLost) {
		return errLeaseLost
	}
	if err == nil && ctx.Err() == nil {
		err = errors.New("source returned without error")
	}
	return err
}
