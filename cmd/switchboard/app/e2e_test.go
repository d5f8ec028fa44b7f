package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/switchboardhq/switchboard/cmd/switchboard/app/apptest"
	"github.com/switchboardhq/switchboard/pipeline/streams"
	"github.com/switchboardhq/switchboard/schema"
	"github.com/switchboardhq/switchboard/schema/schematest"
)

func TestMessageBecomesConversationEvents(t *testing.T) {
	g := apptest.Start(t, apptest.DefaultConfig)
	id := g.PostAPI("ext-1", "Alice@Example.com", "hello")

	evs := g.Events("sb.conv.>", 2, 10*time.Second)
	if evs[0].Type != schema.EventOpened || evs[1].Type != schema.EventMessage {
		t.Fatalf("events:\n%s", apptest.Sprint(evs))
	}
	for _, e := range evs {
		schematest.Check(t, "event.v1.json", e)
	}
	msg := evs[1].Message
	if msg.ID != id || msg.Text != "hello" || msg.From.Value != "alice@example.com" || msg.From.Kind != "email" {
		t.Fatalf("message event carries %+v", msg)
	}
	if evs[0].Seq != 1 || evs[1].Seq != 2 || evs[1].ConversationID != evs[0].ConversationID {
		t.Fatalf("bad sequence:\n%s", apptest.Sprint(evs))
	}
	if msg.Raw != nil {
		t.Fatal("events must not carry the raw payload")
	}

	apptest.Eventually(t, 5*time.Second, func() error {
		status, body := g.Do("GET", "/v1/messages/"+id, apptest.Token, nil)
		var m schema.Message
		_ = json.Unmarshal(body, &m)
		if status != 200 || m.ConversationID != evs[0].ConversationID || len(m.Raw) == 0 {
			return fmt.Errorf("GET message: %d %s", status, body)
		}
		return schematest.Validate("message.v1.json", body)
	})
	// The message is stored in its event (and, raw, in SB_INBOUND) only: sb_messages holds
	// one index key, 28 bytes for this message, not a key or a copy of its own.
	kv, err := g.JS.KeyValue(context.Background(), streams.BucketMessages)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := kv.ListKeys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for k := range keys.Keys() {
		got = append(got, k)
	}
	if len(got) != 1 || !strings.HasPrefix(got[0], "ix.") {
		t.Fatalf("sb_messages keys %v, want one index key", got)
	}
	if rec, err := kv.Get(context.Background(), got[0]); err != nil || len(rec.Value()) != 28 {
		t.Fatalf("index entry: %v %v", rec, err)
	}
	status, body := g.Do("GET", "/v1/conversations/"+evs[0].ConversationID, apptest.Token, nil)
	var c schema.Conversation
	_ = json.Unmarshal(body, &c)
	if status != 200 || c.Status != schema.ConversationOpen || c.Messages != 1 || c.LastSeq != 2 ||
		c.ReplyRoute.Channel != schema.ChannelAPI || c.ReplyRoute.To.Value != "alice@example.com" {
		t.Fatalf("GET conversation: %d %s", status, body)
	}
	schematest.Check(t, "conversation.v1.json", body)
	status, body = g.Do("GET", "/v1/customers/"+c.CustomerID, apptest.Token, nil)
	if status != 200 {
		t.Fatalf("GET customer: %d %s", status, body)
	}
	schematest.Check(t, "customer.v1.json", body)
	status, body = g.Do("GET", "/v1/conversations/"+c.ID+"/events", apptest.Token, nil)
	var list struct{ Events []schema.Event }
	_ = json.Unmarshal(body, &list)
	if status != 200 || len(list.Events) != 2 || list.Events[1].Message.ID != id {
		t.Fatalf("GET events: %d %s", status, body)
	}
	status, body = g.Do("GET", "/v1/conversations?customer_id="+c.CustomerID+"&status=open", apptest.Token, nil)
	if status != 200 || !strings.Contains(string(body), c.ID) {
		t.Fatalf("list conversations: %d %s", status, body)
	}
}

