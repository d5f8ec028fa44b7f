package router

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
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

// dispatcher runs on one instance at a time (under a lease). It serves the waiting list in
// order (priority, then age), sends escalations and overflows when their time comes, and
// re-queues the conversations of agents offline past the grace period. It changes
// conversations only through commands on their customers' partitions, and reserves agents
// with the same compare-and-set as the partitions, so it never races them into overbooking.
type dispatcher struct {
	r   *Router
	log *zap.Logger
	// sent remembers commands sent recently, so one pass does not repeat the last one's.
	sent map[string]time.Time
	// checked remembers holds the janitor found in order.
	checked map[string]bool
	lastJan time.Time
}

// DispatcherLease is the lease key that keeps the dispatcher on one instance.
const DispatcherLease = "router-dispatcher"

// Dispatcher timing.
const (
	dispatchInterval = 200 * time.Millisecond
	resendAfter      = 5 * time.Second
	janitorInterval  = 30 * time.Second
	janitorMinAge    = 2 * time.Minute
)

func (d *dispatcher) runLeased(ctx context.Context, leases kernel.Leaser) {
	if leases == nil {
		d.run(ctx)
		return
	}
	for ctx.Err() == nil {
		err := kernel.RunLeased(ctx, leases, DispatcherLease, func(ctx context.Context, _ <-chan struct{}) error {
			d.log.Info("dispatching on this instance")
			d.run(ctx)
			return nil
		})
		if err != nil && !errors.Is(err, kernel.ErrLeaseLost) {
			return // Acquire ends only with ctx
		}
	}
}

func (d *dispatcher) run(ctx context.Context) {
	d.sent, d.checked = map[string]time.Time{}, map[string]bool{}
	d.lastJan = time.Time{} // the first pass runs the janitor: agents may have left the roster
	t := time.NewTicker(dispatchInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-d.r.board.Changed():
		case <-d.r.waits.Changed():
		}
		if err := d.pass(ctx); err != nil && ctx.Err() == nil {
			d.log.Warn("dispatch pass failed", zap.Error(err))
		}
	}
}

// pass does one round: timers first, then assignments, then presence, then (now and then)
// the janitor.
func (d *dispatcher) pass(ctx context.Context) error {
	now := d.r.o.Now().UTC()
	rs := d.r.Rules()
	waiting := d.r.waits.Ordered()
	d.forget(now)
	var errs []error
	for _, q := range slices.Sorted(maps.Keys(waiting)) {
		// blocked holds the kinds of conversation (channel, language) that found no agent
		// in this pass: a younger one of the same kind must not overtake them when a slot
		// frees up while the pass is still going down the list.
		blocked := map[string]bool{}
		for _, e := range waiting[q] {
			if err := d.serve(ctx, rs, e, now, blocked); err != nil {
				errs = append(errs, err)
			}
		}
	}
	errs = append(errs, d.requeueOffline(ctx, now))
	if d.r.rosterChanged.Swap(false) {
		errs = append(errs, d.departed(ctx)) // agents removed: their conversations go back at once
	}
	if now.Sub(d.lastJan) >= janitorInterval {
		d.lastJan = now
		errs = append(errs, d.janitor(ctx, now))
	}
	return errors.Join(errs...)
}

func (d *dispatcher) forget(now time.Time) {
	for k, at := range d.sent {
		if now.Sub(at) > resendAfter {
			delete(d.sent, k)
		}
	}
}

