package rest

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/switchboardhq/switchboard/connectors"
	"github.com/switchboardhq/switchboard/pipeline/kernel"
	"github.com/switchboardhq/switchboard/pipeline/streams"
	"github.com/switchboardhq/switchboard/router"
	"github.com/switchboardhq/switchboard/router/identity"
	"github.com/switchboardhq/switchboard/router/insight"
	"github.com/switchboardhq/switchboard/router/listing"
	"github.com/switchboardhq/switchboard/router/rules"
	"github.com/switchboardhq/switchboard/router/webhooks"
	"github.com/switchboardhq/switchboard/schema"
)

// API is the helpdesk-facing REST API (docs/rest-api.md). It holds no store or stream of its
// own: it reads through [Reads] and the stream reader, and changes conversations and
// customers only through [Router] and [Identities].
type API struct {
	reads   Reads
	router  Router
	graph   Identities
	events  *streams.Reader
	blobs   connectors.BlobStore
	signals connectors.Signals
	// creds are rest.tokens and rest.jwt, swapped whole by a config reload.
	creds    atomic.Pointer[credentials]
	log      *zap.Logger
	reports  *insight.Reports
	webhooks *webhooks.Deliverer
	reload   func(context.Context) (ConfigReload, error)
	listing  *listing.Index
	// heatmaps keeps the dashboard's 4-week heatmap a minute.
	heatmaps heatmapCache
}

// Reads are the records REST answers from (router.Store).
type Reads interface {
	Message(ctx context.Context, id string) (*schema.Message, uint64, error)
	Conversation(ctx context.Context, id string) (*schema.Conversation, uint64, error)
	Customer(ctx context.Context, id string) (*schema.Customer, uint64, error)
	// ConversationIDs lists every stored conversation (an operations scan, not a hot path).
	ConversationIDs(ctx context.Context) ([]string, error)
}

// Router is what REST asks of the router (router.Router): submit a command, move a
// conversation, agents and their presence, the rules in force.
type Router interface {
	Submit(ctx context.Context, cmd *router.Command) error
	Move(ctx context.Context, conv *schema.Conversation, typ router.CommandType, cmdID, agent, queue, reason, actor string) error
	Agents() []router.AgentInfo
	Queues() []router.QueueInfo
	Agent(id string) (router.AgentInfo, error)
	SetPresence(ctx context.Context, agent string, status rules.Presence, reason string) (rules.PresenceRecord, error)
	Rules() *rules.Rules
	RulesStatus() (bool, error)
	ReloadRules() error
	PutAgent(ctx context.Context, ac rules.AgentConfig) (router.RosterChange, error)
	DeleteAgent(ctx context.Context, id string) ([]string, error)
	// SurveyKey signs the email surveys' links.
	SurveyKey() []byte
}

// Identities is the identity graph as REST changes it (identity.Graph).
type Identities interface {
	Normalizer() *identity.Normalizer
	Owner(ctx context.Context, key string) (string, error)
	Customer(ctx context.Context, id string) (*schema.Customer, error)
	Link(ctx context.Context, cust string, id schema.Identity, actor string) (*schema.Customer, error)
	Unlink(ctx context.Context, cust string, key, opID, actor string) (*schema.Customer, error)
	Merge(ctx context.Context, survivor, other, actor string) error
	Split(ctx context.Context, survivor, other, actor string) (*schema.Customer, error)
	SetAttributes(ctx context.Context, id, name string, attrs map[string]*string) (*schema.Customer, error)
}

// Options are what [New] wires together.
type Options struct {
	Reads      Reads
	Router     Router
	Identities Identities
	Events     *streams.Reader
	Blobs      connectors.BlobStore
	Signals    connectors.Signals
	Tokens     []Token
	JWT        JWTConfig
	Logger     *zap.Logger
	// Reports answers /v1/reports/* (nil: insight is off).
	Reports *insight.Reports
	// Listing answers GET /v1/conversations (nil: 503).
	Listing *listing.Index
	// Reload reloads the config file (POST /-/reload; nil: not offered).
	Reload func(context.Context) (ConfigReload, error)
	// Webhooks answers /v1/webhooks (nil: none).
	Webhooks *webhooks.Deliverer
}

