package rest

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/switchboardhq/switchboard/connectors"
	"github.com/switchboardhq/switchboard/router"
	"github.com/switchboardhq/switchboard/schema"
)

// triageEndpoints are the REST routes for tags, priority and snooze (docs/rest-api.md).
func (s *API) triageEndpoints(ep func(method, path string, h connectors.HandlerFunc) connectors.Endpoint) []connectors.Endpoint {
	return []connectors.Endpoint{
		ep("POST", "/v1/conversations/{id}/tags", s.postTags),
		ep("PUT", "/v1/conversations/{id}/priority", s.putPriority),
		ep("POST", "/v1/conversations/{id}/snooze", s.postSnooze),
		ep("POST", "/v1/conversations/{id}/wake", s.postWake),
	}
}

// triageBody is the body of the conversation commands (resolve, reopen, tags, priority,
// snooze, wake); each takes the fields it needs.
type triageBody struct {
	Add      []string `json:"add"`
	Remove   []string `json:"remove"`
	Priority *int     `json:"priority"`
	Until    string   `json:"until"`
	For      string   `json:"for"`
	Reason   string   `json:"reason"`
	AgentID  string   `json:"agent_id"`
}

// submitCommand sends a command for the conversation in the path (fill, when set, checks
// the body and completes the command): 202 once durable.
func (s *API) submitCommand(ctx context.Context, r *connectors.Request, typ router.CommandType, fill func(*schema.Conversation, *triageBody, *router.Command) error) (*connectors.Response, error) {
	conv, err := s.conversation(ctx, r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	var b triageBody
	if len(r.Body) > 0 {
		if err := decodeJSON(r, &b); err != nil {
			return nil, err
		}
	}
	agent, err := actingAgent(ctx, b.AgentID)
	if err != nil {
		return nil, err
	}
	cmdID := commandID(r, string(typ), conv.ID)
	cmd := &router.Command{ID: cmdID, Type: typ, ConversationID: conv.ID, CustomerID: conv.CustomerID,
		Actor: actorFor(ctx, agent), Reason: b.Reason, At: time.Now().UTC()}
	if fill != nil {
		if err := fill(conv, &b, cmd); err != nil {
			return nil, err
		}
	}
	if err := s.router.Submit(ctx, cmd); err != nil {
		return nil, err
	}
	return connectors.JSON(http.StatusAccepted, map[string]string{"command_id": cmdID, "conversation_id": conv.ID}), nil
}

func normalizeTags(field string, tags []string) ([]string, error) {
	out := make([]string, 0, len(tags))
	for i, t := range tags {
		n, err := schema.NormalizeTag(t)
		if err != nil {
			return nil, connectors.BadField(fmt.Sprintf("%s[%d]", field, i), "%v", err)
		}
		out = append(out, n)
	}
	return out, nil
}

// postTags answers POST /v1/conversations/{id}/tags {"add": [...], "remove": [...]}: tagged
// and untagged events (tags are lower-cased; at most 50 per conversation).
func (s *API) postTags(ctx context.Context, r *connectors.Request) (*connectors.Response, error) {
	return s.submitCommand(ctx, r, router.CommandTag, func(conv *schema.Conversation, b *triageBody, cmd *router.Command) error {
		if len(b.Add)+len(b.Remove) == 0 {
			return connectors.BadField("add", "give tags to add or remove")
		}
		var err error
		if cmd.Tags, err = normalizeTags("add", b.Add); err != nil {
			return err
		}
		if cmd.Untag, err = normalizeTags("remove", b.Remove); err != nil {
			return err
		}
		n := len(conv.Tags)
		for _, t := range cmd.Tags {
			if !slices.Contains(conv.Tags, t) {
				n++
			}
		}
		for _, t := range cmd.Untag {
			if slices.Contains(conv.Tags, t) {
				n--
			}
		}
		if n > schema.MaxTags {
			return connectors.BadField("add", "a conversation has at most %d tags (it would have %d)", schema.MaxTags, n)
		}
		return nil
	})
}

// putPriority answers PUT /v1/conversations/{id}/priority {"priority": 0-1000}: a
// priority_changed event; a waiting conversation moves in its line at once. The priority
// holds until the conversation is routed again (an escalation, a transfer, a reopening).
func (s *API) putPriority(ctx context.Context, r *connectors.Request) (*connectors.Response, error) {
	return s.submitCommand(ctx, r, router.CommandPriority, func(conv *schema.Conversation, b *triageBody, cmd *router.Command) error {
		if b.Priority == nil || *b.Priority < 0 || *b.Priority > 1000 {
			return connectors.BadField("priority", "is required: 0 to 1000 (higher is served first)")
		}
		if conv.Status != schema.ConversationOpen {
			return conflict("not_open", "the conversation is resolved: reopen it first")
		}
		cmd.Priority = *b.Priority
		return nil
	})
}

// maxSnooze bounds a snooze (the wake timer is a JetStream message schedule).
const maxSnooze = 366 * 24 * time.Hour

// postSnooze answers POST /v1/conversations/{id}/snooze {"until": RFC 3339} or {"for": "4h"}:
// a snoozed event; it wakes then (woken), or when the customer writes, or by POST …/wake.
func (s *API) postSnooze(ctx context.Context, r *connectors.Request) (*connectors.Response, error) {
	return s.submitCommand(ctx, r, router.CommandSnooze, func(conv *schema.Conversation, b *triageBody, cmd *router.Command) error {
		now := time.Now()
		var until time.Time
		switch {
		case (b.Until == "") == (b.For == ""):
			return connectors.BadField("until", "give until (an RFC 3339 time) or for (a duration such as 4h), not both")
		case b.Until != "":
			t, err := time.Parse(time.RFC3339, b.Until)
			if err != nil {
				return connectors.BadField("until", "an RFC 3339 time such as 2026-12-04T09:00:00+01:00: %v", err)
			}
			until = t
		default:
			d, err := time.ParseDuration(b.For)
			if err != nil || d <= 0 {
				return connectors.BadField("for", "a positive duration such as 30m or 4h")
			}
			until = now.Add(d)
		}
		if !until.After(now) {
			return connectors.BadField("until", "is not in the future")
		}
		if until.Sub(now) > maxSnooze {
			return connectors.BadField("until", "is more than a year away")
		}
		if conv.Status != schema.ConversationOpen {
			return conflict("not_open", "the conversation is resolved: reopen it first")
		}
		u := until.UTC().Truncate(time.Millisecond)
		cmd.Until = &u
		return nil
	})
}

// postWake answers POST /v1/conversations/{id}/wake: a woken event (nothing if it is not
// snoozed).
func (s *API) postWake(ctx context.Context, r *connectors.Request) (*connectors.Response, error) {
	return s.submitCommand(ctx, r, router.CommandWake, nil)
}
