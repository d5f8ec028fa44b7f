package rules

import (
	"time"

	"github.com/switchboardhq/switchboard/schema"
)

// Waiting is a conversation waiting in a queue for an agent, as the dispatcher offers it.
type Waiting struct {
	Queue        string
	Conversation string
	Channel      schema.Channel
	Language     string
	Now          time.Time
	// Exclude lists agents already tried in this offer (they had no room after all).
	Exclude []string
}

// Pick chooses an agent of w's queue for a waiting conversation by the queue's strategy:
// the agent's roster index (-1 when nobody can take it, or the queue no longer exists),
// the strategy and why.
func (rs *Rules) Pick(v AgentView, w *Waiting) (int, string, string) {
	q := rs.queues[w.Queue]
	if q == nil {
		return -1, "", "queue " + w.Queue + " does not exist"
	}
	in := &pickInput{roster: rs.roster, channel: w.Channel, weight: rs.roster.Weight(w.Channel),
		language: w.Language, now: w.Now, seed: tieSeed(w.Conversation), exclude: w.Exclude}
	return q.pick(v, in)
}

// Overflow is where queue's conversations go after waiting maxWait; ok is false when the
// queue has no overflow (or does not exist).
func (rs *Rules) Overflow(queue string) (to string, maxWait time.Duration, ok bool) {
	q := rs.queues[queue]
	if q == nil || q.overflow == "" {
		return "", 0, false
	}
	return q.overflow, q.maxWait, true
}
