package webhooks

import (
	"context"
	"errors"
	"slices"

	"github.com/switchboardhq/switchboard/pipeline/kernel"
	"github.com/switchboardhq/switchboard/schema"
)

// convContext is what a subscription's filters ask of an event's conversation.
type convContext struct {
	channels []schema.Channel
	account  string
	queue    string
}

// maxContexts bounds the conversations a follower remembers; past it, it starts afresh
// (a forgotten conversation's context is read from its snapshot again).
const maxContexts = 100_000

// wanted says whether the subscription delivers ev: its type, then (with channel, queue or
// account filters) its conversation's channels, account and queue as known at this event.
func (f *follower) wanted(ctx context.Context, ev *schema.Event) (bool, error) {
	s := f.s
	filtered := len(s.Channels) > 0 || len(s.Queues) > 0 || len(s.Accounts) > 0
	var c *convContext
	if filtered && ev.ConversationID != "" {
		var err error
		if c, err = f.context(ctx, ev.ConversationID); err != nil {
			return false, err
		}
		c.note(ev)
	}
	if len(s.Events) > 0 && !slices.Contains(s.Events, string(ev.Type)) {
		return false, nil
	}
	if !filtered {
		return true, nil
	}
	if c == nil {
		return false, nil // not about a conversation
	}
	if len(s.Channels) > 0 && !slices.ContainsFunc(c.channels, func(ch schema.Channel) bool { return slices.Contains(s.Channels, string(ch)) }) {
		return false, nil
	}
	if len(s.Queues) > 0 && !slices.Contains(s.Queues, c.queue) {
		return false, nil
	}
	if len(s.Accounts) > 0 && !slices.Contains(s.Accounts, c.account) {
		return false, nil
	}
	return true, nil
}

// context is the conversation's context: remembered, else read from its snapshot.
func (f *follower) context(ctx context.Context, id string) (*convContext, error) {
	if c := f.ctxs[id]; c != nil {
		return c, nil
	}
	if len(f.ctxs) >= maxContexts {
		clear(f.ctxs)
	}
	c := &convContext{}
	if get := f.d.o.Conversation; get != nil {
		conv, _, err := get(ctx, id)
		switch {
		case err == nil:
			c.channels, c.account, c.queue = slices.Clone(conv.Channels), conv.ReplyRoute.Account, conv.Queue
		case !errors.Is(err, kernel.ErrNotFound):
			return nil, err
		}
	}
	f.ctxs[id] = c
	return c, nil
}

// note takes in what ev says about its conversation.
func (c *convContext) note(ev *schema.Event) {
	if m := ev.Message; m != nil && m.Direction == schema.Inbound {
		if m.Channel != "" && !slices.Contains(c.channels, m.Channel) {
			c.channels = append(c.channels, m.Channel)
		}
		if m.Account != "" {
			c.account = m.Account
		}
	}
	if r := ev.Routing; r != nil && r.Queue != "" {
		c.queue = r.Queue
	}
}
