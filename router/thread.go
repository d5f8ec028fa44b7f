package router

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/pipeline"
	"github.com/switchboardhq/switchboard/pipeline/kernel"
	"github.com/switchboardhq/switchboard/pipeline/streams"
	"github.com/switchboardhq/switchboard/schema"
)

// threadDecision says which conversation a message joins and why.
type threadDecision struct {
	conv   *convState
	rev    uint64
	scope  string
	isNew  bool
	reopen bool
	route  bool   // the conversation needs routing after this message
	reason string // why this conversation (recorded on the event)
	// prev is the customer's previous conversation in scope, for sticky routing.
	prev *convState
	// keep is the agent a reopened conversation had.
	keep string
}

// scopeOf is the threading scope key of a channel: "" when conversations span channels.
func (r *Router) scopeOf(ch schema.Channel) string {
	if r.o.Config.Threading.Scope == ScopeCustomerChannel {
		return string(ch)
	}
	return ""
}

// thread picks the conversation for an inbound message: the one its threading headers
// point at, else the customer's current one in scope (reopened or not by the channel's
// policy), else a new one.
func (r *Router) thread(ctx context.Context, pc *partCache, ts *threadState, m *schema.Message) (*threadDecision, error) {
	scope := r.scopeOf(m.Channel)
	ref, why, err := r.referenced(ctx, pc, m)
	if err != nil {
		return nil, err
	}
	if ref != nil {
		return r.continueConv(ctx, pc, ts, scope, m, ref, why, true)
	}
	// A new customer's threading state names the conversation its first message opens
	// before that message is applied (identity.Graph.OpensFirst): open it.
	if id := ts.Current[scope]; id != "" && id != schema.ConversationIDFor(m.ID) {
		conv, rev, err := r.loadConv(ctx, pc, id)
		if err == nil {
			return r.continueConv(ctx, pc, ts, scope, m, &found{conv, rev}, "the customer's current conversation", false)
		}
		if !errors.Is(err, kernel.ErrNotFound) {
			return nil, err
		}
	}
	return r.openConv(ctx, pc, m, scope, nil, "first message from this customer")
}

type found struct {
	conv *convState
	rev  uint64
}

func (r *Router) continueConv(ctx context.Context, pc *partCache, ts *threadState, scope string, m *schema.Message,
	f *found, why string, byReference bool) (*threadDecision, error) {
	conv := f.conv
	words := m.Kind == schema.KindMessage
	if conv.Status == schema.ConversationOpen {
		return &threadDecision{conv: conv, rev: f.rev, scope: scope, reason: why,
			route: words && r.routingOn() && !conv.routed()}, nil
	}
	if !words {
		return &threadDecision{conv: conv, rev: f.rev, scope: scope,
			reason: fmt.Sprintf("%s (resolved; a %s does not reopen it)", why, m.Kind)}, nil
	}
	if byReference {
		if cur := ts.Current[scope]; cur != "" && cur != conv.ID {
			if open, rev, err := r.loadConv(ctx, pc, cur); err == nil && open.Status == schema.ConversationOpen {
				return &threadDecision{conv: open, rev: rev, scope: scope, route: r.routingOn() && !open.routed(),
					reason: why + " (resolved); joined the customer's open conversation instead"}, nil
			}
		}
	}
	p := r.o.Config.Threading.reopenPolicy(m.Channel)
	since := time.Duration(0)
	if conv.ResolvedAt != nil {
		since = m.ReceivedAt.Sub(*conv.ResolvedAt)
	}
	if p.Mode == ReopenAlways && (p.Window == 0 || since <= p.Window.D()) {
		d := &threadDecision{conv: conv, rev: f.rev, scope: scope, reopen: true, route: r.routingOn(),
			reason: fmt.Sprintf("%s was resolved %s ago; %s policy reopens it", why, since.Round(time.Second), m.Channel)}
		if r.o.Config.Threading.keepAgent(m.Channel) {
			d.keep = conv.AgentID
		}
		return d, nil
	}
	reason := fmt.Sprintf("the previous conversation was resolved %s ago; %s policy starts a new one", since.Round(time.Second), m.Channel)
	if p.Mode == ReopenAlways {
		reason = fmt.Sprintf("the previous conversation was resolved %s ago, after the %s reopen window of %s",
			since.Round(time.Second), m.Channel, p.Window.D())
	}
	return r.openConv(ctx, pc, m, scope, conv, reason)
}

// FirstConversation is the conversation a new customer's first message opens, in its
// threading scope: the identity graph lists it on the customer record it creates
// (identity.Graph.OpensFirst), which then stands for the customer's threading state.
func (r *Router) FirstConversation(m *schema.Message) (scope, conv string) {
	return r.scopeOf(m.Channel), schema.ConversationIDFor(m.ID)
}

