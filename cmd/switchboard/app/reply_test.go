package app_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/cmd/switchboard/app/apptest"
	"github.com/switchboardhq/switchboard/schema"
	"github.com/switchboardhq/switchboard/schema/schematest"
)

// callbackSink is a helpdesk's callback endpoint that verifies Standard Webhooks signatures
// with its own implementation of the spec (not the gateway's code).
type callbackSink struct {
	mu       sync.Mutex
	key      []byte
	got      []schema.Message
	ids      []string
	failures int // answer 503 this many times first
}

func (s *callbackSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	id, ts, sig := r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp"), r.Header.Get("webhook-signature")
	mac := hmac.New(sha256.New, s.key)
	fmt.Fprintf(mac, "%s.%s.%s", id, ts, body)
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	sec, _ := strconv.ParseInt(ts, 10, 64)
	if !hmac.Equal([]byte(sig), []byte(want)) || time.Since(time.Unix(sec, 0)).Abs() > 5*time.Minute {
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failures > 0 {
		s.failures--
		http.Error(w, "try later", http.StatusServiceUnavailable)
		return
	}
	var d struct {
		Type string
		Data schema.Message
	}
	_ = json.Unmarshal(body, &d)
	s.got = append(s.got, d.Data)
	s.ids = append(s.ids, id)
	w.WriteHeader(http.StatusNoContent)
}

func (s *callbackSink) received() ([]schema.Message, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]schema.Message(nil), s.got...), append([]string(nil), s.ids...)
}

func TestReplyIsDeliveredToSignedCallbackOnce(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	sink := &callbackSink{key: key, failures: 1}
	srv := httptest.NewServer(sink)
	defer srv.Close()
	t.Setenv("APPTEST_CALLBACK_SECRET", "whsec_"+base64.StdEncoding.EncodeToString(key))
	g := apptest.Start(t, apptest.DefaultConfig+`
      ops:
        token: {env: APPTEST_TOKEN}
        callback:
          url: `+srv.URL+`
          secret: {env: APPTEST_CALLBACK_SECRET}
`)
	status, body := g.Do("POST", "/v1/channels/api/ops/messages", apptest.Token,
		map[string]any{"external_id": "q1", "from": "carol@example.com", "text": "where is my order?", "subject": "Order 7"})
	if status != http.StatusAccepted {
		t.Fatalf("post: %d %s", status, body)
	}
	conv := g.Events("sb.conv.*.opened", 1, 10*time.Second)[0].ConversationID

	reply := map[string]any{"text": "It ships today.", "agent_id": "dana"}
	var ids [2]string
	for i := range ids { // the same Idempotency-Key twice: one reply
		status, body = g.Do("POST", "/v1/conversations/"+conv+"/messages", apptest.Token, reply, "Idempotency-Key", "k-1")
		if status != http.StatusAccepted {
			t.Fatalf("reply: %d %s", status, body)
		}
		var r struct{ ID string }
		_ = json.Unmarshal(body, &r)
		ids[i] = r.ID
	}
	if ids[0] != ids[1] {
		t.Fatalf("idempotent reply got two ids: %v", ids)
	}
	// The first delivery attempt gets a 503 and is retried with backoff.
	// opened, message, message(out), delivery sent (implied by delivered), delivery delivered
	evs := g.Events("sb.conv."+conv+".>", 5, 20*time.Second)
	out, sent, del := evs[2], evs[3], evs[4]
	if sent.Type != schema.EventDelivery || sent.Delivery.Status != schema.StatusSent || !sent.Delivery.Implied {
		t.Fatalf("implied sent: %+v", sent.Delivery)
	}
	if out.Type != schema.EventMessage || out.Message.Direction != schema.Outbound || out.Message.ID != ids[0] ||
		out.Message.Status != schema.StatusPending || out.Message.AgentID != "dana" || out.Message.Subject != "Order 7" {
		t.Fatalf("outbound message event: %+v", out.Message)
	}
	if del.Type != schema.EventDelivery || del.Delivery.Status != schema.StatusDelivered || del.Delivery.MessageID != ids[0] || del.Delivery.Attempts != 2 {
		t.Fatalf("delivery event: %+v", del.Delivery)
	}
	got, hookIDs := sink.received()
	if len(got) != 1 || got[0].Text != "It ships today." || got[0].To[0].Value != "carol@example.com" || hookIDs[0] != ids[0] {
		t.Fatalf("callback received %+v (ids %v)", got, hookIDs)
	}
	schematest.Check(t, "message.v1.json", got[0])
	apptest.Eventually(t, 5*time.Second, func() error {
		_, body := g.Do("GET", "/v1/messages/"+ids[0], apptest.Token, nil)
		var m schema.Message
		_ = json.Unmarshal(body, &m)
		if m.Status != schema.StatusDelivered {
			return fmt.Errorf("message record status %q", m.Status)
		}
		return nil
	})
}

func TestReplyWithoutCallbackFailsWithClearEvent(t *testing.T) {
	g := apptest.Start(t, apptest.DefaultConfig)
	g.PostAPI("q1", "erin@example.com", "hello")
	conv := g.Events("sb.conv.*.opened", 1, 10*time.Second)[0].ConversationID
	status, body := g.Do("POST", "/v1/conversations/"+conv+"/messages", apptest.Token, map[string]any{"text": "hi"})
	if status != http.StatusAccepted {
		t.Fatalf("reply: %d %s", status, body)
	}
	del := g.Events("sb.conv."+conv+".delivery", 1, 10*time.Second)[0]
	if del.Delivery.Status != schema.StatusFailed || del.Delivery.ErrorCode != "no_callback" ||
		del.Delivery.ErrorMessage != `api account "demo" has no callback url; set channels.api.accounts.demo.callback to receive replies` {
		t.Fatalf("delivery: %+v", del.Delivery)
	}
}

func TestResolvedConversationIsFollowedByANewOne(t *testing.T) {
	g := apptest.Start(t, apptest.DefaultConfig)
	g.PostAPI("m1", "frank@example.com", "first")
	first := g.Events("sb.conv.*.opened", 1, 10*time.Second)[0].ConversationID
	if status, body := g.Do("POST", "/v1/conversations/"+first+"/resolve", apptest.Token, map[string]any{"reason": "answered"}); status != http.StatusAccepted {
		t.Fatalf("resolve: %d %s", status, body)
	}
	g.Events("sb.conv."+first+".resolved", 1, 10*time.Second)
	g.PostAPI("m2", "frank@example.com", "second")
	opened := g.Events("sb.conv.*.opened", 2, 10*time.Second)
	if opened[1].ConversationID == first || opened[1].CustomerID != opened[0].CustomerID {
		t.Fatalf("second conversation %s (customer %s) after resolving %s (customer %s)",
			opened[1].ConversationID, opened[1].CustomerID, first, opened[0].CustomerID)
	}
	if status, body := g.Do("POST", "/v1/conversations/"+first+"/reopen", apptest.Token, nil); status != http.StatusAccepted {
		t.Fatalf("reopen: %d %s", status, body)
	}
	g.Events("sb.conv."+first+".reopened", 1, 10*time.Second)
}
