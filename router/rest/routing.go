package rest

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/connectors"
	"github.com/switchboardhq/switchboard/router"
	"github.com/switchboardhq/switchboard/router/agents"
	"github.com/switchboardhq/switchboard/router/identity"
	"github.com/switchboardhq/switchboard/router/rules"
	"github.com/switchboardhq/switchboard/schema"
)

// routerEndpoints are the REST routes for routing, agents and identities (docs/routing.md).
func (s *API) routerEndpoints(ep func(method, path string, h connectors.HandlerFunc) connectors.Endpoint) []connectors.Endpoint {
	return []connectors.Endpoint{
		ep("POST", "/v1/conversations/{id}/assign", s.move(router.CommandAssign)),
		ep("POST", "/v1/conversations/{id}/transfer", s.move(router.CommandTransfer)),
		ep("GET", "/v1/agents", s.listAgents),
		ep("GET", "/v1/agents/{id}", s.getAgent),
		ep("PUT", "/v1/agents/{id}", s.putAgent),
		ep("DELETE", "/v1/agents/{id}", s.deleteAgent),
		ep("PUT", "/v1/agents/{id}/presence", s.putPresence),
		ep("POST", "/v1/agents/{id}/heartbeat", s.heartbeat),
		ep("GET", "/v1/customers", s.findCustomer),
		ep("PATCH", "/v1/customers/{id}", s.patchCustomer),
		ep("GET", "/v1/customers/{id}/view", s.customerView),
		ep("POST", "/v1/customers/{id}/identities", s.linkIdentity),
		ep("DELETE", "/v1/customers/{id}/identities/{identity}", s.unlinkIdentity),
		ep("POST", "/v1/customers/{id}/merge", s.mergeCustomer),
		ep("POST", "/v1/customers/{id}/split", s.splitCustomer),
		ep("GET", "/v1/rules", s.getRules),
		ep("POST", "/v1/rules/reload", s.reloadRules),
		ep("POST", "/-/reload", s.reloadConfig),
	}
}

// commandID is a new command id, or one derived from the Idempotency-Key header so that a
// retried request is applied once.
func commandID(r *connectors.Request, typ, convID string) string {
	if key := r.Header("Idempotency-Key"); key != "" {
		return schema.MessageID(schema.DedupeKey(schema.Channel(typ), convID, key))[4:]
	}
	return schema.NewMessageID(time.Now())[4:]
}

// moveBody is the body of POST /v1/conversations/{id}/assign and /transfer.
type moveBody struct {
	AgentID string `json:"agent_id"`
	Queue   string `json:"queue"`
	Reason  string `json:"reason"`
	Actor   string `json:"actor"`
}

// move answers assign (to an agent) and transfer (to an agent or a queue): 202 once the
// command is durable, 409 when the agent has no room or is offline.
func (s *API) move(typ router.CommandType) connectors.HandlerFunc {
	return func(ctx context.Context, r *connectors.Request) (*connectors.Response, error) {
		id := r.PathValue("id")
		conv, _, err := s.reads.Conversation(ctx, id)
		if err != nil {
			return nil, lookup(err, "conversation", id)
		}
		var b moveBody
		if err := decodeJSON(r, &b); err != nil {
			return nil, err
		}
		switch {
		case typ == router.CommandAssign && b.AgentID == "":
			return nil, connectors.BadField("agent_id", "is required")
		case b.AgentID == "" && b.Queue == "":
			return nil, connectors.BadField("agent_id", "give agent_id or queue")
		case b.AgentID != "" && b.Queue != "":
			return nil, connectors.BadField("queue", "give agent_id or queue, not both")
		}
		if conv.Status != schema.ConversationOpen {
			return nil, conflict("conversation_resolved", "the conversation is resolved; reopen it first")
		}
		actor, err := actingAgent(ctx, b.Actor)
		if err != nil {
			return nil, err
		}
		cmdID := commandID(r, string(typ), conv.ID)
		err = s.router.Move(ctx, conv, typ, cmdID, b.AgentID, b.Queue, b.Reason, actorFor(ctx, actor))
		if err := moveError(err); err != nil {
			return nil, err
		}
		return connectors.JSON(http.StatusAccepted, map[string]string{"command_id": cmdID, "conversation_id": conv.ID}), nil
	}
}