// New returns the API.
func New(o Options) *API {
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	s := &API{reads: o.Reads, router: o.Router, graph: o.Identities, events: o.Events, blobs: o.Blobs,
		signals: o.Signals, log: o.Logger, reports: o.Reports, webhooks: o.Webhooks, reload: o.Reload, listing: o.Listing}
	s.SetCredentials(Config{Tokens: o.Tokens, JWT: o.JWT})
	return s
}

// SetCredentials swaps in new tokens and JWT settings (a config reload): requests after it
// are checked against them.
// A JWKS that cannot be reached keeps JWTs it would sign refused until it can be.
func (s *API) SetCredentials(c Config) {
	next := &credentials{Config: c}
	if c.JWT.JWKSURL != "" {
		next.jwks, next.stop = newJWKS(c.JWT, s.log)
	}
	if old := s.creds.Swap(next); old != nil && old.stop != nil {
		old.stop()
	}
}

// Close stops refreshing the JWKS.
func (s *API) Close() {
	if c := s.creds.Load(); c != nil && c.stop != nil {
		c.stop()
	}
}

// credentials are rest.tokens and rest.jwt in force, with the JWKS they name.
type credentials struct {
	Config
	jwks keyfunc.Keyfunc
	stop func()
}

// open reports whether the API takes requests without a token (none configured).
func (c *credentials) open() bool {
	return len(c.Tokens) == 0 && !c.JWT.Key.IsSet() && c.JWT.JWKSURL == ""
}

const restChannel = schema.Channel("rest")

// Endpoints lists the REST routes, served through the intake (limits, draining, metrics).
func (s *API) Endpoints() []connectors.Endpoint {
	ep := func(method, path string, h connectors.HandlerFunc) connectors.Endpoint {
		return connectors.Endpoint{Method: method, Path: path, Channel: restChannel, Handle: s.auth(ScopeOf(method, path), h)}
	}
	return append([]connectors.Endpoint{
		ep("GET", "/v1/messages/{id}", s.getMessage),
		ep("GET", "/v1/conversations", s.listConversations),
		ep("GET", "/v1/conversations/{id}", s.getConversation),
		ep("GET", "/v1/conversations/{id}/events", s.listEvents),
		ep("POST", "/v1/conversations/{id}/messages", s.postReply),
		ep("POST", "/v1/conversations/{id}/resolve", s.command(router.CommandResolve)),
		ep("POST", "/v1/conversations/{id}/reopen", s.command(router.CommandReopen)),
		ep("POST", "/v1/conversations/{id}/typing", s.postTyping),
		ep("GET", "/v1/customers/{id}", s.getCustomer),
		ep("GET", "/v1/attachments/{key...}", s.getAttachment),
	}, slices.Concat(s.routerEndpoints(ep), s.triageEndpoints(ep), s.reportEndpoints(ep), s.dashboardEndpoints(ep), s.surveyEndpoints(ep), s.webhookEndpoints(ep))...)
}

// ScopeOf is the scope a route needs: read for every GET, admin for the rules and config
// reloads, changes to webhook subscriptions and to the roster, agent for the rest (docs/rest-api.md#tokens-and-scopes).
func ScopeOf(method, path string) string {
	switch {
	case method == "GET":
		return ScopeRead
	case path == "/v1/rules/reload" || strings.HasPrefix(path, "/v1/webhooks") || path == "/v1/agents/{id}" || path == "/-/reload":
		return ScopeAdmin
	}
	return ScopeAgent
}

// auth checks the bearer token against rest.tokens (constant time) and that it carries the
// route's scope; the handler sees the token (tokenFrom). With no tokens configured the API
// is open, which `serve` warns about.
func (s *API) auth(scope string, h connectors.HandlerFunc) connectors.HandlerFunc {
	return func(ctx context.Context, r *connectors.Request) (*connectors.Response, error) {
		if s.creds.Load().open() {
			return h(ctx, r)
		}
		got, ok := strings.CutPrefix(r.Header("Authorization"), "Bearer ")
		if t, found := s.token(got); ok && found {
			if !t.has(scope) {
				return nil, forbidden("token %q lacks the %s scope this request needs", t.Name, scope)
			}
			return h(context.WithValue(ctx, tokenKey{}, t), r)
		}
		return nil, connectors.Unauthorized("missing or invalid bearer token")
	}
}

// token finds the configured token a bearer value is (constant time), or the helpdesk-signed
// JWT it is.
func (s *API) token(got string) (Token, bool) {
	if got == "" {
		return Token{}, false
	}
	c := s.creds.Load()
	for _, t := range c.Tokens {
		if subtle.ConstantTimeCompare([]byte(got), []byte(t.Token.Value())) == 1 {
			return t, true
		}
	}
	return jwtToken(c, got)
}