// openConv starts a conversation. Its id derives from the message, so a redelivery finds
// the one it created.
func (r *Router) openConv(ctx context.Context, pc *partCache, m *schema.Message, scope string, prev *convState, reason string) (*threadDecision, error) {
	id := schema.ConversationIDFor(m.ID)
	if !pc.isOpening(m.ID) { // else the message just created its customer: nothing to find
		conv, rev, err := r.loadSnapshot(ctx, pc, id)
		if err == nil {
			return &threadDecision{conv: conv, rev: rev, scope: scope, reason: conv.ThreadReason, prev: prev}, nil
		}
		if !errors.Is(err, kernel.ErrNotFound) {
			return nil, err
		}
	}
	conv := &convState{Conversation: schema.Conversation{ID: id, CustomerID: m.CustomerID}, Scope: scope}
	return &threadDecision{conv: conv, scope: scope, isNew: true, reason: reason, prev: prev,
		route: m.Kind == schema.KindMessage && r.routingOn()}, nil
}

// maxReferenceLookups bounds the threading header ids looked up per message.
const maxReferenceLookups = 10

// referenced finds the conversation a message's threading headers point at: a reply to one
// of our messages (by our id or the provider's), or an email whose In-Reply-To or References
// name an inbound or outbound message of a conversation. Only the customer's own
// conversations count.
func (r *Router) referenced(ctx context.Context, pc *partCache, m *schema.Message) (*found, string, error) {
	t := m.Thread
	if t == nil {
		return nil, "", nil
	}
	type ref struct{ id, why string }
	var refs []ref
	if t.ReplyToMessageID != "" {
		refs = append(refs, ref{"id:" + t.ReplyToMessageID, "a reply to message " + t.ReplyToMessageID})
	}
	if t.ReplyToExternalID != "" {
		refs = append(refs, ref{"ext:" + t.ReplyToExternalID, "a reply to " + t.ReplyToExternalID})
	}
	for _, id := range t.InReplyTo {
		refs = append(refs, ref{"mid:" + id, "In-Reply-To <" + id + ">"})
	}
	for i := len(t.References) - 1; i >= 0; i-- {
		refs = append(refs, ref{"mid:" + t.References[i], "References <" + t.References[i] + ">"})
	}
	for i, rf := range refs {
		if i == maxReferenceLookups {
			break
		}
		convID, err := r.resolveRef(ctx, m, rf.id)
		if err != nil {
			return nil, "", err
		}
		if convID == "" {
			continue
		}
		// Another customer's conversation is not found: never thread across customers.
		conv, rev, err := r.loadOwnConv(ctx, pc, convID, m.CustomerID)
		if errors.Is(err, kernel.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, "", err
		}
		return &found{conv, rev}, rf.why + " belongs to this conversation", nil
	}
	return nil, "", nil
}

// resolveRef maps "id:<our id>", "ext:<provider id>" or "mid:<Message-ID>" to a conversation
// id ("" when unknown).
func (r *Router) resolveRef(ctx context.Context, m *schema.Message, ref string) (string, error) {
	kind, val, _ := strings.Cut(ref, ":")
	switch kind {
	case "id":
		return r.conversationOf(ctx, val)
	case "ext":
		conv, err := r.conversationOf(ctx, schema.MessageID(schema.DedupeKey(m.Channel, m.Account, val)))
		if conv != "" || err != nil {
			return conv, err
		}
		return r.outboundConversation(ctx, m.Channel, m.Account, val)
	}
	var ix emailIndex
	_, err := kernel.GetJSON(ctx, r.store.Threads, emailKey(val), &ix)
	if err == nil {
		return ix.Conversation, nil
	}
	if !errors.Is(err, kernel.ErrNotFound) {
		return "", err
	}
	return r.outboundConversation(ctx, m.Channel, m.Account, val)
}

// outboundConversation finds the conversation of one of our replies by the id its channel
// gave it (for email, the Message-ID the sender generated).
func (r *Router) outboundConversation(ctx context.Context, ch schema.Channel, account, externalID string) (string, error) {
	id, err := pipeline.LookupExternal(ctx, r.store.Outbox, ch, account, externalID)
	if errors.Is(err, kernel.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return r.conversationOf(ctx, id)
}

// emailIndex records which conversation an inbound email's Message-ID joined.
type emailIndex struct {
	Conversation string `json:"conversation_id"`
	Customer     string `json:"customer_id"`
}

func emailKey(messageID string) string { return "m." + streams.Key(messageID) }