func TestDuplicatePostsStoreOneMessage(t *testing.T) {
	g := apptest.Start(t, apptest.DefaultConfig)
	var wg sync.WaitGroup
	ids := make([]string, 8)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ids[i] = g.PostAPI("same-id", "bob@example.com", "hi once")
		}()
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("duplicate posts got different ids: %v", ids)
		}
	}
	g.PostAPI("other-id", "bob@example.com", "second message")
	evs := g.Events("sb.conv.*.message", 2, 10*time.Second)
	if evs[0].Message.ID != ids[0] || evs[1].Message.Text != "second message" {
		t.Fatalf("message events:\n%s", apptest.Sprint(evs))
	}
	if n := g.StreamCount(streams.StreamInbound, ""); n != 2 {
		t.Fatalf("SB_INBOUND holds %d messages, want 2", n)
	}
	time.Sleep(300 * time.Millisecond) // a stray duplicate event would have arrived by now
	if n := g.StreamCount(streams.StreamConversations, "sb.conv.*.message"); n != 2 {
		t.Fatalf("%d message events, want 2", n)
	}
}

func TestSendersAreOrderedConversations(t *testing.T) {
	g := apptest.Start(t, apptest.DefaultConfig)
	const senders, per = 10, 10
	var wg sync.WaitGroup
	for s := 0; s < senders; s++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < per; i++ { // each sender in order; senders in parallel
				g.PostAPI(fmt.Sprintf("s%d-m%d", s, i), fmt.Sprintf("sender%d@example.com", s), fmt.Sprintf("%d", i))
			}
		}()
	}
	wg.Wait()
	evs := g.Events("sb.conv.*.message", senders*per, 20*time.Second)
	byConv := map[string][]*schema.Event{}
	for _, e := range evs {
		byConv[e.ConversationID] = append(byConv[e.ConversationID], e)
	}
	if len(byConv) != senders {
		t.Fatalf("%d conversations, want %d", len(byConv), senders)
	}
	for conv, list := range byConv {
		if len(list) != per {
			t.Fatalf("conversation %s has %d messages, want %d", conv, len(list), per)
		}
		sender := list[0].Message.From.Value
		for i, e := range list {
			if e.Message.Text != fmt.Sprint(i) || e.Message.From.Value != sender {
				t.Fatalf("conversation %s out of order at %d: %q from %s", conv, i, e.Message.Text, e.Message.From.Value)
			}
			if e.Seq != uint64(i+2) { // #1 is "opened"
				t.Fatalf("conversation %s: message %d has seq %d", conv, i, e.Seq)
			}
		}
	}
}

