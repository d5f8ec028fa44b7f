package app_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/cmd/switchboard/app/apptest"
	"github.com/switchboardhq/switchboard/connectors/twilio/twiliotest"
	"github.com/switchboardhq/switchboard/router/rules"
	"github.com/switchboardhq/switchboard/schema"
)

const surveyAgents = `
router:
  agents:
    - {id: ann, skills: [general]}
`

const surveyRulesAPI = `
queues: {general: {skills: [general]}, recovery: {skills: [general]}}
default_queue: general
surveys:
  - name: csat
    kind: csat
    comment: 1h
    recovery: {queue: recovery}
`

// surveyOf returns the survey events of evs.
func surveyOf(evs []*schema.Event) []*schema.Event {
	var out []*schema.Event
	for _, e := range evs {
		if e.Survey != nil {
			out = append(out, e)
		}
	}
	return out
}

func TestSurveySmokeAPI(t *testing.T) {
	g := apptest.Start(t, routingConfig(t, surveyAgents, surveyRulesAPI))
	setPresence(t, g, "ann", rules.Available)
	g.PostAPI("q1", "cust@example.com", "my order is late")
	evs := waitFor(t, g, "sb.conv.>", 10*time.Second, atLeast(1, schema.EventAssigned))
	conv := evs[0].ConversationID
	if st, body := g.Do("POST", "/v1/conversations/"+conv+"/resolve", apptest.Token, map[string]string{"reason": "done"}); st/100 != 2 {
		t.Fatalf("resolve: %d %s", st, body)
	}
	evs = waitFor(t, g, "sb.conv."+conv+".>", 10*time.Second, atLeast(1, schema.EventSurveySent))
	g.PostAPI("a1", "cust@example.com", "2")
	evs = waitFor(t, g, "sb.conv."+conv+".>", 10*time.Second, atLeast(1, schema.EventSurveyAnswered))
	g.PostAPI("a2", "cust@example.com", "it took a week")
	evs = waitFor(t, g, "sb.conv."+conv+".>", 10*time.Second, atLeast(2, schema.EventSurveyAnswered))
	t.Log(apptest.Sprint(evs))
	all := waitFor(t, g, "sb.conv.>", 10*time.Second, atLeast(2, schema.EventOpened))
	t.Log(apptest.Sprint(all))
}

// twilioSurveyGateway is twilioGateway with a rules file holding survey policies.
func twilioSurveyGateway(t *testing.T, rulesYAML string) (*apptest.Gateway, *twiliotest.API) {
	t.Helper()
	fake := twiliotest.NewAPI(twSID, twToken)
	t.Cleanup(fake.Close)
	t.Setenv("APPTEST_TWILIO_TOKEN", twToken)
	yaml := `
  twilio:
    accounts:
      main:
        account_sid: ` + twSID + `
        auth_token: {env: APPTEST_TWILIO_TOKEN}
        numbers: ["+14155550100", "whatsapp:+14155238886"]
        api_url: ` + fake.URL + `
http:
  public_url: ` + twPublic + `
`
	return apptest.Start(t, routingConfig(t, yaml+surveyAgents, rulesYAML)), fake
}

// twilioForm is an inbound Twilio message form (signed by twilioPost).
func twilioForm(sid, from, to, body string, extra ...string) []byte {
	v := url.Values{"MessageSid": {sid}, "SmsSid": {sid}, "AccountSid": {twSID}, "From": {from}, "To": {to}, "Body": {body},
		"NumMedia": {"0"}, "ApiVersion": {"2010-04-01"}}
	for i := 0; i+1 < len(extra); i += 2 {
		v.Set(extra[i], extra[i+1])
	}
	return []byte(v.Encode())
}

// sentBodies are the CreateMessage calls' forms so far.
func createCalls(fake *twiliotest.API) []url.Values {
	var out []url.Values
	for _, c := range fake.Calls() {
		if strings.HasSuffix(c.Path, "/Messages.json") {
			out = append(out, c.Form)
		}
	}
	return out
}

// awaitCreate waits for the n-th CreateMessage call and returns its form.
func awaitCreate(t *testing.T, fake *twiliotest.API, n int) url.Values {
	t.Helper()
	var f url.Values
	apptest.Eventually(t, 15*time.Second, func() error {
		calls := createCalls(fake)
		if len(calls) < n {
			return fmt.Errorf("%d messages sent, want %d", len(calls), n)
		}
		f = calls[n-1]
		return nil
	})
	return f
}

