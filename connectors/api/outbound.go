package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/connectors"
	"github.com/switchboardhq/switchboard/schema"
)

// Delivery is the JSON body POSTed to an account's callback.
type Delivery struct {
	Type      string          `json:"type"` // "message.outbound", or "message.survey" for a survey question
	Timestamp time.Time       `json:"timestamp"`
	Data      *schema.Message `json:"data"`
}

// Send implements [connectors.Sender]: POST the reply to the account's callback. The
// webhook-id is the message id, so a receiver can drop a redelivery.
func (c *Connector) Send(ctx context.Context, m *schema.Message) (connectors.SendResult, error) {
	acct, ok := c.cfg.Accounts[m.Account]
	if !ok || acct.Callback == nil {
		return connectors.SendResult{}, connectors.Permanent("no_callback",
			"api account %q has no callback url; set channels.api.accounts.%s.callback to receive replies", m.Account, m.Account)
	}
	now := time.Now().UTC()
	typ := "message.outbound"
	if m.Kind == schema.KindSurvey {
		typ = "message.survey" // data.survey says which survey; answer with data.choices' payloads or the score as text
	}
	body, err := json.Marshal(Delivery{Type: typ, Timestamp: now, Data: m})
	if err != nil {
		return connectors.SendResult{}, connectors.Permanent("encode", "%v", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, acct.Callback.URL, bytes.NewReader(body))
	if err != nil {
		return connectors.SendResult{}, connectors.Permanent("bad_callback_url", "%v", err)
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "switchboard")
	req.Header.Set("webhook-id", m.ID)
	req.Header.Set("webhook-timestamp", ts)
	req.Header.Set("webhook-signature", Sign(acct.Callback.Secret.Value(), m.ID, ts, body))
	ctx, cancel := context.WithTimeout(ctx, acct.Callback.Timeout.D())
	defer cancel()
	resp, err := c.client.Do(req.WithContext(ctx))
	if err != nil {
		return connectors.SendResult{}, connectors.Temporary(fmt.Errorf("callback: %w", err), 0)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	return classify(resp, strings.TrimSpace(string(snippet)))
}

func classify(resp *http.Response, snippet string) (connectors.SendResult, error) {
	switch s := resp.StatusCode; {
	case s >= 200 && s < 300:
		return connectors.SendResult{Status: schema.StatusDelivered}, nil
	case s == http.StatusTooManyRequests || s >= 500 || s == http.StatusRequestTimeout:
		after, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		return connectors.SendResult{}, connectors.Temporary(fmt.Errorf("callback answered %d: %s", s, snippet), time.Duration(after)*time.Second)
	default:
		return connectors.SendResult{}, connectors.Permanent("http_"+strconv.Itoa(s), "callback answered %d: %s", s, snippet)
	}
}

// Sign computes a Standard Webhooks signature header value (connectors.SignWebhook).
func Sign(secret, id, timestamp string, body []byte) string {
	return connectors.SignWebhook(secret, id, timestamp, body)
}