func moveError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, agents.ErrUnknownAgent):
		return connectors.BadField("agent_id", "%v", err)
	case errors.Is(err, router.ErrUnknownQueue):
		return connectors.BadField("queue", "%v", err)
	case errors.Is(err, agents.ErrNoRoom):
		return conflict("no_capacity", err.Error())
	case errors.Is(err, router.ErrRoutingOff):
		return conflict("routing_off", err.Error())
	}
	return err
}

func conflict(code, msg string) error {
	return &connectors.HTTPError{Status: http.StatusConflict, Code: code, Message: msg}
}

func (s *API) listAgents(_ context.Context, _ *connectors.Request) (*connectors.Response, error) {
	return connectors.JSON(http.StatusOK, map[string]any{"agents": s.router.Agents()}), nil
}

func (s *API) getAgent(_ context.Context, r *connectors.Request) (*connectors.Response, error) {
	a, err := s.router.Agent(r.PathValue("id"))
	if err != nil {
		return nil, notFound("agent", r.PathValue("id"))
	}
	return connectors.JSON(http.StatusOK, a), nil
}

// agentChange is the answer to PUT and DELETE /v1/agents/{id}.
type agentChange struct {
	*router.AgentInfo
	// Warnings are the rules' roster-dependent problems with the new roster.
	Warnings []string `json:"warnings"`
}

// putAgent answers PUT /v1/agents/{id}: the agent's whole definition (skills, languages,
// teams, capacity, max_load), in force at once on every instance. 201 when created, 200 when
// replaced, 409 for an agent of router.agents.
func (s *API) putAgent(ctx context.Context, r *connectors.Request) (*connectors.Response, error) {
	var ac rules.AgentConfig
	if err := decodeJSON(r, &ac); err != nil {
		return nil, err
	}
	id := r.PathValue("id")
	if ac.ID != "" && ac.ID != id {
		return nil, connectors.BadField("id", "is %q but the path says %q (leave it out)", ac.ID, id)
	}
	ac.ID = id
	ch, err := s.router.PutAgent(ctx, ac)
	if err := rosterError(err); err != nil {
		return nil, err
	}
	status := http.StatusOK
	if ch.Created {
		status = http.StatusCreated
	}
	return connectors.JSON(status, agentChange{AgentInfo: &ch.Agent, Warnings: nonNil(ch.Warnings)}), nil
}

// deleteAgent answers DELETE /v1/agents/{id}: the agent leaves the roster and their
// conversations go back to their queues.
func (s *API) deleteAgent(ctx context.Context, r *connectors.Request) (*connectors.Response, error) {
	id := r.PathValue("id")
	warnings, err := s.router.DeleteAgent(ctx, id)
	if errors.Is(err, agents.ErrUnknownAgent) {
		return nil, notFound("agent", id)
	}
	if err := rosterError(err); err != nil {
		return nil, err
	}
	return connectors.JSON(http.StatusOK, agentChange{Warnings: nonNil(warnings)}), nil
}

func rosterError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, router.ErrConfigAgent):
		return conflict("config_agent", err.Error())
	case errors.Is(err, router.ErrRoutingOff):
		return conflict("routing_off", err.Error())
	case errors.Is(err, router.ErrInvalidAgent):
		return &connectors.HTTPError{Status: http.StatusUnprocessableEntity, Code: "invalid_agent", Message: err.Error()}
	case errors.Is(err, router.ErrRosterRefused):
		return &connectors.HTTPError{Status: http.StatusUnprocessableEntity, Code: "rules_refuse_roster", Message: err.Error()}
	}
	return err
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// putPresence answers PUT /v1/agents/{id}/presence {"status": "available|away|offline", "reason": ""}.
func (s *API) putPresence(ctx context.Context, r *connectors.Request) (*connectors.Response, error) {
	var b agents.PresenceUpdate
	if err := decodeJSON(r, &b); err != nil {
		return nil, err
	}
	if !b.Status.Valid() {
		return nil, connectors.BadField("status", "must be available, away or offline")
	}
	return s.presence(ctx, r.PathValue("id"), b.Status, b.Reason)
}

// heartbeat answers POST /v1/agents/{id}/heartbeat: the agent is still there.
func (s *API) heartbeat(ctx context.Context, r *connectors.Request) (*connectors.Response, error) {
	return s.presence(ctx, r.PathValue("id"), "", "")
}

