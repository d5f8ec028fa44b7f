package router

import (
	"context"
	"encoding/json"
	"errors"
	"slices"

	"go.uber.org/zap"

	"github.com/switchboardhq/switchboard/pipeline/kernel"
	"github.com/switchboardhq/switchboard/router/agents"
	"github.com/switchboardhq/switchboard/router/rules"
	"github.com/switchboardhq/switchboard/schema"
)

// settle brings the waiting list and the agents' holds in line with a committed snapshot:
// a waiting conversation has a waiting entry and nobody holds it; an assigned one is held
// by its agent only; a resolved one is held by nobody. It is idempotent, so a redelivered
// cause simply runs it again. listed says a waiting entry may exist (only then is one deleted).
// reserved names agents a change reserved, which the board may not show yet.
func (r *Router) settle(ctx context.Context, conv *convState, touched, listed bool, reserved ...string) error {
	if !touched || !r.routingOn() {
		return nil
	}
	if err := r.settleWaiting(ctx, conv, listed); err != nil {
		return err
	}
	owner := ""
	if conv.Status == schema.ConversationOpen {
		owner = conv.AgentID
	}
	for _, a := range appendAll(appendAll(conv.Release, reserved), r.board.Holders(conv.ID)) {
		if a != owner {
			if err := r.agents.Release(ctx, a, conv.ID, ""); err != nil {
				return err
			}
		}
	}
	if owner == "" || slices.Contains(r.board.Holders(conv.ID), owner) {
		return nil
	}
	err := r.agents.Reserve(ctx, owner, conv.ID, r.hold(conv, conv.LastCause))
	if errors.Is(err, agents.ErrNoRoom) || errors.Is(err, agents.ErrUnknownAgent) {
		r.log.Warn("assigned conversation could not be counted against its agent", zap.String("conversation", conv.ID), zap.Error(err))
		return nil
	}
	return err
}

func appendAll(a, b []string) []string {
	out := slices.Clone(a)
	for _, s := range b {
		out = appendNew(out, s)
	}
	return out
}

func (r *Router) settleWaiting(ctx context.Context, conv *convState, listed bool) error {
	if conv.Status != schema.ConversationOpen || conv.Route == nil || !conv.Route.Waiting || conv.Queue == "" {
		if !listed {
			return nil
		}
		if err := r.store.Waiting.Delete(ctx, conv.ID); err != nil {
			return errors.Join(kernel.ErrUnavailable, err)
		}
		return nil
	}
	data, err := json.Marshal(r.waitEntry(conv))
	if err != nil {
		return err
	}
	if _, err := r.store.Waiting.Put(ctx, conv.ID, data); err != nil {
		return errors.Join(kernel.ErrUnavailable, err)
	}
	return nil
}

// waitEntry describes a waiting conversation for the dispatcher.
func (r *Router) waitEntry(conv *convState) *agents.WaitEntry {
	rt := conv.Route
	e := &agents.WaitEntry{Conversation: conv.ID, Customer: conv.CustomerID, Queue: conv.Queue, Priority: conv.Priority,
		Channel: rt.Channel, Language: rt.Language, Rule: rt.Rule, Target: rt.Target, TargetAt: rt.TargetAt,
		TimeoutAt: rt.TimeoutAt, Seq: conv.LastSeq}
	if conv.QueuedAt != nil {
		e.QueuedAt = *conv.QueuedAt
	}
	if rs := r.Rules(); rs != nil {
		if _, maxWait, ok := rs.Overflow(conv.Queue); ok && maxWait > 0 {
			at := e.QueuedAt.Add(maxWait)
			e.OverflowAt = &at
		}
	}
	return e
}

// hold is what an agent's load records for conv.
func (r *Router) hold(conv *convState, cause string) rules.Hold {
	ch := conv.ReplyRoute.Channel
	if conv.Route != nil && conv.Route.Channel != "" {
		ch = conv.Route.Channel
	}
	return r.holdOn(conv, ch, cause)
}
