package router

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/switchboardhq/switchboard/pipeline/kernel"
	"github.com/switchboardhq/switchboard/pipeline/streams"
	"github.com/switchboardhq/switchboard/router/agents"
	"github.com/switchboardhq/switchboard/router/rules"
	"github.com/switchboardhq/switchboard/schema"
)

// SetPresence records an agent's presence (status "" is a heartbeat). A status someone set
// is also recorded as an agent_presence event (docs/insight.md), so presence time can be
// measured from the stream.
func (r *Router) SetPresence(ctx context.Context, agent string, status rules.Presence, reason string) (rules.PresenceRecord, error) {
	if status != "" && !status.Valid() {
		return rules.PresenceRecord{}, fmt.Errorf("presence must be available, away or offline, not %q", status)
	}
	rec, err := r.agents.SetPresence(ctx, agent, status, reason)
	if err != nil || status == "" {
		return rec, err
	}
	// Keyed by the time the status began: a retried request records it once.
	info, _ := r.Agent(agent)
	err = r.publishPresence(ctx, "presence:"+agent+":"+strconv.FormatInt(rec.Since.UnixNano(), 10), rec.Since,
		schema.PresenceSample{Agent: agent, Status: string(rec.Status), Load: info.Load, MaxLoad: limitOf(info), Reason: rec.Reason})
	return rec, err
}

// limitOf is the load an agent can hold: max_load, else their largest channel capacity.
func limitOf(a AgentInfo) int {
	if a.MaxLoad > 0 {
		return a.MaxLoad
	}
	n := 0
	for _, c := range a.Capacity {
		n = max(n, c)
	}
	return n
}

// publishPresence stores an agent_presence event (deduplicated by its cause).
func (r *Router) publishPresence(ctx context.Context, cause string, at time.Time, p schema.PresenceSample) error {
	ev := &schema.Event{Schema: schema.EventSchema, ID: schema.EventID(cause, 0), Type: schema.EventAgentPresence, Seq: 1,
		At: at.UTC(), Actor: "agent:" + p.Agent, Presence: &p}
	data, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	msg := &nats.Msg{Subject: streams.PresenceEventSubject(p.Agent), Data: data, Header: nats.Header{streams.HeaderCause: {cause}}}
	if _, err := r.js.PublishMsg(ctx, msg, jetstream.WithMsgID(ev.ID)); err != nil {
		return errors.Join(kernel.ErrUnavailable, fmt.Errorf("record presence of %s: %w", p.Agent, err))
	}
	return nil
}

// samplePresence records every agent's effective presence (heartbeats that stopped count as
// offline here) and load at each quarter hour. Every instance does; the stream keeps one copy
// (the event id is the agent's and the quarter's).
func (r *Router) samplePresence(ctx context.Context) {
	for {
		now := r.o.Now()
		next := now.Truncate(15 * time.Minute).Add(15 * time.Minute)
		select {
		case <-ctx.Done():
			return
		case <-time.After(next.Sub(now)):
		}
		for _, a := range r.Agents() {
			err := r.publishPresence(ctx, "presence-sample:"+a.ID+":"+strconv.FormatInt(next.Unix(), 10), next,
				schema.PresenceSample{Agent: a.ID, Status: string(a.Presence), Load: a.Load, MaxLoad: limitOf(a), Sampled: true})
			if err != nil && ctx.Err() == nil {
				r.log.Warn("presence sample not recorded", zap.String("agent", a.ID), zap.Error(err))
			}
		}
	}
}

// listenPresence subscribes to presence and heartbeat messages; the returned func stops it.
func (r *Router) listenPresence() (func(), error) {
	return agents.Listen(r.js.Conn(), r.SetPresence, r.log)
}