func (s *API) presence(ctx context.Context, id string, status rules.Presence, reason string) (*connectors.Response, error) {
	if _, err := actingAgent(ctx, id); err != nil {
		return nil, err // an agent's own token sets that agent's presence only
	}
	rec, err := s.router.SetPresence(ctx, id, status, reason)
	if errors.Is(err, agents.ErrUnknownAgent) {
		return nil, notFound("agent", id)
	}
	if err != nil {
		return nil, err
	}
	return connectors.JSON(http.StatusOK, rec), nil
}

// findCustomer answers GET /v1/customers?identity=kind:value (e.g. phone:+15551234567).
func (s *API) findCustomer(ctx context.Context, r *connectors.Request) (*connectors.Response, error) {
	key := r.HTTP.URL.Query().Get("identity")
	kind, value, ok := strings.Cut(key, ":")
	if !ok || kind == "" || value == "" {
		return nil, connectors.BadField("identity", "write kind:value, e.g. email:alice@example.com")
	}
	id, err := s.graph.Normalizer().Identity("", "", schema.Address{Kind: kind, Value: value})
	if err != nil {
		return nil, connectors.BadField("identity", "%v", err)
	}
	owner, err := s.graph.Owner(ctx, identity.Key(id))
	if err != nil {
		return nil, err
	}
	if owner == "" {
		return nil, notFound("customer with identity", identity.Key(id))
	}
	c, err := s.graph.Customer(ctx, owner)
	if err != nil {
		return nil, lookup(err, "customer", owner)
	}
	return connectors.JSON(http.StatusOK, c), nil
}

// customerView answers GET /v1/customers/{id}/view: the customer, their identities and
// their conversations (newest first).
func (s *API) customerView(ctx context.Context, r *connectors.Request) (*connectors.Response, error) {
	id := r.PathValue("id")
	c, err := s.graph.Customer(ctx, id)
	if err != nil {
		return nil, lookup(err, "customer", id)
	}
	convs := []*schema.Conversation{}
	for i := len(c.Conversations) - 1; i >= 0; i-- {
		if conv, _, err := s.reads.Conversation(ctx, c.Conversations[i]); err == nil {
			convs = append(convs, conv)
		}
	}
	return connectors.JSON(http.StatusOK, map[string]any{"customer": c, "conversations": convs}), nil
}

// patchCustomer answers PATCH /v1/customers/{id} {"name": "...", "attributes": {"tier": "vip", "old": null}}.
func (s *API) patchCustomer(ctx context.Context, r *connectors.Request) (*connectors.Response, error) {
	var b struct {
		Name       string             `json:"name"`
		Attributes map[string]*string `json:"attributes"`
	}
	if err := decodeJSON(r, &b); err != nil {
		return nil, err
	}
	c, err := s.graph.SetAttributes(ctx, r.PathValue("id"), b.Name, b.Attributes)
	if err != nil {
		return nil, lookup(err, "customer", r.PathValue("id"))
	}
	return connectors.JSON(http.StatusOK, c), nil
}

// linkIdentity answers POST /v1/customers/{id}/identities {"kind": "phone", "value": "+1555...", "actor": ""}.
func (s *API) linkIdentity(ctx context.Context, r *connectors.Request) (*connectors.Response, error) {
	var b struct {
		Kind     string `json:"kind"`
		Value    string `json:"value"`
		Account  string `json:"account"`
		Channel  string `json:"channel"`
		Verified bool   `json:"verified"`
		Actor    string `json:"actor"`
	}
	if err := decodeJSON(r, &b); err != nil {
		return nil, err
	}
	if b.Kind == "" || b.Value == "" {
		return nil, connectors.BadField("kind", "kind and value are required")
	}
	id, err := s.graph.Normalizer().Identity(schema.Channel(b.Channel), b.Account, schema.Address{Kind: b.Kind, Value: b.Value})
	if err != nil {
		return nil, connectors.BadField("value", "%v", err)
	}
	id.Verified = b.Verified
	actor, err := actingAgent(ctx, b.Actor)
	if err != nil {
		return nil, err
	}
	c, err := s.graph.Link(ctx, r.PathValue("id"), id, actorFor(ctx, actor))
	return identityAnswer(c, err, r.PathValue("id"))
}

