package rest

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/switchboardhq/switchboard/connectors"
	"github.com/switchboardhq/switchboard/router/webhooks"
)

// webhookView is one subscription as GET /v1/webhooks lists it.
type webhookView struct {
	ID       string         `json:"id"`
	URL      string         `json:"url"`
	Events   []string       `json:"events"`
	Channels []string       `json:"channels,omitempty"`
	Queues   []string       `json:"queues,omitempty"`
	Accounts []string       `json:"accounts,omitempty"`
	State    string         `json:"state"` // active or failing
	Progress webhooks.State `json:"progress"`
}

// listWebhooks is GET /v1/webhooks: the subscriptions, their state and position.
func (s *API) listWebhooks(ctx context.Context, _ *connectors.Request) (*connectors.Response, error) {
	out := []webhookView{}
	if s.webhooks != nil {
		for _, sub := range s.webhooks.Subscriptions() {
			st, err := s.webhooks.State(ctx, sub.ID)
			if err != nil {
				return nil, err
			}
			v := webhookView{ID: sub.ID, URL: sub.URL, Events: sub.Events, Channels: sub.Channels, Queues: sub.Queues, Accounts: sub.Accounts,
				State: "active", Progress: st}
			if v.Events == nil {
				v.Events = []string{}
			}
			if st.Failing {
				v.State = "failing"
			}
			out = append(out, v)
		}
	}
	return connectors.JSON(http.StatusOK, map[string]any{"subscriptions": out}), nil
}

// webhookDeliveries is GET /v1/webhooks/{id}/deliveries: the delivery records written in the
// last `since` (default 1h, at most the log's retention), newest first, at most `limit` (50,
// up to 1000).
func (s *API) webhookDeliveries(ctx context.Context, r *connectors.Request) (*connectors.Response, error) {
	id := r.PathValue("id")
	if s.webhooks == nil || !s.hasWebhook(id) {
		return nil, notFound("webhook subscription", id)
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
	ds, err := s.webhooks.Deliveries(ctx, id, time.Now().Add(-since), limit)
	if err != nil {
		return nil, err
	}
	return connectors.JSON(http.StatusOK, map[string]any{"deliveries": ds}), nil
}

// redeliverWebhook is POST /v1/webhooks/{id}/deliveries/{seq}/redeliver: one event posted
// again now, out of band; the answer is its updated delivery record.
func (s *API) redeliverWebhook(ctx context.Context, r *connectors.Request) (*connectors.Response, error) {
	id := r.PathValue("id")
	if s.webhooks == nil || !s.hasWebhook(id) {
		return nil, notFound("webhook subscription", id)
	}
	seq, err := strconv.ParseUint(r.PathValue("seq"), 10, 64)
	if err != nil || seq == 0 {
		return nil, connectors.BadField("seq", "write the delivery's stream sequence (seq in the delivery log)")
	}
	rec, err := s.webhooks.Redeliver(ctx, id, seq)
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
	id := r.PathValue("id")
	if s.webhooks == nil || !s.hasWebhook(id) {
		return nil, notFound("webhook subscription", id)
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
	pos, err := s.webhooks.Replay(ctx, id, body.FromSeq, body.Since)
	if err != nil {
		return nil, err
	}
	return connectors.JSON(http.StatusAccepted, map[string]any{"subscription": id, "position": pos,
		"note": "the subscription delivers from position + 1 on, in order, within a second"}), nil
}

func (s *API) hasWebhook(id string) bool {
	for _, sub := range s.webhooks.Subscriptions() {
		if sub.ID == id {
			return true
		}
	}
	return false
}
