package kpi

import (
	"time"

	"github.com/switchboardhq/switchboard/schema"
)

// Presence follows one agent's agent_presence events and turns each interval between two of
// them into time counters, split at quarter hours so that each part counts in its own 15-minute
// cell. The zero value is ready for the agent's first event.
type Presence struct {
	since   time.Time
	status  string
	load    int
	maxLoad int
}

// Apply folds an agent_presence event in and returns the ops for the interval it closes.
func (p *Presence) Apply(ev *schema.Event) []Op {
	s := ev.Presence
	if s == nil {
		return nil
	}
	if !p.since.IsZero() && ev.At.Before(p.since) {
		return nil // older than what it already knows (a sample stored late)
	}
	var out []Op
	if !p.since.IsZero() {
		d := Dims{Agent: s.Agent}
		for from := p.since; from.Before(ev.At); {
			to := from.Truncate(quarter).Add(quarter)
			if to.After(ev.At) {
				to = ev.At
			}
			ms := to.Sub(from).Milliseconds()
			if ms > 0 {
				add := func(name string, v int64) {
					if v > 0 {
						out = append(out, Op{At: from, Dims: d, Name: name, Value: v, Sign: 1})
					}
				}
				switch p.status {
				case "available":
					add(AvailableMs, ms)
					add(LoadMs, int64(p.load)*ms)
					add(CapacityMs, int64(p.maxLoad)*ms)
				case "away":
					add(AwayMs, ms)
				case "offline":
					add(OfflineMs, ms)
				}
			}
			from = to
		}
	}
	p.since, p.status, p.load, p.maxLoad = ev.At, s.Status, s.Load, s.MaxLoad
	return out
}