type tokenKey struct{}

// tokenFrom is the request's token (zero without tokens configured).
func tokenFrom(ctx context.Context) Token {
	t, _ := ctx.Value(tokenKey{}).(Token)
	return t
}

// actorFor is who a command's events name as their actor: the agent, and the token the
// request came with ("agent:ann;token:ann-desk"; "agent:api" on an open API).
func actorFor(ctx context.Context, agent string) string {
	a := "agent:" + agentOr(agent)
	if t := tokenFrom(ctx); t.Name != "" {
		a += ";token:" + t.Name
	}
	return a
}

func forbidden(format string, args ...any) error {
	return &connectors.HTTPError{Status: http.StatusForbidden, Code: "forbidden", Message: fmt.Sprintf(format, args...)}
}

// actingAgent is who an agent action acts as: the token's agent for an agent's own token (a
// request naming another is refused), else the agent the request names.
func actingAgent(ctx context.Context, named string) (string, error) {
	t := tokenFrom(ctx)
	if t.Agent == "" {
		return named, nil
	}
	if named != "" && named != t.Agent {
		return "", forbidden("token %q acts as agent %s, not %s", t.Name, t.Agent, named)
	}
	return t.Agent, nil
}

func notFound(what, id string) error {
	return &connectors.HTTPError{Status: http.StatusNotFound, Code: "not_found", Message: fmt.Sprintf("no %s %q", what, id)}
}

// lookup maps a store error to the REST answer.
func lookup(err error, what, id string) error {
	if errors.Is(err, kernel.ErrNotFound) {
		return notFound(what, id)
	}
	return err
}

func (s *API) getMessage(ctx context.Context, r *connectors.Request) (*connectors.Response, error) {
	id := r.PathValue("id")
	m, _, err := s.reads.Message(ctx, id)
	if err != nil {
		return nil, lookup(err, "message", id)
	}
	return connectors.JSON(http.StatusOK, m), nil
}

// conversation returns a snapshot. The router publishes a conversation's events before it
// stores the snapshot, so a helpdesk acting on an event can be a moment ahead of it: when the
// stream already has events of the conversation, wait (briefly) for the snapshot instead of
// answering 404.
func (s *API) conversation(ctx context.Context, id string) (*schema.Conversation, error) {
	c, _, err := s.reads.Conversation(ctx, id)
	if !errors.Is(err, kernel.ErrNotFound) || !schema.ValidToken(id) {
		return c, lookup(err, "conversation", id)
	}
	if _, serr := s.events.Last(ctx, streams.ConversationFilter(id)); serr != nil {
		return nil, lookup(err, "conversation", id)
	}
	deadline := time.Now().Add(2 * time.Second)
	for errors.Is(err, kernel.ErrNotFound) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		c, _, err = s.reads.Conversation(ctx, id)
	}
	return c, lookup(err, "conversation", id)
}

func (s *API) getConversation(ctx context.Context, r *connectors.Request) (*connectors.Response, error) {
	id := r.PathValue("id")
	c, err := s.conversation(ctx, id)
	if err != nil {
		return nil, lookup(err, "conversation", id)
	}
	return connectors.JSON(http.StatusOK, c), nil
}

func (s *API) getCustomer(ctx context.Context, r *connectors.Request) (*connectors.Response, error) {
	id := r.PathValue("id")
	c, _, err := s.reads.Customer(ctx, id)
	if err != nil {
		return nil, lookup(err, "customer", id)
	}
	return connectors.JSON(http.StatusOK, c), nil
}

