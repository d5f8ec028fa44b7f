package meta_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/cmd/switchboard/app/apptest"
)

// TestFlowOnWhatsAppAndMessenger runs the shipped triage flow: on WhatsApp the four-option
// menu is an interactive list (the exact request checked) and the tapped row answers it; the
// technical branch collects the email and hands off with it. On Messenger the menu is quick
// replies, and the "something else" branch answers from the knowledge base and ends
// contained when the customer says it helped.
func TestFlowOnWhatsAppAndMessenger(t *testing.T) {
	graph := newFakeGraph(t)
	for k, v := range map[string]string{"TEST_META_APP_SECRET": appSecret, "TEST_META_VERIFY_TOKEN": verifyToken,
		"TEST_META_PAGE_TOKEN": pageToken, "TEST_META_IG_TOKEN": "IGQVig-token", "TEST_META_WA_TOKEN": whatsappToken} {
		t.Setenv(k, v)
	}
	g := apptest.Start(t, apptest.DefaultConfig+fmtSection(graph.URL)+apptest.ShippedFlows(t, "[{id: ann, skills: [general]}]"))
	path := "/v23.0/" + phoneID + "/messages"

	mustDeliver(t, g, waMessage(phoneID, "16505551234", "wamid.f1", `"type":"text","text":{"body":"hello"}`))
	hello := graphBody(t, graph, path, 1)
	if hello["type"] != "text" || hello["text"].(map[string]any)["body"] != `Hi Sheena Nelson, this is the Acme assistant. Type "agent" at any time to talk to a person.` {
		t.Fatalf("hello: %v", hello)
	}
	menu := graphBody(t, graph, path, 2)
	want := `{"interactive":{"action":{"button":"Options","sections":[{"rows":[{"id":"flow:billing","title":"Billing"},{"id":"flow:technical","title":"Technical problem"},{"id":"flow:order","title":"Where is my order?"},{"id":"flow:other","title":"Something else"}]}]},"body":{"text":"What can I help you with?"},"type":"list"},"messaging_product":"whatsapp","recipient_type":"individual","to":"16505551234","type":"interactive"}`
	if got := string(mustJSON(menu)); got != want {
		t.Fatalf("the menu request:\n%s\nwant\n%s", got, want)
	}
	conv := g.Events("sb.conv.*.opened", 1, 15*time.Second)[0].ConversationID
	mustDeliver(t, g, waMessage(phoneID, "16505551234", "wamid.f2",
		`"type":"interactive","interactive":{"type":"list_reply","list_reply":{"id":"flow:technical","title":"Technical problem"}}`))
	if ask := graphBody(t, graph, path, 3); ask["text"].(map[string]any)["body"] != "Which email address is your account under?" {
		t.Fatalf("after the tap: %v", ask)
	}
	mustDeliver(t, g, waMessage(phoneID, "16505551234", "wamid.f3", `"type":"text","text":{"body":"sheena@example.com"}`))
	h := g.Events("sb.conv."+conv+".flow_handoff", 1, 15*time.Second)[0].Flow
	if h.Queue != "technical" || h.Answers["email"] != "sheena@example.com" || h.Answers["menu"] != "technical" {
		t.Fatalf("hand-off %+v", h)
	}
	if q := g.Events("sb.conv."+conv+".queued", 1, 15*time.Second)[0]; q.Routing.Queue != "technical" {
		t.Fatalf("queued %+v", q.Routing)
	}

	// Messenger: quick replies, then the knowledge base.
	mustDeliver(t, g, messagePayload("m_f1", "hi there"))
	mpath := "/v23.0/" + pageID + "/messages"
	mmenu := graphBody(t, graph, mpath, 2)
	qr := mmenu["message"].(map[string]any)["quick_replies"].([]any)
	if len(qr) != 4 || qr[3].(map[string]any)["payload"] != "flow:other" || qr[3].(map[string]any)["title"] != "Something else" ||
		mmenu["message"].(map[string]any)["text"] != "What can I help you with?" {
		t.Fatalf("Messenger menu: %v", mmenu)
	}
	mconv := lastOpened(t, g, 2)
	mustDeliver(t, g, quickReplyPayload("m_f2", "Something else", "flow:other"))
	graphBody(t, graph, mpath, 3)
	mustDeliver(t, g, messagePayload("m_f3", "how long does delivery take?"))
	art := graphBody(t, graph, mpath, 4)["message"].(map[string]any)["text"].(string)
	if !contains(art, "1. Delivery times and shipping costs", "https://help.acme.example/shipping") {
		t.Fatalf("the article answer: %q", art)
	}
	ask := graphBody(t, graph, mpath, 5)["message"].(map[string]any)
	if ask["text"] != "Did this answer your question?" || len(ask["quick_replies"].([]any)) != 2 {
		t.Fatalf("the follow-up: %v", ask)
	}
	mustDeliver(t, g, quickReplyPayload("m_f4", "Yes", "flow:yes"))
	if r := g.Events("sb.conv."+mconv+".resolved", 1, 15*time.Second)[0]; r.Actor != "flow" {
		t.Fatalf("resolved by %q: %s", r.Actor, r.Reason)
	}
	steps := g.Events("sb.conv."+mconv+".flow_step", 3, 5*time.Second)
	if s := steps[2].Flow.Steps; len(s) != 2 || s[1].Step != "kb" || !contains(s[1].Why, "shipping") {
		t.Fatalf("the article step: %+v", s)
	}
}

// quickReplyPayload is a Messenger quick-reply tap: the option's title as text, its payload.
func quickReplyPayload(mid, text, payload string) []byte {
	return []byte(fmt.Sprintf(`{"object":"page","entry":[{"id":%q,"time":%d,"messaging":[{"sender":{"id":%q},"recipient":{"id":%q},"timestamp":%d,"message":{"mid":%q,"text":%q,"quick_reply":{"payload":%q}}}]}]}`,
		pageID, time.Now().UnixMilli(), psid, pageID, time.Now().UnixMilli(), mid, text, payload))
}

func fmtSection(url string) string { return fmt.Sprintf(metaSection, url) }

func contains(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