const smsSurveyRules = `
queues: {general: {skills: [general]}}
default_queue: general
surveys:
  - name: csat
    kind: csat
    comment: 1h
`

// TestSurveyBySMS: on a text channel the question is numbered ("Reply with a number"); "5/5"
// answers it, the comment prompt follows, the next words are the comment, then thanks; an
// answer out of range is asked again once; a new question is not an answer and is routed.
func TestSurveyBySMS(t *testing.T) {
	g, fake := twilioSurveyGateway(t, smsSurveyRules)
	post := func(form []byte) {
		t.Helper()
		if st, body := twilioPost(t, g, twInbound, form); st != 200 {
			t.Fatalf("inbound: %d %s", st, body)
		}
	}
	post(twilioForm("SM00000000000000000000000000000001", "+14155552671", "+14155550100", "my order is late"))
	conv := g.Events("sb.conv.*.opened", 1, 15*time.Second)[0].ConversationID
	if st, body := g.Do("POST", "/v1/conversations/"+conv+"/resolve", apptest.Token, nil); st != 202 {
		t.Fatalf("resolve: %d %s", st, body)
	}
	q := awaitCreate(t, fake, 1)
	want := "How satisfied are you with the help you received?\n1 – Very dissatisfied\n2 – Dissatisfied\n3 – Neutral\n4 – Satisfied\n5 – Very satisfied\nReply with a number from 1 (very dissatisfied) to 5 (very satisfied)."
	if q.Get("Body") != want || q.Get("To") != "+14155552671" || q.Get("ContentSid") != "" {
		t.Fatalf("SMS survey: %v", q)
	}
	post(twilioForm("SM00000000000000000000000000000002", "+14155552671", "+14155550100", "5/5"))
	if c := awaitCreate(t, fake, 2); c.Get("Body") != "Thank you! Is there anything you would like to add? Just reply here." {
		t.Fatalf("after the score: %v, want the comment prompt", c)
	}
	post(twilioForm("SM00000000000000000000000000000003", "+14155552671", "+14155550100", "Quick and friendly, thanks"))
	if c := awaitCreate(t, fake, 3); c.Get("Body") != "Thank you for your feedback!" {
		t.Fatalf("after the comment: %v, want thanks", c)
	}
	answers := g.Events("sb.conv."+conv+".survey_answered", 2, 15*time.Second)
	a1, a2 := answers[0].Survey, answers[1].Survey
	if *a1.Score != 5 || a1.Source != "text" || a1.CommentUntil == nil || a1.Previous != nil ||
		*a2.Score != 5 || a2.Comment != "Quick and friendly, thanks" || a2.Previous == nil || *a2.Previous != 5 {
		t.Fatalf("answers %+v / %+v", a1, a2)
	}
	if c := getConv(t, g, conv); c.Status != schema.ConversationResolved || c.Survey.Comment != "Quick and friendly, thanks" {
		t.Fatalf("conversation %s, survey %+v", c.Status, c.Survey)
	}

	// Another customer: 7 is out of range (asked again), "four" answers.
	post(twilioForm("SM00000000000000000000000000000011", "+14155550111", "+14155550100", "hello"))
	conv2 := g.Events("sb.conv.*.opened", 2, 15*time.Second)[1].ConversationID
	if st, _ := g.Do("POST", "/v1/conversations/"+conv2+"/resolve", apptest.Token, nil); st != 202 {
		t.Fatal("resolve")
	}
	awaitCreate(t, fake, 4)
	post(twilioForm("SM00000000000000000000000000000012", "+14155550111", "+14155550100", "7"))
	if c := awaitCreate(t, fake, 5); c.Get("Body") != "Sorry, I did not get that. Please answer with a number from 1 to 5." {
		t.Fatalf("out of range: %v, want the re-ask", c)
	}
	post(twilioForm("SM00000000000000000000000000000013", "+14155550111", "+14155550100", "four"))
	if a := g.Events("sb.conv."+conv2+".survey_answered", 1, 15*time.Second)[0].Survey; *a.Score != 4 {
		t.Fatalf("four: %+v", a)
	}

	// A third: a new question instead of a score is routed as a message (a new conversation).
	post(twilioForm("SM00000000000000000000000000000021", "+14155550122", "+14155550100", "hi"))
	conv3 := g.Events("sb.conv.*.opened", 3, 15*time.Second)[2].ConversationID
	if st, _ := g.Do("POST", "/v1/conversations/"+conv3+"/resolve", apptest.Token, nil); st != 202 {
		t.Fatal("resolve")
	}
	g.Events("sb.conv."+conv3+".survey_sent", 1, 15*time.Second)
	post(twilioForm("SM00000000000000000000000000000022", "+14155550122", "+14155550100", "Can I change my delivery address?"))
	opened := g.Events("sb.conv.*.opened", 4, 15*time.Second)[3]
	evs := g.Events("sb.conv."+opened.ConversationID+".message", 1, 15*time.Second)
	if evs[0].Message.Text != "Can I change my delivery address?" || opened.CustomerID != getConv(t, g, conv3).CustomerID {
		t.Fatalf("the new question went to %s: %+v", opened.ConversationID, evs[0].Message)
	}
	if c := getConv(t, g, conv3); c.Survey.Status != schema.SurveyStatusSent || c.Survey.Score != nil {
		t.Fatalf("the question counted for the survey: %+v", c.Survey)
	}
}