// serve handles one waiting conversation: overflow, escalation, or an agent.
func (d *dispatcher) serve(ctx context.Context, rs *rules.Rules, e *agents.WaitEntry, now time.Time, blocked map[string]bool) error {
	switch {
	case e.OverflowAt != nil && !now.Before(*e.OverflowAt):
		return d.send(ctx, e.Customer, &Command{ID: fmt.Sprintf("overflow.%s.%d", e.Conversation, e.Seq),
			Type: CommandOverflow, ConversationID: e.Conversation, Queue: e.Queue,
			Reason: fmt.Sprintf("waited %s in %s, longer than its max_wait", now.Sub(e.QueuedAt).Round(time.Second), e.Queue)})
	case e.TimeoutAt != nil && !now.Before(*e.TimeoutAt):
		return d.send(ctx, e.Customer, &Command{ID: fmt.Sprintf("escalate.%s.%d", e.Conversation, e.Seq),
			Type: CommandEscalate, ConversationID: e.Conversation, Rule: e.Rule, Target: e.Target,
			Reason: fmt.Sprintf("escalated: nobody took it in %s within %s", e.Queue, e.TimeoutAt.Sub(e.TargetAt).Round(time.Millisecond))})
	}
	if _, busy := d.sent["assign."+e.Conversation]; busy {
		return nil
	}
	if !rs.Queue(e.Queue) { // the rules were changed under it
		return d.send(ctx, e.Customer, &Command{ID: fmt.Sprintf("reroute.%s.%d.%s", e.Conversation, e.Seq, rs.Version),
			Type: CommandReroute, ConversationID: e.Conversation, Queue: e.Queue,
			Reason: fmt.Sprintf("queue %s no longer exists (rules %s)", e.Queue, rs.Version)})
	}
	kind := string(e.Channel) + "\x00" + e.Language
	if blocked[kind] {
		return nil
	}
	served, err := d.offer(ctx, rs, e, now)
	if err == nil && !served {
		blocked[kind] = true
	}
	return err
}

// offer picks an agent for a waiting conversation, reserves them and sends the assignment.
// It reports whether an agent was found.
func (d *dispatcher) offer(ctx context.Context, rs *rules.Rules, e *agents.WaitEntry, now time.Time) (bool, error) {
	w := &rules.Waiting{Queue: e.Queue, Conversation: e.Conversation, Channel: e.Channel, Language: e.Language, Now: now}
	for race := 0; race < maxRaces; race++ {
		var (
			i             = -1
			strategy, why string
		)
		d.r.board.Read(rs.Roster(), now, e.Conversation, func(v rules.AgentView) { i, strategy, why = rs.Pick(v, w) })
		if i < 0 {
			return false, nil
		}
		agent := rs.Roster().At(i).ID
		cmd := &Command{ID: fmt.Sprintf("assign.%s.%d.%s", e.Conversation, e.Seq, agent), Type: CommandAssign,
			ConversationID: e.Conversation, AgentID: agent, Queue: e.Queue, Strategy: strategy, Actor: "dispatcher",
			Reason: fmt.Sprintf("waited %s in %s; %s", now.Sub(e.QueuedAt).Round(time.Millisecond), e.Queue, why)}
		h := rules.Hold{Customer: e.Customer, Channel: e.Channel, Weight: rs.Roster().Weight(e.Channel), Cause: cmd.Cause(), At: now}
		err := d.r.agents.Reserve(ctx, agent, e.Conversation, h)
		if errors.Is(err, agents.ErrNoRoom) {
			w.Exclude = append(w.Exclude, agent)
			continue
		}
		if err != nil {
			return true, err
		}
		d.sent["assign."+e.Conversation] = now
		return true, d.send(ctx, e.Customer, cmd)
	}
	return false, nil
}

// requeueOffline sends the conversations of agents offline past the grace period back to
// their queues.
func (d *dispatcher) requeueOffline(ctx context.Context, now time.Time) error {
	grace := d.r.o.Config.Presence.OfflineGrace.D()
	roster := d.r.board.Roster()
	var errs []error
	for i := 0; i < roster.Len(); i++ {
		id := roster.At(i).ID
		st := d.r.board.State(id)
		p, since := st.Effective(now, d.r.board.Heartbeat())
		if p != rules.Offline || len(st.Load.Conversations) == 0 || now.Sub(since) < grace {
			continue
		}
		convs := make([]string, 0, len(st.Load.Conversations))
		for conv := range st.Load.Conversations {
			convs = append(convs, conv)
		}
		sort.Strings(convs)
		for _, conv := range convs {
			h := st.Load.Conversations[conv]
			cmd := &Command{ID: fmt.Sprintf("requeue.%s.%s.%d", conv, id, since.UnixMilli()), Type: CommandRequeue,
				ConversationID: conv, AgentID: id, Actor: "dispatcher",
				Reason: fmt.Sprintf("%s offline since %s, past the %s grace period", id, since.Format(time.RFC3339), grace)}
			errs = append(errs, d.send(ctx, h.Customer, cmd))
		}
	}
	return errors.Join(errs...)
}

