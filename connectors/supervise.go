package connectors

import (
	"context"
	"errors"
	"time"

	"github.com/switchboardhq/switchboard/pipeline/kernel"
	"go.uber.org/zap"
)

// SuperviseOptions configures [Supervise].
type SuperviseOptions struct {
	Leases  kernel.Leaser // nil: no lease is taken
	Backoff kernel.Backoff
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

func superviseOnce(ctx context.Context, spec SourceSpec, o SuperviseOptions, log *zap.Logger) error {
	run := func(ctx context.Context, _ <-chan struct{}) error {
		o.Metrics.SourceUp.WithLabelValues(spec.Name).Set(1)
		defer o.Metrics.SourceUp.WithLabelValues(spec.Name).Set(0)
		err := spec.Source.Run(ctx)
		if err == nil && ctx.Err() == nil {
			err = errors.New("source returned without error")
		}
		return err
	}
	if spec.LeaseKey == "" || o.Leases == nil {
		return run(ctx, nil)
	}
	return kernel.RunLeased(ctx, o.Leases, spec.LeaseKey, func(ctx context.Context, lost <-chan struct{}) error {
		o.Metrics.SourceLeased.WithLabelValues(spec.Name).Set(1)
		defer o.Metrics.SourceLeased.WithLabelValues(spec.Name).Set(0)
		log.Info("lease acquired", zap.String("lease", spec.LeaseKey))
		return run(ctx, lost)
	})
}
