package meta_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/cmd/switchboard/app/apptest"
	"github.com/switchboardhq/switchboard/connectors/connectortest"
	"github.com/switchboardhq/switchboard/pipeline/streams"
	"github.com/switchboardhq/switchboard/schema"
)

func TestSubscriptionHandshake(t *testing.T) {
	g := startGateway(t, newFakeGraph(t))
	challenge := "1158201444 & <challenge>"
	q := url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {verifyToken}, "hub.challenge": {challenge}}
	status, body := g.Do("GET", webhook+"?"+q.Encode(), "", nil)
	if status != http.StatusOK || string(body) != challenge {
		t.Fatalf("handshake: %d %q, want 200 with the challenge verbatim", status, body)
	}
	for name, c := range map[string]struct {
		path  string
		q     url.Values
		state int
	}{
		"wrong token": {webhook, url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {"guess"}, "hub.challenge": {"x"}}, 403},
		"no token":    {webhook, url.Values{"hub.mode": {"subscribe"}, "hub.challenge": {"x"}}, 403},
		"wrong mode":  {webhook, url.Values{"hub.mode": {"unsubscribe"}, "hub.verify_token": {verifyToken}, "hub.challenge": {"x"}}, 403},
		"unknown app": {"/v1/channels/meta/other/webhook", q, 404},
	} {
		if status, body := g.Do("GET", c.path+"?"+c.q.Encode(), "", nil); status != c.state || bytes.Contains(body, []byte("x\"")) {
			t.Errorf("%s: %d %s, want %d", name, status, body, c.state)
		}
	}
}

// TestWebhookRefusesBadInput: each bad request gets its status, and nothing reaches SB_INBOUND.
func TestWebhookRefusesBadInput(t *testing.T) {
	g := startGateway(t, newFakeGraph(t))
	good := fixture(t, "messenger_text.json")
	var v any
	_ = json.Unmarshal(good, &v)
	reencoded, _ := json.Marshal(v) // same content, but \u00e9 is now é: Meta's signature no longer covers it
	if bytes.Equal(reencoded, good) {
		t.Fatal("re-encoding did not change the bytes; the test would prove nothing")
	}
	unknownPage := bytes.ReplaceAll(good, []byte(pageID), []byte("999999999999999"))
	unknownNumber := bytes.ReplaceAll(fixture(t, "whatsapp_text.json"), []byte(phoneID), []byte("555555555555555"))
	cases := []struct {
		name, path, sig string
		body            []byte
		status          int
		code            string
	}{
		{"no signature", webhook, "", good, 403, "missing_signature"},
		{"sha1 signature", webhook, "sha1=" + strings.Repeat("0", 40), good, 403, "missing_signature"},
		{"wrong secret", webhook, sign("not-the-secret", good), good, 403, "bad_signature"},
		{"re-encoded body", webhook, sign(appSecret, good), reencoded, 403, "bad_signature"},
		{"other body's signature", webhook, sign(appSecret, unknownPage), good, 403, "bad_signature"},
		{"garbled signature", webhook, "sha256=zz", good, 403, "bad_signature"},
		{"malformed json", webhook, sign(appSecret, good[:40]), good[:40], 400, "invalid_json"},
		{"wrong type", webhook, sign(appSecret, []byte(`{"object":"page","entry":"x"}`)), []byte(`{"object":"page","entry":"x"}`), 400, "invalid_field"},
		{"message without mid", webhook, "", []byte(`{"object":"page","entry":[{"id":"` + pageID + `","messaging":[{"sender":{"id":"1"},"recipient":{"id":"` + pageID + `"},"timestamp":1,"message":{"text":"hi"}}]}]}`), 400, "invalid_field"},
		{"unknown page", webhook, sign(appSecret, unknownPage), unknownPage, 404, "not_found"},
		{"unknown phone number id", webhook, "", unknownNumber, 404, "not_found"},
		{"unknown app", "/v1/channels/meta/other/webhook", sign(appSecret, good), good, 404, "not_found"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sig := c.sig
			if sig == "" && c.status != 403 {
				sig = sign(appSecret, c.body)
			}
			status, body := g.Do("POST", c.path, "", c.body, "X-Hub-Signature-256", sig)
			connectortest.ExpectError(t, status, body, c.status, c.code)
		})
	}
	if n := g.StreamCount(streams.StreamInbound, ""); n != 0 {
		t.Fatalf("refused requests published %d messages", n)
	}
	apptest.Eventually(t, 5*time.Second, func() error {
		if n := g.StreamCount(streams.StreamRejected, ""); n != 9 { // the 403s and 404s
			return fmt.Errorf("%d forensic records, want 9", n)
		}
		return nil
	})
}

