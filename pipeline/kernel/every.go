package kernel

import (
	"context"
	"time"
)

// Every calls f every interval until ctx ends (never when interval is not positive): the
// loop of file watchers (rules, flows, the knowledge base).
func Every(ctx context.Context, interval time.Duration, f func()) {
	if interval <= 0 {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			f()
		}
	}
}