// listConversations answers GET /v1/conversations: filtered by status, queue, agent,
// channel, customer_id, tag, snoozed and updated_since, newest (or, with order=oldest,
// least recently) updated first, limit per page (default 100, at most 1000) and cursor for
// the next page. It is served from the listing index (kept from the stream), and returns the
// page's conversations as stored now.
func (s *API) listConversations(ctx context.Context, r *connectors.Request) (*connectors.Response, error) {
	q, err := listingQuery(r.HTTP.URL.Query())
	if err != nil {
		return nil, err
	}
	if s.listing == nil {
		return nil, &connectors.HTTPError{Status: http.StatusServiceUnavailable, Code: "no_listing", Message: "this gateway keeps no conversation listing"}
	}
	if err := s.listing.Wait(ctx, 2*time.Second); err != nil {
		return nil, &connectors.HTTPError{Status: http.StatusServiceUnavailable, Code: "listing_not_ready",
			Message: fmt.Sprintf("%v (at stream sequence %d, %d conversations so far); retry shortly", err, s.listing.Position(), s.listing.Len())}
	}
	page, err := s.listing.Query(q)
	if errors.Is(err, listing.ErrBadCursor) {
		return nil, connectors.BadField("cursor", "%v", err)
	}
	if err != nil {
		return nil, err
	}
	convs := make([]*schema.Conversation, len(page.Entries))
	var g errgroup.Group
	g.SetLimit(16)
	for i, e := range page.Entries {
		g.Go(func() error {
			c, _, err := s.reads.Conversation(ctx, e.ID)
			if errors.Is(err, kernel.ErrNotFound) {
				return nil // in the stream, not (yet, or any more) stored
			}
			convs[i] = c
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	out := make([]*schema.Conversation, 0, len(convs))
	for _, c := range convs {
		if c != nil {
			out = append(out, c)
		}
	}
	body := map[string]any{"conversations": out}
	if page.Next != "" {
		body["next_cursor"] = page.Next
	}
	return connectors.JSON(http.StatusOK, body), nil
}

// listingQuery reads the listing's query parameters.
func listingQuery(v url.Values) (listing.Query, error) {
	var q listing.Query
	var err error
	if q.Limit, err = intParam(v.Get("limit"), 100, 1000, "limit"); err != nil || q.Limit < 1 {
		return q, connectors.BadField("limit", "must be an integer between 1 and 1000")
	}
	q.Status = schema.ConversationStatus(v.Get("status"))
	if q.Status != "" && q.Status != schema.ConversationOpen && q.Status != schema.ConversationResolved {
		return q, connectors.BadField("status", "must be open or resolved")
	}
	q.Queue, q.Agent, q.Channel, q.Customer = v.Get("queue"), v.Get("agent"), schema.Channel(v.Get("channel")), v.Get("customer_id")
	if t := v.Get("tag"); t != "" {
		if q.Tag, err = schema.NormalizeTag(t); err != nil {
			return q, connectors.BadField("tag", "%v", err)
		}
	}
	switch q.Snoozed = v.Get("snoozed"); q.Snoozed {
	case "", "true", "false":
	default:
		return q, connectors.BadField("snoozed", "must be true or false")
	}
	if since := v.Get("updated_since"); since != "" {
		if q.UpdatedSince, err = time.Parse(time.RFC3339, since); err != nil {
			return q, connectors.BadField("updated_since", "an RFC 3339 time such as 2026-12-01T00:00:00Z")
		}
	}
	switch v.Get("order") {
	case "", "newest":
	case "oldest":
		q.Oldest = true
	default:
		return q, connectors.BadField("order", "must be newest or oldest")
	}
	q.Cursor = v.Get("cursor")
	return q, nil
}

func intParam(v string, def, maxV int, name string) (int, error) {
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > maxV {
		return 0, connectors.BadField(name, "must be an integer between 0 and %d", maxV)
	}
	return n, nil
}

// listEvents answers the conversation's events in order: ?after=<seq>&limit=<n> (default
// 500, max 5000).
func (s *API) listEvents(ctx context.Context, r *connectors.Request) (*connectors.Response, error) {
	id := r.PathValue("id")
	conv, err := s.conversation(ctx, id)
	if err != nil {
		return nil, err
	}
	q := r.HTTP.URL.Query()
	limit, err := intParam(q.Get("limit"), 500, 5000, "limit")
	if err != nil {
		return nil, err
	}
	after, err := intParam(q.Get("after"), 0, 1<<31-1, "after")
	if err != nil {
		return nil, err
	}
	events, bad, err := s.readEvents(ctx, conv.ID, uint64(after), limit)
	if err != nil {
		return nil, err
	}
	body := map[string]any{"events": events}
	if len(bad) > 0 {
		body["undecodable"] = bad
	}
	return connectors.JSON(http.StatusOK, body), nil
}

// readEvents reads up to limit events of a conversation with seq > after. Events that do not
// decode are listed apart (with their stream sequence), never dropped in silence.
func (s *API) readEvents(ctx context.Context, convID string, after uint64, limit int) ([]*schema.Event, []streams.Undecodable, error) {
	events := []*schema.Event{}
	var bad []streams.Undecodable
	err := s.events.Read(ctx, streams.Query{Filter: streams.ConversationFilter(convID)}, func(st *streams.Stored) error {
		switch {
		case st.Err != nil:
			bad = append(bad, st.Undecodable())
		case st.Event.Seq > after:
			events = append(events, st.Event)
		}
		if len(events) >= limit {
			return streams.ErrStop
		}
		return nil
	})
	return events, bad, err
}

// replyBody is the body of POST /v1/conversations/{id}/messages.
type replyBody struct {
	Text    string `json:"text"`
	HTML    string `json:"html"`
	Subject string `json:"subject"`
	AgentID string `json:"agent_id"`
	Note    bool   `json:"note"`
	// Automated marks a message no person wrote (a bot, an integration's auto-reply): it is
	// sent like a reply but never counts as an agent's response (docs/insight.md).
	Automated   bool                `json:"automated"`
	Attachments []schema.Attachment `json:"attachments"`
	Template    *schema.Template    `json:"template"`
	Metadata    map[string]string   `json:"metadata"`
}

// postReply queues an agent's reply (or internal note). An Idempotency-Key header makes a
// retried request return the same message id and send nothing twice.
func (s *API) postReply(ctx context.Context, r *connectors.Request) (*connectors.Response, error) {
	id := r.PathValue("id")
	conv, err := s.conversation(ctx, id)
	if err != nil {
		return nil, err
	}
	var b replyBody
	if err := decodeJSON(r, &b); err != nil {
		return nil, err
	}
	if strings.TrimSpace(b.Text) == "" && strings.TrimSpace(b.HTML) == "" && len(b.Attachments) == 0 && b.Template == nil {
		return nil, connectors.BadField("text", "a reply needs text, html, attachments or a template")
	}
	now := time.Now().UTC()
	msgID := schema.NewMessageID(now)
	if key := r.Header("Idempotency-Key"); key != "" {
		msgID = schema.MessageID(schema.DedupeKey("reply", conv.ID, key))
	}
	typ := router.CommandReply
	if b.Note {
		typ = router.CommandNote
	}
	agent, err := actingAgent(ctx, b.AgentID)
	if err != nil {
		return nil, err
	}
	m := &schema.Message{ID: msgID, ExternalID: msgID, AgentID: agent, Text: b.Text, HTML: b.HTML, Subject: b.Subject,
		Attachments: b.Attachments, Template: b.Template, Metadata: b.Metadata, ReceivedAt: now,
		From: schema.Address{Kind: "agent", Value: agentOr(agent)}}
	if b.Automated {
		m.Flags = []string{schema.FlagAutomated}
	}
	cmd := &router.Command{ID: msgID, Type: typ, ConversationID: conv.ID, CustomerID: conv.CustomerID,
		Actor: actorFor(ctx, agent), Message: m, At: now}
	if err := s.router.Submit(ctx, cmd); err != nil {
		return nil, err
	}
	return connectors.JSON(http.StatusAccepted, map[string]string{"id": msgID, "conversation_id": conv.ID}), nil
}

func agentOr(id string) string {
	if id == "" {
		return "api"
	}
	return id
}

// command answers POST /v1/conversations/{id}/resolve and /reopen ({"reason": "..."}).
func (s *API) command(typ router.CommandType) connectors.HandlerFunc {
	return func(ctx context.Context, r *connectors.Request) (*connectors.Response, error) {
		return s.submitCommand(ctx, r, typ, nil)
	}
}

func (s *API) getAttachment(ctx context.Context, r *connectors.Request) (*connectors.Response, error) {
	key := r.PathValue("key")
	rc, ctype, err := s.blobs.Open(ctx, key)
	if err != nil {
		return nil, lookup(err, "attachment", key)
	}
	defer rc.Close()
	var b strings.Builder
	if _, err := copyLimited(&b, rc, 64<<20); err != nil {
		return nil, err
	}
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	return &connectors.Response{Status: http.StatusOK, Header: http.Header{"Content-Type": {ctype},
		"X-Content-Type-Options": {"nosniff"}, "Content-Disposition": {"attachment"}}, Body: []byte(b.String())}, nil
}

func decodeJSON(r *connectors.Request, v any) error {
	if ct := r.Header("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return connectors.UnsupportedMediaType("application/json")
	}
	return connectors.DecodeJSON(r.Body, v)
}