// janitor releases holds whose conversation is not (or no longer) with the agent: what a
// crash between reserving an agent and recording the decision leaves behind. It also
// re-queues the conversations of agents no longer in the roster.
func (d *dispatcher) janitor(ctx context.Context, now time.Time) error {
	if err := d.departed(ctx); err != nil {
		return err
	}
	roster := d.r.board.Roster()
	for i := 0; i < roster.Len(); i++ {
		id := roster.At(i).ID
		st := d.r.board.State(id)
		for conv, h := range st.Load.Conversations {
			key := id + "/" + conv + "/" + h.Cause
			if d.checked[key] || now.Sub(h.At) < janitorMinAge {
				continue
			}
			c, _, err := d.r.store.Conversation(ctx, conv)
			if err != nil && !errors.Is(err, kernel.ErrNotFound) {
				return err
			}
			if err == nil && c.Status == schema.ConversationOpen && c.AgentID == id {
				d.checked[key] = true
				continue
			}
			d.log.Warn("releasing a stale hold", zap.String("agent", id), zap.String("conversation", conv), zap.String("cause", h.Cause))
			if err := d.r.agents.Release(ctx, id, conv, h.Cause); err != nil {
				return err
			}
		}
	}
	return nil
}

// departed re-queues the conversations held by agents that left the roster.
func (d *dispatcher) departed(ctx context.Context) error {
	keys, err := d.r.store.Agents.ListKeysFiltered(ctx, "load.*")
	if errors.Is(err, jetstream.ErrNoKeysFound) {
		return nil
	}
	if err != nil {
		return err
	}
	var errs []error
	for key := range keys.Keys() {
		agent := strings.TrimPrefix(key, "load.")
		if _, ok := d.r.board.Roster().Lookup(agent); ok {
			continue
		}
		var rec rules.LoadRecord
		if _, err := kernel.GetJSON(ctx, d.r.store.Agents, key, &rec); err != nil {
			errs = append(errs, err)
			continue
		}
		for conv, h := range rec.Conversations {
			errs = append(errs, d.send(ctx, h.Customer, &Command{ID: fmt.Sprintf("requeue.%s.%s.departed.%d", conv, agent, h.At.UnixMilli()),
				Type: CommandRequeue, ConversationID: conv, AgentID: agent,
				Reason: agent + " is no longer in the roster"}))
		}
	}
	return errors.Join(errs...)
}

// send puts a command on the customer's partition, once per command id (resent only after
// resendAfter, and deduplicated by JetStream meanwhile).
func (d *dispatcher) send(ctx context.Context, customer string, cmd *Command) error {
	if _, ok := d.sent[cmd.ID]; ok {
		return nil
	}
	cmd.CustomerID, cmd.At = customer, d.r.o.Now().UTC()
	if cmd.Actor == "" {
		cmd.Actor = "dispatcher"
	}
	if err := SubmitCommand(ctx, d.r.js, d.r.o.Partitions, cmd); err != nil {
		return err
	}
	d.sent[cmd.ID] = cmd.At
	d.r.metrics.Dispatched.WithLabelValues(string(cmd.Type)).Inc()
	return nil
}

// SubmitCommand puts a command on its customer's route partition; it is durable when this
// returns. The command id deduplicates retries.
func SubmitCommand(ctx context.Context, js jetstream.JetStream, partitions int, cmd *Command) error {
	data, err := json.Marshal(cmd)
	if err != nil {
		return err
	}
	msg := &nats.Msg{Subject: streams.RouteSubject(streams.Partition(cmd.CustomerID, partitions)), Data: data,
		Header: nats.Header{streams.HeaderKind: {streams.KindCommand}}}
	if _, err := js.PublishMsg(ctx, msg, jetstream.WithMsgID("c:"+cmd.ID)); err != nil {
		return errors.Join(kernel.ErrUnavailable, err)
	}
	return nil
}