func getConv(t *testing.T, g *apptest.Gateway, id string) *schema.Conversation {
	t.Helper()
	st, raw := g.Do("GET", "/v1/conversations/"+id, apptest.Token, nil)
	var c schema.Conversation
	if st != 200 || json.Unmarshal(raw, &c) != nil {
		t.Fatalf("conversation %s: %d %s", id, st, raw)
	}
	return &c
}

const waSurveyRules = `
queues: {general: {skills: [general]}}
default_queue: general
surveys:
  - name: csat
    kind: csat
`

// TestSurveyOnTwilioWhatsApp: inside the window the question is a list picker created once
// through the Content API (the exact request checked) and sent by Content SID; the list
// reply answers it. The second survey reuses the content.
func TestSurveyOnTwilioWhatsApp(t *testing.T) {
	g, fake := twilioSurveyGateway(t, waSurveyRules)
	for i, from := range []string{"whatsapp:+447911123456", "whatsapp:+447911123457"} {
		sid := fmt.Sprintf("SM%032d", 100+i)
		if st, body := twilioPost(t, g, twInbound, twilioForm(sid, from, "whatsapp:+14155238886", "hello")); st != 200 {
			t.Fatalf("inbound: %d %s", st, body)
		}
		conv := g.Events("sb.conv.*.opened", i+1, 15*time.Second)[i].ConversationID
		if st, _ := g.Do("POST", "/v1/conversations/"+conv+"/resolve", apptest.Token, nil); st != 202 {
			t.Fatal("resolve")
		}
		m := awaitCreate(t, fake, 2*i+1)
		if !strings.HasPrefix(m.Get("ContentSid"), "HX") || m.Get("Body") != "" || m.Get("To") != from {
			t.Fatalf("WhatsApp survey %d: %v", i, m)
		}
		// The list reply: Twilio posts the chosen item's id and title.
		reply := twilioForm(fmt.Sprintf("SM%032d", 200+i), from, "whatsapp:+14155238886", "★★★★", "ListId", "4", "ListTitle", "★★★★", "MessageType", "interactive")
		if st, body := twilioPost(t, g, twInbound, reply); st != 200 {
			t.Fatalf("reply: %d %s", st, body)
		}
		if a := g.Events("sb.conv."+conv+".survey_answered", 1, 15*time.Second)[0].Survey; *a.Score != 4 {
			t.Fatalf("answer %+v", a)
		}
		awaitCreate(t, fake, 2*i+2) // thanks
	}
	var content []twiliotest.Call
	for _, c := range fake.Calls() {
		if c.Path == "/v1/Content" {
			content = append(content, c)
		}
	}
	if len(content) != 1 {
		t.Fatalf("%d Content API calls, want 1 (the second survey reuses the content)", len(content))
	}
	var req struct {
		Language string `json:"language"`
		Types    struct {
			List *struct {
				Body, Button string
				Items        []struct{ Id, Item, Description string }
			} `json:"twilio/list-picker"`
			Text *struct{ Body string } `json:"twilio/text"`
		} `json:"types"`
	}
	if err := json.Unmarshal(content[0].JSON, &req); err != nil || req.Types.List == nil {
		t.Fatalf("content request %s: %v", content[0].JSON, err)
	}
	l := req.Types.List
	if req.Language != "en" || l.Body != "How satisfied are you with the help you received?" || l.Button != "Rate us" || len(l.Items) != 5 ||
		l.Items[4].Id != "5" || l.Items[4].Item != "★★★★★" || l.Items[4].Description != "Very satisfied" || req.Types.Text == nil {
		t.Fatalf("content request %s", content[0].JSON)
	}
}
