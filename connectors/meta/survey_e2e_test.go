package meta_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/cmd/switchboard/app/apptest"
	"github.com/switchboardhq/switchboard/pipeline"
	"github.com/switchboardhq/switchboard/schema"
)

// surveyRouter is the router section of the survey tests: one queue, a CSAT policy sent at
// once on resolution, with an approved template for acme-wa (none for acme-wa2).
const surveyRouter = `
      acme-wa2: {phone_number_id: "106540352242923", access_token: {env: TEST_META_WA_TOKEN}}
router:
  agents: [{id: ann}]
  rules_file: %s
`

const surveyRules = `
queues: {general: {}}
default_queue: general
surveys:
  - name: csat
    kind: csat
    whatsapp_templates:
      acme-wa: {name: csat_survey, language: en_US, variables: {"1": "{name}"}}
`

func startSurveyGateway(t *testing.T, graph *fakeGraph) *apptest.Gateway {
	t.Helper()
	for k, v := range map[string]string{"TEST_META_APP_SECRET": appSecret, "TEST_META_VERIFY_TOKEN": verifyToken,
		"TEST_META_PAGE_TOKEN": pageToken, "TEST_META_IG_TOKEN": "IGQVig-token", "TEST_META_WA_TOKEN": whatsappToken} {
		t.Setenv(k, v)
	}
	rules := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(rules, []byte(surveyRules), 0o600); err != nil {
		t.Fatal(err)
	}
	return apptest.Start(t, apptest.DefaultConfig+fmt.Sprintf(metaSection, graph.URL)+fmt.Sprintf(surveyRouter, rules))
}

// waMessage is a WhatsApp Cloud webhook carrying one message from wa_id to phone number id.
func waMessage(phone, from, id, message string) []byte {
	return []byte(fmt.Sprintf(`{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":%q},"contacts":[{"profile":{"name":"Sheena Nelson"},"wa_id":%q}],"messages":[{"from":%q,"id":%q,"timestamp":"%d",%s}]}}]}]}`,
		phone, from, from, id, time.Now().Unix(), message))
}

// surveySent resolves a conversation and returns its survey_sent (or survey_skipped) event.
func resolveForSurvey(t *testing.T, g *apptest.Gateway, conv string, want schema.EventType) *schema.Event {
	t.Helper()
	if st, body := g.Do("POST", "/v1/conversations/"+conv+"/resolve", apptest.Token, map[string]string{"reason": "done"}); st != 202 {
		t.Fatalf("resolve: %d %s", st, body)
	}
	return g.Events("sb.conv."+conv+"."+string(want), 1, 15*time.Second)[0]
}

// graphBody waits for the n-th request to path (from 1) and returns its JSON body.
func graphBody(t *testing.T, f *fakeGraph, path string, n int) map[string]any {
	t.Helper()
	var v map[string]any
	apptest.Eventually(t, 15*time.Second, func() error {
		calls := f.requests("POST", path)
		if len(calls) < n {
			return fmt.Errorf("%d requests to %s, want %d", len(calls), path, n)
		}
		return json.Unmarshal(calls[n-1].Body, &v)
	})
	return v
}

