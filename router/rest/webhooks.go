package rest

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/switchboardhq/switchboard/connectors"
	"github.com/switchboardhq/switchboard/pipeline/kernel"
	"github.com/switchboardhq/switchboard/router/webhooks"
)

func (s *API) webhookEndpoints(ep func(string, string, connectors.HandlerFunc) connectors.Endpoint) []connectors.Endpoint {
	return []connectors.Endpoint{
		ep("GET", "/v1/webhooks", s.listWebhooks),
		ep("POST", "/v1/webhooks", s.createWebhook),
		ep("GET", "/v1/webhooks/{id}", s.getWebhook),
		ep("PUT", "/v1/webhooks/{id}", s.putWebhook),
		ep("DELETE", "/v1/webhooks/{id}", s.deleteWebhook),
		ep("GET", "/v1/webhooks/{id}/deliveries", s.webhookDeliveries),
		ep("POST", "/v1/webhooks/{id}/deliveries/{seq}/redeliver", s.redeliverWebhook),
		ep("POST", "/v1/webhooks/{id}/replay", s.replayWebhook),
	}
}

// webhookView is one subscription as the API shows it (never its secrets).
type webhookView struct {
	ID       string         `json:"id"`
	Source   string         `json:"source"` // config or api
	URL      string         `json:"url"`
	Events   []string       `json:"events"`
	Channels []string       `json:"channels,omitempty"`
	Queues   []string       `json:"queues,omitempty"`
	Accounts []string       `json:"accounts,omitempty"`
	Start    string         `json:"start"`
	Timeout  string         `json:"timeout"`
	Secrets  int            `json:"secrets"` // how many sign each delivery
	State    string         `json:"state"`   // active or failing
	Progress webhooks.State `json:"progress"`
}

func (s *API) webhookView(ctx context.Context, in webhooks.Info) (webhookView, error) {
	st, err := s.webhooks.State(ctx, in.ID)
	if err != nil {
		return webhookView{}, err
	}
	v := webhookView{ID: in.ID, Source: in.Source, URL: in.URL, Events: in.Events, Channels: in.Channels, Queues: in.Queues,
		Accounts: in.Accounts, Start: in.Start, Timeout: in.Timeout.D().String(), Secrets: len(in.Secrets), State: "active", Progress: st}
	if v.Events == nil {
		v.Events = []string{}
	}
	if st.Failing {
		v.State = "failing"
	}
	return v, nil
}