// TestBatchIsHandedOffWholeAndOnce: every message and receipt of a batched POST is stored;
// the same POST again (Meta's retry) stores nothing new.
func TestBatchIsHandedOffWholeAndOnce(t *testing.T) {
	g := startGateway(t, newFakeGraph(t))
	body := fixture(t, "messenger_batch.json")
	r := mustDeliver(t, g, body)
	// reaction, edit, unreaction, second customer; two delivered mids; the read watermark
	// names no message Switchboard sent; echo and standby ignored.
	if r.Messages != 4 || r.Duplicates != 0 || r.Statuses != 2 || r.Ignored != 2 {
		t.Fatalf("receipt %+v", r)
	}
	if n := g.StreamCount(streams.StreamInbound, "sb.in.messenger.>"); n != 4 {
		t.Fatalf("%d messages stored, want 4", n)
	}
	if n := g.StreamCount(streams.StreamInbound, "sb.status.messenger.>"); n != 2 {
		t.Fatalf("%d statuses stored, want 2", n)
	}
	r = mustDeliver(t, g, body)
	if r.Messages != 4 || r.Duplicates != 4 {
		t.Fatalf("retry receipt %+v, want every message a duplicate", r)
	}
	if n := g.StreamCount(streams.StreamInbound, "sb.in.messenger.>"); n != 4 {
		t.Fatalf("the retry stored %d messages, want still 4", n)
	}
	r = mustDeliver(t, g, fixture(t, "messenger_echo.json"))
	if r.Messages != 0 || r.Ignored != 1 || g.StreamCount(streams.StreamInbound, "sb.in.messenger.>") != 4 {
		t.Fatalf("an echo of our own send was stored: %+v", r)
	}
	evs := g.Events("sb.conv.*.message", 4, 15*time.Second)
	kinds := map[schema.Kind]int{}
	for _, e := range evs {
		kinds[e.Message.Kind]++
	}
	if kinds[schema.KindReaction] != 2 || kinds[schema.KindEdit] != 1 || kinds[schema.KindMessage] != 1 {
		t.Fatalf("message events by kind: %v\n%s", kinds, apptest.Sprint(evs))
	}
}

// TestWhatsAppInboundWithMedia: two customers in one batch become two conversations, and
// the image is fetched from the Graph API (media URL, then an authenticated download) into
// the object store.
func TestWhatsAppInboundWithMedia(t *testing.T) {
	graph := newFakeGraph(t)
	graph.media["1003383421387256"] = []byte("\xff\xd8\xff jpeg bytes")
	g := startGateway(t, graph)
	if r := mustDeliver(t, g, fixture(t, "whatsapp_media.json")); r.Messages != 3 {
		t.Fatalf("receipt %+v", r)
	}
	evs := g.Events("sb.conv.*.message", 3, 20*time.Second)
	img := evs[0].Message
	if img.From.Kind != "phone" || img.From.Value != "+16505551234" || img.From.Name != "Sheena Nelson" || img.Text != "The box as delivered" {
		t.Fatalf("first message %+v", img)
	}
	a := img.Attachments[0]
	if a.Key == "" || a.Size != int64(len(graph.media["1003383421387256"])) {
		t.Fatalf("image not fetched: %+v", a)
	}
	status, data := g.Do("GET", "/v1/attachments/"+a.Key, apptest.Token, nil)
	if status != 200 || !bytes.Equal(data, graph.media["1003383421387256"]) {
		t.Fatalf("stored attachment: %d %q", status, data)
	}
	info := graph.requests("GET", "/v23.0/1003383421387256")
	if len(info) == 0 || info[0].Auth != "Bearer "+whatsappToken || info[0].Query != "phone_number_id="+phoneID {
		t.Fatalf("media URL lookup: %+v", info)
	}
	// The document the fake does not have is left as a reference with the problem noted.
	if doc := evs[1].Message.Attachments[0]; doc.Key != "" || doc.Problem == "" || doc.URL != "whatsapp-media:1003383421387299" {
		t.Fatalf("missing media: %+v", doc)
	}
}