func TestBadInputIsRefusedAndNothingPublished(t *testing.T) {
	g := apptest.Start(t, apptest.DefaultConfig)
	path := "/v1/channels/api/demo/messages"
	valid := `{"external_id":"x","from":"a@b.c","text":"hi"}`
	cases := []struct {
		name, path, token, ctype, body string
		status                         int
		field                          string
	}{
		{"no token", path, "", "application/json", valid, 401, ""},
		{"wrong token", path, "nope", "application/json", valid, 401, ""},
		{"unknown account", "/v1/channels/api/nobody/messages", apptest.Token, "application/json", valid, 401, ""},
		{"form body", path, apptest.Token, "application/x-www-form-urlencoded", "a=b", 415, ""},
		{"too large", path, apptest.Token, "application/json", `{"external_id":"x","from":"a@b.c","text":"` + strings.Repeat("a", 2<<20) + `"}`, 413, ""},
		{"malformed json", path, apptest.Token, "application/json", `{"external_id":`, 400, ""},
		{"trailing data", path, apptest.Token, "application/json", valid + `{}`, 400, ""},
		{"missing external_id", path, apptest.Token, "application/json", `{"from":"a@b.c","text":"hi"}`, 400, "external_id"},
		{"missing from", path, apptest.Token, "application/json", `{"external_id":"x","text":"hi"}`, 400, "from"},
		{"empty message", path, apptest.Token, "application/json", `{"external_id":"x","from":"a@b.c"}`, 400, "text"},
		{"unknown field", path, apptest.Token, "application/json", `{"external_id":"x","from":"a@b.c","text":"hi","txet":1}`, 400, "txet"},
		{"wrong type", path, apptest.Token, "application/json", `{"external_id":7,"from":"a@b.c","text":"hi"}`, 400, "external_id"},
		{"bad base64", path, apptest.Token, "application/json", `{"external_id":"x","from":"a@b.c","attachments":[{"data":"%%%"}]}`, 400, "attachments[0].data"},
		{"invalid utf-8 text", path, apptest.Token, "application/json", "{\"external_id\":\"x\",\"from\":\"a@b.c\",\"text\":\"caf\xe9 \xff\"}", 400, "text"},
		{"invalid utf-8 nested", path, apptest.Token, "application/json", "{\"external_id\":\"x\",\"from\":\"a@b.c\",\"attachments\":[{\"url\":\"https://x.example/a\"},{\"url\":\"https://x.example/b\",\"name\":\"\xc3(\"}]}", 400, "attachments[1].name"},
		{"bad attachment url", path, apptest.Token, "application/json", `{"external_id":"x","from":"a@b.c","attachments":[{"url":"file:///etc/passwd"}]}`, 400, "attachments[0].url"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, body := g.Do("POST", c.path, c.token, c.body, "Content-Type", c.ctype)
			if status != c.status {
				t.Fatalf("status %d, want %d: %s", status, c.status, body)
			}
			var e struct {
				Error struct{ Code, Message, Field string }
			}
			if err := json.Unmarshal(body, &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
				t.Fatalf("error body %q is not {error: {code, message}}", body)
			}
			if e.Error.Field != c.field {
				t.Fatalf("field %q, want %q (%s)", e.Error.Field, c.field, body)
			}
		})
	}
	if n := g.StreamCount(streams.StreamInbound, ""); n != 0 {
		t.Fatalf("bad input published %d messages", n)
	}
	apptest.Eventually(t, 5*time.Second, func() error {
		if n := g.StreamCount(streams.StreamRejected, ""); n != 3 {
			return fmt.Errorf("%d forensic records of refused credentials, want 3", n)
		}
		return nil
	})
}

func TestSchemasAreServed(t *testing.T) {
	g := apptest.Start(t, apptest.DefaultConfig)
	status, body := g.Do("GET", "/v1/schemas/event.v1.json", "", nil)
	if status != 200 || !strings.Contains(string(body), `"switchboard.event.v1"`) {
		t.Fatalf("GET schema: %d %.100s", status, body)
	}
}

func TestRESTRequiresToken(t *testing.T) {
	g := apptest.Start(t, apptest.DefaultConfig)
	if status, _ := g.Do("GET", "/v1/conversations", "", nil); status != http.StatusUnauthorized {
		t.Fatalf("no token: %d", status)
	}
	if status, _ := g.Do("GET", "/v1/conversations/cnv_nothere", apptest.Token, nil); status != http.StatusNotFound {
		t.Fatalf("unknown conversation: %d", status)
	}
}

// A provider retrying after the JetStream dedupe window has passed: the message arrives again
// with no Nats-Msg-Id protection. It must change nothing.
func TestDuplicateAfterTheDedupeWindowChangesNothing(t *testing.T) {
	g := apptest.Start(t, apptest.DefaultConfig)
	id := g.PostAPI("late-1", "hana@example.com", "once")
	first := g.Events("sb.conv.*.message", 1, 10*time.Second)[0]
	ctx := context.Background()
	st, err := g.JS.Stream(ctx, streams.StreamInbound)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := st.GetLastMsgForSubject(ctx, "sb.in.api.demo.*")
	if err != nil {
		t.Fatal(err)
	}
	late := &nats.Msg{Subject: stored.Subject, Data: stored.Data, Header: nats.Header{streams.HeaderKind: {streams.KindMessage}}}
	if _, err := g.JS.PublishMsg(ctx, late); err != nil {
		t.Fatal(err)
	}
	g.PostAPI("late-2", "hana@example.com", "after") // processed behind the late duplicate
	evs := g.Events("sb.conv.*.message", 2, 10*time.Second)
	if evs[0].Message.ID != id || evs[1].Message.Text != "after" || evs[1].Seq != first.Seq+1 {
		t.Fatalf("events after a late duplicate:\n%s", apptest.Sprint(evs))
	}
	if n := g.StreamCount(streams.StreamConversations, "sb.conv.*.message"); n != 2 {
		t.Fatalf("%d message events, want 2", n)
	}
}