// TestSurveysOnMetaChannels: a CSAT survey goes out as a WhatsApp list message, Messenger and
// Instagram quick replies; the customer's tap (or typed digit) comes back as survey_answered;
// outside WhatsApp's window the approved template goes instead, and without one nothing is
// sent and the reason is recorded. The survey report adds the answers up per channel.
func TestSurveysOnMetaChannels(t *testing.T) {
	graph := newFakeGraph(t)
	g := startSurveyGateway(t, graph)

	// WhatsApp, inside the window: a list message with five rows.
	mustDeliver(t, g, waMessage(phoneID, "16505551234", "wamid.in1", `"type":"text","text":{"body":"my parcel is late"}`))
	conv := g.Events("sb.conv.*.opened", 1, 15*time.Second)[0].ConversationID
	sent := resolveForSurvey(t, g, conv, schema.EventSurveySent)
	body := graphBody(t, graph, "/v23.0/"+phoneID+"/messages", 1)
	in := body["interactive"].(map[string]any)
	rows := in["action"].(map[string]any)["sections"].([]any)[0].(map[string]any)["rows"].([]any)
	if body["type"] != "interactive" || in["type"] != "list" || len(rows) != 5 || body["to"] != "16505551234" ||
		in["body"].(map[string]any)["text"] != "How satisfied are you with the help you received?" ||
		in["action"].(map[string]any)["button"] != "Rate us" {
		t.Fatalf("WhatsApp survey request: %v", body)
	}
	id := sent.Survey.ID
	row4 := rows[3].(map[string]any)
	if row4["id"] != "survey:"+id+":4" || row4["title"] != "★★★★" || row4["description"] != "Satisfied" {
		t.Fatalf("row 4: %v", row4)
	}
	mustDeliver(t, g, waMessage(phoneID, "16505551234", "wamid.in2",
		fmt.Sprintf(`"type":"interactive","interactive":{"type":"list_reply","list_reply":{"id":"survey:%s:4","title":"★★★★","description":"Satisfied"}}`, id)))
	ans := g.Events("sb.conv."+conv+".survey_answered", 1, 15*time.Second)[0].Survey
	if *ans.Score != 4 || ans.Source != "button" || ans.Channel != schema.ChannelWhatsApp || ans.Kind != schema.SurveyCSAT {
		t.Fatalf("WhatsApp answer: %+v", ans)
	}
	if c := conversation(t, g, conv); c.Status != schema.ConversationResolved || c.Survey.Status != schema.SurveyStatusAnswered {
		t.Fatalf("after the answer: %s, survey %+v (an answer never reopens)", c.Status, c.Survey)
	}

	// WhatsApp, outside the window: the approved template, with the customer's name.
	old := publishOld(t, g, "acme-wa", "+16505550001", "Ada Lovelace")
	sent = resolveForSurvey(t, g, old, schema.EventSurveySent)
	if thanks := graphBody(t, graph, "/v23.0/"+phoneID+"/messages", 2); thanks["type"] != "text" ||
		thanks["text"].(map[string]any)["body"] != "Thank you for your feedback!" {
		t.Fatalf("after the answer: %v, want the thanks", thanks)
	}
	body = graphBody(t, graph, "/v23.0/"+phoneID+"/messages", 3)
	tpl := body["template"].(map[string]any)
	if body["type"] != "template" || tpl["name"] != "csat_survey" || sent.Survey.Template != "csat_survey" ||
		!strings.Contains(string(mustJSON(tpl)), `"text":"Ada Lovelace"`) {
		t.Fatalf("outside the window: %v (event %+v)", body, sent.Survey)
	}

	// WhatsApp on an account without a template: not sent, and why.
	before := len(graph.requests("POST", "/v23.0/106540352242923/messages"))
	none := publishOld(t, g, "acme-wa2", "+16505550002", "Bob")
	skipped := resolveForSurvey(t, g, none, schema.EventSurveySkipped)
	if !strings.Contains(skipped.Survey.Reason, `names no approved template for account "acme-wa2"`) ||
		len(graph.requests("POST", "/v23.0/106540352242923/messages")) != before {
		t.Fatalf("no template: %q, %d sends", skipped.Survey.Reason, len(graph.requests("POST", "/v23.0/106540352242923/messages"))-before)
	}

	// Messenger: quick replies; the tap's payload answers.
	mustDeliver(t, g, messagePayload("m_in1", "where is my refund"))
	mconv := lastOpened(t, g, 4)
	sent = resolveForSurvey(t, g, mconv, schema.EventSurveySent)
	body = graphBody(t, graph, "/v23.0/"+pageID+"/messages", 1)
	msg := body["message"].(map[string]any)
	qr := msg["quick_replies"].([]any)
	if msg["text"] != "How satisfied are you with the help you received?" || len(qr) != 5 ||
		qr[4].(map[string]any)["payload"] != "survey:"+sent.Survey.ID+":5" || qr[4].(map[string]any)["content_type"] != "text" {
		t.Fatalf("Messenger survey request: %v", body)
	}
	mustDeliver(t, g, []byte(fmt.Sprintf(`{"object":"page","entry":[{"id":%q,"time":%d,"messaging":[{"sender":{"id":%q},"recipient":{"id":%q},"timestamp":%d,"message":{"mid":"m_in2","text":"★★★★★","quick_reply":{"payload":"survey:%s:5"}}}]}]}`,
		pageID, time.Now().UnixMilli(), psid, pageID, time.Now().UnixMilli(), sent.Survey.ID)))
	if a := g.Events("sb.conv."+mconv+".survey_answered", 1, 15*time.Second)[0].Survey; *a.Score != 5 || a.Source != "button" {
		t.Fatalf("Messenger answer: %+v", a)
	}

	// Instagram: quick replies too; a typed digit answers.
	mustDeliver(t, g, []byte(fmt.Sprintf(`{"object":"instagram","entry":[{"id":%q,"time":%d,"messaging":[{"sender":{"id":"7700000000000001"},"recipient":{"id":%q},"timestamp":%d,"message":{"mid":"ig_in1","text":"the app crashes"}}]}]}`,
		igID, time.Now().UnixMilli(), igID, time.Now().UnixMilli())))
	iconv := lastOpened(t, g, 5)
	resolveForSurvey(t, g, iconv, schema.EventSurveySent)
	body = graphBody(t, graph, "/v23.0/"+igID+"/messages", 1)
	if qr := body["message"].(map[string]any)["quick_replies"].([]any); len(qr) != 5 {
		t.Fatalf("Instagram survey request: %v", body)
	}
	mustDeliver(t, g, []byte(fmt.Sprintf(`{"object":"instagram","entry":[{"id":%q,"time":%d,"messaging":[{"sender":{"id":"7700000000000001"},"recipient":{"id":%q},"timestamp":%d,"message":{"mid":"ig_in2","text":"2"}}]}]}`,
		igID, time.Now().UnixMilli(), igID, time.Now().UnixMilli())))
	if a := g.Events("sb.conv."+iconv+".survey_answered", 1, 15*time.Second)[0].Survey; *a.Score != 2 || a.Source != "text" {
		t.Fatalf("Instagram answer: %+v", a)
	}

	// The report, per channel: computed here from the answers given above.
	want := map[string][3]float64{ // answers, CSAT % (4–5), average
		"whatsapp": {1, 100, 4}, "messenger": {1, 100, 5}, "instagram": {1, 0, 2},
	}
	apptest.Eventually(t, 15*time.Second, func() error {
		st, raw := g.Do("GET", "/v1/reports/surveys?group_by=channel", apptest.Token, nil)
		var rep struct {
			Rows []struct {
				Group struct{ Channel string }
				CSAT  struct {
					Sent, Answers int64
					Percent       *float64 `json:"csat_percent"`
					Average       *float64
				}
				Skipped int64
			}
		}
		if st != 200 || json.Unmarshal(raw, &rep) != nil {
			return fmt.Errorf("report: %d %s", st, raw)
		}
		got := 0
		for _, r := range rep.Rows {
			w, ok := want[r.Group.Channel]
			if !ok || r.CSAT.Answers == 0 {
				continue
			}
			if float64(r.CSAT.Answers) != w[0] || r.CSAT.Percent == nil || *r.CSAT.Percent != w[1] || *r.CSAT.Average != w[2] {
				return fmt.Errorf("%s: %+v, want %v", r.Group.Channel, r.CSAT, w)
			}
			got++
		}
		if got != len(want) {
			return fmt.Errorf("%d channels with answers in %s", got, raw)
		}
		return nil
	})
}

