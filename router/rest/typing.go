package rest

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/switchboardhq/switchboard/connectors"
)

// typingSignal is the ephemeral typing indicator on sb.signal.conv.<id>.typing
// (docs/channels/webchat.md).
type typingSignal struct {
	ConversationID string    `json:"conversation_id"`
	Actor          string    `json:"actor"`
	State          string    `json:"state"`
	At             time.Time `json:"at"`
}

// postTyping answers POST /v1/conversations/{id}/typing {"agent_id", "state": "start|stop"}:
// the customer's open chat shows that an agent is typing. Nothing is stored.
func (s *API) postTyping(ctx context.Context, r *connectors.Request) (*connectors.Response, error) {
	id := r.PathValue("id")
	conv, _, err := s.reads.Conversation(ctx, id)
	if err != nil {
		return nil, lookup(err, "conversation", id)
	}
	var b struct {
		AgentID string `json:"agent_id"`
		State   string `json:"state"`
	}
	if err := decodeJSON(r, &b); err != nil {
		return nil, err
	}
	if b.State != "start" && b.State != "stop" {
		return nil, connectors.BadField("state", "must be start or stop")
	}
	agent, err := actingAgent(ctx, b.AgentID)
	if err != nil {
		return nil, err
	}
	data, _ := json.Marshal(typingSignal{ConversationID: conv.ID, Actor: "agent:" + agentOr(agent), State: b.State,
		At: time.Now().UTC()})
	if err := s.signals.Signal("conv."+conv.ID+".typing", data); err != nil {
		return nil, err
	}
	return &connectors.Response{Status: http.StatusAccepted}, nil
}