// unlinkIdentity answers DELETE /v1/customers/{id}/identities/{kind:value}: the identity
// becomes a customer of its own (returned).
func (s *API) unlinkIdentity(ctx context.Context, r *connectors.Request) (*connectors.Response, error) {
	key, err := url.PathUnescape(r.PathValue("identity"))
	if err != nil || !strings.Contains(key, ":") {
		return nil, connectors.BadField("identity", "write kind:value, URL-escaped")
	}
	op := r.Header("Idempotency-Key")
	if op == "" {
		op = schema.NewMessageID(time.Now())
	}
	actor, err := actingAgent(ctx, r.HTTP.URL.Query().Get("actor"))
	if err != nil {
		return nil, err
	}
	c, err := s.graph.Unlink(ctx, r.PathValue("id"), key, op, actorFor(ctx, actor))
	return identityAnswer(c, err, r.PathValue("id"))
}

// mergeCustomer answers POST /v1/customers/{id}/merge {"customer_id": "cus_..."}: that
// customer is merged into this one.
func (s *API) mergeCustomer(ctx context.Context, r *connectors.Request) (*connectors.Response, error) {
	other, actor, err := otherCustomer(ctx, r)
	if err != nil {
		return nil, err
	}
	if err := s.graph.Merge(ctx, r.PathValue("id"), other, actor); err != nil {
		return identityAnswer(nil, err, r.PathValue("id"))
	}
	c, err := s.graph.Customer(ctx, r.PathValue("id"))
	return identityAnswer(c, err, r.PathValue("id"))
}

// splitCustomer answers POST /v1/customers/{id}/split {"customer_id": "cus_..."}: a merge
// undone.
func (s *API) splitCustomer(ctx context.Context, r *connectors.Request) (*connectors.Response, error) {
	other, actor, err := otherCustomer(ctx, r)
	if err != nil {
		return nil, err
	}
	c, err := s.graph.Split(ctx, r.PathValue("id"), other, actor)
	return identityAnswer(c, err, r.PathValue("id"))
}

func otherCustomer(ctx context.Context, r *connectors.Request) (string, string, error) {
	var b struct {
		CustomerID string `json:"customer_id"`
		Actor      string `json:"actor"`
	}
	if err := decodeJSON(r, &b); err != nil {
		return "", "", err
	}
	if b.CustomerID == "" {
		return "", "", connectors.BadField("customer_id", "is required")
	}
	actor, err := actingAgent(ctx, b.Actor)
	if err != nil {
		return "", "", err
	}
	return b.CustomerID, actorFor(ctx, actor), nil
}

func identityAnswer(c *schema.Customer, err error, id string) (*connectors.Response, error) {
	switch {
	case err == nil:
		return connectors.JSON(http.StatusOK, c), nil
	case identity.IsConflict(err):
		return nil, conflict("identity_conflict", err.Error())
	}
	return nil, lookup(err, "customer", id)
}

// getRules answers GET /v1/rules: the version in force and the last reload's outcome.
func (s *API) getRules(_ context.Context, _ *connectors.Request) (*connectors.Response, error) {
	rs := s.router.Rules()
	if rs == nil {
		return nil, conflict("routing_off", router.ErrRoutingOff.Error())
	}
	body := map[string]any{"version": rs.Version, "source": rs.Source, "loaded_at": rs.LoadedAt, "queues": rs.QueueNames(),
		"last_reload_successful": true, "warnings": nonNil(rs.Warnings)}
	if ok, err := s.router.RulesStatus(); !ok {
		body["last_reload_successful"], body["last_error"] = false, err.Error()
	}
	return connectors.JSON(http.StatusOK, body), nil
}

// reloadRules answers POST /v1/rules/reload: 200 with the version in force, or 422 with
// every problem of a bad file (the previous rules stay in force).
func (s *API) reloadRules(ctx context.Context, r *connectors.Request) (*connectors.Response, error) {
	if err := s.router.ReloadRules(); err != nil {
		if errors.Is(err, router.ErrRoutingOff) {
			return nil, conflict("routing_off", err.Error())
		}
		return nil, &connectors.HTTPError{Status: http.StatusUnprocessableEntity, Code: "invalid_rules", Message: err.Error()}
	}
	return s.getRules(ctx, r)
}