// listWebhooks is GET /v1/webhooks: the subscriptions, their state and position.
func (s *API) listWebhooks(ctx context.Context, _ *connectors.Request) (*connectors.Response, error) {
	out := []webhookView{}
	if s.webhooks != nil {
		subs, err := s.webhooks.Subscriptions(ctx)
		if err != nil {
			return nil, err
		}
		for _, in := range subs {
			v, err := s.webhookView(ctx, in)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
	}
	return connectors.JSON(http.StatusOK, map[string]any{"subscriptions": out}), nil
}

// findWebhook is the subscription named in the path, or a 404.
func (s *API) findWebhook(ctx context.Context, r *connectors.Request) (webhooks.Info, error) {
	return s.findWebhookID(ctx, r.PathValue("id"))
}

func (s *API) findWebhookID(ctx context.Context, id string) (webhooks.Info, error) {
	if s.webhooks != nil {
		subs, err := s.webhooks.Subscriptions(ctx)
		if err != nil {
			return webhooks.Info{}, err
		}
		for _, in := range subs {
			if in.ID == id {
				return in, nil
			}
		}
	}
	return webhooks.Info{}, notFound("webhook subscription", id)
}

// getWebhook is GET /v1/webhooks/{id}.
func (s *API) getWebhook(ctx context.Context, r *connectors.Request) (*connectors.Response, error) {
	in, err := s.findWebhook(ctx, r)
	if err != nil {
		return nil, err
	}
	v, err := s.webhookView(ctx, in)
	if err != nil {
		return nil, err
	}
	return connectors.JSON(http.StatusOK, v), nil
}

// createWebhook is POST /v1/webhooks: a new API-managed subscription (409 when the id is
// taken). Without secrets, one is generated and answered once as "secret".
func (s *API) createWebhook(ctx context.Context, r *connectors.Request) (*connectors.Response, error) {
	var sp webhooks.Spec
	if err := decodeJSON(r, &sp); err != nil {
		return nil, err
	}
	if _, err := s.findWebhookID(ctx, sp.ID); err == nil {
		return nil, conflict("webhook_exists", "webhook subscription "+strconv.Quote(sp.ID)+" exists: PUT /v1/webhooks/"+sp.ID+" changes it")
	}
	return s.storeWebhook(ctx, sp)
}

// putWebhook is PUT /v1/webhooks/{id}: create or replace (the position is kept). Without
// secrets the stored ones are kept.
func (s *API) putWebhook(ctx context.Context, r *connectors.Request) (*connectors.Response, error) {
	var sp webhooks.Spec
	if err := decodeJSON(r, &sp); err != nil {
		return nil, err
	}
	if sp.ID == "" {
		sp.ID = r.PathValue("id")
	}
	if sp.ID != r.PathValue("id") {
		return nil, connectors.BadField("id", "the body's id must be the path's")
	}
	return s.storeWebhook(ctx, sp)
}

func (s *API) storeWebhook(ctx context.Context, sp webhooks.Spec) (*connectors.Response, error) {
	if s.webhooks == nil {
		return nil, notFound("webhook subscription", sp.ID)
	}
	generated, created, err := s.webhooks.Put(ctx, sp)
	var ve *webhooks.ValidationError
	switch {
	case errors.As(err, &ve):
		return nil, connectors.BadField(ve.Field, "%s", ve.Msg)
	case errors.Is(err, webhooks.ErrConfigDeclared):
		return nil, conflict("declared_in_config", err.Error())
	case errors.Is(err, kernel.ErrConflict):
		return nil, conflict("changed_meanwhile", "the subscription changed meanwhile: try again")
	case err != nil:
		return nil, err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	body := map[string]any{"id": sp.ID, "note": "delivering within a second"}
	if generated != "" {
		body["secret"] = generated
	}
	return connectors.JSON(status, body), nil
}

// deleteWebhook is DELETE /v1/webhooks/{id}: an API-managed subscription removed.
func (s *API) deleteWebhook(ctx context.Context, r *connectors.Request) (*connectors.Response, error) {
	if _, err := s.findWebhook(ctx, r); err != nil {
		return nil, err
	}
	err := s.webhooks.Delete(ctx, r.PathValue("id"))
	switch {
	case errors.Is(err, webhooks.ErrConfigDeclared):
		return nil, conflict("declared_in_config", err.Error())
	case err != nil:
		return nil, err
	}
	return &connectors.Response{Status: http.StatusNoContent}, nil
}

// webhookDeliveries is GET /v1/webhooks/{id}/deliveries: the delivery records written in the
// last `since` (default 1h, at most the log's retention), newest first, at most `limit` (50,
// up to 1000).
func (s *API) webhookDeliveries(ctx context.Context, r *connectors.Request) (*connectors.Response, error) {
	in, err := s.findWebhook(ctx, r)
	if err != nil {
		return nil, err
	}
	v := r.HTTP.URL.Query()
	since, err := time.ParseDuration(or(v.Get("since"), "1h"))
	if err != nil || since <= 0 {
		return nil, connectors.BadField("since", "write a duration such as 1h or 30m")
	}
	limit, err := strconv.Atoi(or(v.Get("limit"), "50"))
	if err != nil || limit < 1 || limit > 1000 {
		return nil, connectors.BadField("limit", "write a number from 1 to 1000")
	}
	ds, err := s.webhooks.Deliveries(ctx, in.ID, time.Now().Add(-since), limit)
	if err != nil {
		return nil, err
	}
	return connectors.JSON(http.StatusOK, map[string]any{"deliveries": ds}), nil
}

// redeliverWebhook is POST /v1/webhooks/{id}/deliveries/{seq}/redeliver: one event posted
// again now, out of band; the answer is its updated delivery record.
func (s *API) redeliverWebhook(ctx context.Context, r *connectors.Request) (*connectors.Response, error) {
	in, err := s.findWebhook(ctx, r)
	if err != nil {
		return nil, err
	}
	seq, err := strconv.ParseUint(r.PathValue("seq"), 10, 64)
	if err != nil || seq == 0 {
		return nil, connectors.BadField("seq", "write the delivery's stream sequence (seq in the delivery log)")
	}
	rec, err := s.webhooks.Redeliver(ctx, in.ID, seq)
	if errors.Is(err, webhooks.ErrUnknown) {
		return nil, &connectors.HTTPError{Status: http.StatusNotFound, Code: "not_found", Message: err.Error()}
	}
	if err != nil {
		return nil, err
	}
	return connectors.JSON(http.StatusOK, rec), nil
}

// replayWebhook is POST /v1/webhooks/{id}/replay with {"from_seq": N} or {"since": time}:
// the subscription delivers again from there, in order.
func (s *API) replayWebhook(ctx context.Context, r *connectors.Request) (*connectors.Response, error) {
	in, err := s.findWebhook(ctx, r)
	if err != nil {
		return nil, err
	}
	var body struct {
		FromSeq uint64    `json:"from_seq"`
		Since   time.Time `json:"since"`
	}
	if err := decodeJSON(r, &body); err != nil {
		return nil, err
	}
	if (body.FromSeq == 0) == body.Since.IsZero() {
		return nil, connectors.BadField("from_seq", "give from_seq (a stream sequence) or since (an RFC 3339 time), one of them")
	}
	pos, err := s.webhooks.Replay(ctx, in.ID, body.FromSeq, body.Since)
	if err != nil {
		return nil, err
	}
	return connectors.JSON(http.StatusAccepted, map[string]any{"subscription": in.ID, "position": pos,
		"note": "the subscription delivers from position + 1 on, in order, within a second"}), nil
}