// TestNotesAndIdentityChangesFollowTheServedSchema: an internal note and a link/unlink of an
// identity are events like any other, so they must validate against the event schema the
// gateway serves (a helpdesk that validates would otherwise reject every note).
func TestNotesAndIdentityChangesFollowTheServedSchema(t *testing.T) {
	g := apptest.Start(t, apptest.DefaultConfig)
	g.PostAPI("note-1", "nora@example.com", "my parcel is late")
	msg := g.Events("sb.conv.*.message", 1, 10*time.Second)[0]
	conv, cust := msg.ConversationID, msg.CustomerID
	if st, body := g.Do("POST", "/v1/conversations/"+conv+"/messages", apptest.Token,
		map[string]any{"text": "checked with the courier", "agent_id": "dana", "note": true}); st != http.StatusAccepted {
		t.Fatalf("note: %d %s", st, body)
	}
	if st, body := g.Do("POST", "/v1/customers/"+cust+"/identities", apptest.Token,
		map[string]any{"kind": "phone", "value": "+15550001111"}); st != http.StatusOK {
		t.Fatalf("link: %d %s", st, body)
	}
	if st, body := g.Do("DELETE", "/v1/customers/"+cust+"/identities/"+url.PathEscape("phone:+15550001111"), apptest.Token, nil); st != http.StatusOK {
		t.Fatalf("unlink: %d %s", st, body)
	}
	note := g.Events("sb.conv."+conv+".message", 2, 10*time.Second)[1]
	if note.Message.Kind != schema.KindNote || note.Message.Channel != "api" || note.Message.Account != "demo" {
		t.Fatalf("note event: %+v", note.Message)
	}
	custEvs := g.Events("sb.customer."+cust+".>", 2, 10*time.Second)
	for _, data := range g.StreamData(streams.StreamConversations) {
		if err := schematest.Validate("event.v1.json", data); err != nil {
			t.Errorf("%v\n%s", err, data)
		}
	}
	if custEvs[0].Type != schema.EventIdentityLinked || custEvs[1].Type != schema.EventIdentityUnlinked {
		t.Fatalf("customer events: %s", apptest.Sprint(custEvs))
	}
}

// An event on the stream that does not decode is never dropped in silence: the REST API lists
// it (with its stream sequence) beside the events it could read.
func TestRESTSurfacesAnUndecodableEvent(t *testing.T) {
	g := apptest.Start(t, apptest.DefaultConfig)
	g.PostAPI("undecodable-1", "carol@example.com", "hello")
	evs := g.Events("sb.conv.>", 2, 10*time.Second)
	conv := evs[0].ConversationID
	seq := g.PlantUndecodableEvent(conv)
	status, body := g.Do("GET", "/v1/conversations/"+conv+"/events", apptest.Token, nil)
	var list struct {
		Events      []schema.Event
		Undecodable []struct {
			StreamSeq uint64 `json:"stream_seq"`
			Subject   string
			Error     string
		}
	}
	if err := json.Unmarshal(body, &list); err != nil || status != 200 {
		t.Fatalf("GET events: %d %s", status, body)
	}
	if len(list.Events) != 2 || len(list.Undecodable) != 1 || list.Undecodable[0].StreamSeq != seq ||
		list.Undecodable[0].Subject != "sb.conv."+conv+".message" || list.Undecodable[0].Error == "" {
		t.Fatalf("GET events: %s", body)
	}
	if _, metrics := g.Do("GET", "/metrics", "", nil); !regexp.MustCompile(`(?m)^switchboard_stream_undecodable_events_total [1-9]`).Match(metrics) {
		t.Fatal("the undecodable event is not counted in /metrics")
	}
}