// publishOld stores a WhatsApp message the customer sent 25 hours ago (as the pipeline would
// have received it then) and returns its conversation.
func publishOld(t *testing.T, g *apptest.Gateway, account, phone, name string) string {
	t.Helper()
	p := pipeline.NewPublisher(g.JS, nil, g.Config.Pipeline.Partitions, pipeline.NewMetrics(nil))
	m := &schema.Message{Channel: schema.ChannelWhatsApp, Account: account, ExternalID: "wamid.old." + phone,
		From: schema.Address{Kind: "phone", Value: phone, Name: name}, Text: "hello?", ReceivedAt: time.Now().Add(-25 * time.Hour),
		Profile: &schema.Profile{Name: name}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rc, err := p.Publish(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	var conv string
	apptest.Eventually(t, 15*time.Second, func() error {
		st, raw := g.Do("GET", "/v1/messages/"+rc.ID, apptest.Token, nil)
		var v struct {
			ConversationID string `json:"conversation_id"`
		}
		_ = json.Unmarshal(raw, &v)
		if st != 200 || v.ConversationID == "" {
			return fmt.Errorf("message %s: %d", rc.ID, st)
		}
		conv = v.ConversationID
		return nil
	})
	return conv
}

// lastOpened is the conversation of the n-th opened event.
func lastOpened(t *testing.T, g *apptest.Gateway, n int) string {
	t.Helper()
	return g.Events("sb.conv.*.opened", n, 15*time.Second)[n-1].ConversationID
}

func conversation(t *testing.T, g *apptest.Gateway, id string) *schema.Conversation {
	t.Helper()
	st, raw := g.Do("GET", "/v1/conversations/"+id, apptest.Token, nil)
	var c schema.Conversation
	if st != 200 || json.Unmarshal(raw, &c) != nil {
		t.Fatalf("conversation %s: %d %s", id, st, raw)
	}
	return &c
}

func mustJSON(v any) []byte { b, _ := json.Marshal(v); return b }
