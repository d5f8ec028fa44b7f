package app_test

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/cmd/switchboard/app/apptest"
	"github.com/switchboardhq/switchboard/connectors/twilio/twiliotest"
	"github.com/switchboardhq/switchboard/pipeline/streams"
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
  - name: slow
    kind: csat
    when: {customer: {tier: slow}}
    delay: 3s
  - name: brief
    kind: csat
    when: {customer: {tier: brief}}
    reminder: 1s
    expire: 3s
  - name: csat
    kind: csat
    comment: 1h
    once_per: 720h
    recovery: {queue: recovery}
`

// callbacks records the API channel's callback deliveries.
type callbacks struct {
	mu   sync.Mutex
	got  []apiDelivery
	srv  *httptest.Server
	seen map[string]bool
}

type apiDelivery struct {
	Type string          `json:"type"`
	Data *schema.Message `json:"data"`
}

func newCallbacks(t *testing.T) *callbacks {
	cb := &callbacks{seen: map[string]bool{}}
	cb.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var d apiDelivery
		if err := json.NewDecoder(r.Body).Decode(&d); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		cb.mu.Lock()
		if !cb.seen[r.Header.Get("webhook-id")] {
			cb.seen[r.Header.Get("webhook-id")] = true
			cb.got = append(cb.got, d)
		}
		cb.mu.Unlock()
	}))
	t.Cleanup(cb.srv.Close)
	return cb
}

// await waits for a delivery to `to` whose survey step is step and returns it.
func (cb *callbacks) await(t *testing.T, to, step string) apiDelivery {
	t.Helper()
	var out apiDelivery
	apptest.Eventually(t, 15*time.Second, func() error {
		cb.mu.Lock()
		defer cb.mu.Unlock()
		for _, d := range cb.got {
			if d.Data != nil && len(d.Data.To) > 0 && d.Data.To[0].Value == to && d.Data.Survey != nil && d.Data.Survey.Step == step {
				out = d
				return nil
			}
		}
		return fmt.Errorf("no %s callback to %s among %d", step, to, len(cb.got))
	})
	return out
}

func postAPI(t *testing.T, g *apptest.Gateway, body map[string]any) {
	t.Helper()
	if st, raw := g.Do("POST", "/v1/channels/api/demo/messages", apptest.Token, body); st != http.StatusAccepted {
		t.Fatalf("post %v: %d %s", body, st, raw)
	}
}

// openFor posts a customer's first message and returns its conversation and customer.
func openFor(t *testing.T, g *apptest.Gateway, n int, from, tier string) (string, string) {
	t.Helper()
	postAPI(t, g, map[string]any{"external_id": "first-" + from, "from": from, "text": "I need help"})
	ev := g.Events("sb.conv.*.opened", n, 15*time.Second)[n-1]
	if tier != "" {
		if st, body := g.Do("PATCH", "/v1/customers/"+ev.CustomerID, apptest.Token, map[string]any{"attributes": map[string]string{"tier": tier}}); st != 200 {
			t.Fatalf("tier: %d %s", st, body)
		}
	}
	return ev.ConversationID, ev.CustomerID
}

func resolve(t *testing.T, g *apptest.Gateway, conv string) {
	t.Helper()
	if st, body := g.Do("POST", "/v1/conversations/"+conv+"/resolve", apptest.Token, map[string]string{"reason": "done"}); st != 202 {
		t.Fatalf("resolve: %d %s", st, body)
	}
}

// TestSurveyLifecycleOnTheAPIChannel walks the survey rules on the API channel, whose callback
// carries a message.survey: a tapped payload answers, a double tap counts once, a changed
// answer replaces, the comment window takes the next words; a bad score opens a recovery
// task; once_per samples the customer out; an opt-out, a reopening before the send and
// expiry (after a reminder) are recorded; a survey asked for by REST goes out at once, one at
// a time. The survey report equals the figures counted here from the scenario.
func TestSurveyLifecycleOnTheAPIChannel(t *testing.T) {
	cb := newCallbacks(t)
	t.Setenv("APPTEST_CALLBACK_SECRET", "whsec_c2VjcmV0LWNhbGxiYWNrLWtleS0xMjM0NTY3OA==")
	cfg := strings.Replace(routingConfig(t, surveyAgents, surveyRulesAPI), "demo: {token: {env: APPTEST_TOKEN}}",
		"demo: {token: {env: APPTEST_TOKEN}, callback: {url: "+cb.srv.URL+", secret: {env: APPTEST_CALLBACK_SECRET}}}", 1)
	g := apptest.Start(t, cfg)

	// A: answered by tap (2), tapped again, changed to 4 by text, then a comment.
	convA, _ := openFor(t, g, 1, "a@example.com", "")
	resolve(t, g, convA)
	q := cb.await(t, "a@example.com", schema.SurveyStepQuestion)
	if q.Type != "message.survey" || q.Data.Kind != schema.KindSurvey || q.Data.Choices == nil || len(q.Data.Choices.Options) != 5 ||
		q.Data.Survey.Kind != schema.SurveyCSAT || q.Data.Survey.Min != 1 || q.Data.Survey.Max != 5 {
		t.Fatalf("survey callback %+v", q)
	}
	two := q.Data.Choices.Options[1].Payload
	postAPI(t, g, map[string]any{"external_id": "a-tap", "from": "a@example.com", "payload": two, "text": "★★"})
	postAPI(t, g, map[string]any{"external_id": "a-tap-again", "from": "a@example.com", "payload": two, "text": "★★"})
	cb.await(t, "a@example.com", schema.SurveyStepComment)
	postAPI(t, g, map[string]any{"external_id": "a-change", "from": "a@example.com", "text": "4"})
	postAPI(t, g, map[string]any{"external_id": "a-comment", "from": "a@example.com", "text": "Slow at first, then fine"})
	answers := g.Events("sb.conv."+convA+".survey_answered", 3, 15*time.Second)
	if s := answers[0].Survey; *s.Score != 2 || s.Source != "button" || s.Recovery != "recovery" || s.RecoveryConversation == "" {
		t.Fatalf("first answer %+v", s)
	}
	if s := answers[1].Survey; *s.Score != 4 || *s.Previous != 2 || s.Source != "text" {
		t.Fatalf("changed answer %+v", s)
	}
	if s := answers[2].Survey; *s.Score != 4 || s.Comment != "Slow at first, then fine" {
		t.Fatalf("comment %+v", s)
	}
	if c := getConv(t, g, convA); c.Status != schema.ConversationResolved || *c.Survey.Score != 4 {
		t.Fatalf("A after the answers: %s %+v", c.Status, c.Survey)
	}
	// The bad first score opened a recovery task in the recovery queue, with the answer as
	// its reason; it is the customer's current conversation.
	recovery := answers[0].Survey.RecoveryConversation
	rq := g.Events("sb.conv."+recovery+".>", 2, 15*time.Second)
	if rq[0].Type != schema.EventOpened || !strings.Contains(rq[0].Reason, "CSAT 2 of 5 on conversation "+convA) ||
		rq[1].Routing == nil || rq[1].Routing.Queue != "recovery" {
		t.Fatalf("recovery task:\n%s", apptest.Sprint(rq))
	}
	// once_per: resolving the recovery task asks nothing (surveyed minutes ago).
	resolve(t, g, recovery)
	if s := g.Events("sb.conv."+recovery+".survey_skipped", 1, 15*time.Second)[0].Survey; !strings.Contains(s.Reason, "sampled out") {
		t.Fatalf("sampling: %+v", s)
	}

	// B opted out.
	convB, custB := openFor(t, g, 3, "b@example.com", "")
	if st, body := g.Do("PATCH", "/v1/customers/"+custB, apptest.Token, map[string]any{"attributes": map[string]string{"survey_opt_out": "true"}}); st != 200 {
		t.Fatalf("opt out: %d %s", st, body)
	}
	resolve(t, g, convB)
	if s := g.Events("sb.conv."+convB+".survey_skipped", 1, 15*time.Second)[0].Survey; !strings.Contains(s.Reason, "opted out") {
		t.Fatalf("opt-out: %+v", s)
	}

	// C: asked for through REST while open; a second request is refused; "5" answers.
	convC, _ := openFor(t, g, 4, "c@example.com", "")
	if st, body := g.Do("POST", "/v1/conversations/"+convC+"/survey", apptest.Token, map[string]string{"kind": "csat"}); st != 202 {
		t.Fatalf("request: %d %s", st, body)
	}
	cb.await(t, "c@example.com", schema.SurveyStepQuestion)
	if st, body := g.Do("POST", "/v1/conversations/"+convC+"/survey", apptest.Token, nil); st != 409 || !strings.Contains(string(body), "survey_pending") {
		t.Fatalf("second request: %d %s", st, body)
	}
	if st, _ := g.Do("POST", "/v1/conversations/"+convC+"/survey", apptest.Token, map[string]string{"policy": "nope"}); st != 400 {
		t.Fatalf("unknown policy: %d", st)
	}
	postAPI(t, g, map[string]any{"external_id": "c-five", "from": "c@example.com", "text": "5"})
	if s := g.Events("sb.conv."+convC+".survey_answered", 1, 15*time.Second)[0].Survey; *s.Score != 5 {
		t.Fatalf("C: %+v", s)
	}

	// D (delay 3s): reopened before the survey went out.
	convD, _ := openFor(t, g, 5, "d@example.com", "slow")
	resolve(t, g, convD)
	g.Events("sb.conv."+convD+".survey_scheduled", 1, 15*time.Second)
	if st, body := g.Do("POST", "/v1/conversations/"+convD+"/reopen", apptest.Token, nil); st != 202 {
		t.Fatalf("reopen: %d %s", st, body)
	}
	if s := g.Events("sb.conv."+convD+".survey_skipped", 1, 15*time.Second)[0].Survey; !strings.Contains(s.Reason, "reopened") {
		t.Fatalf("D: %+v", s)
	}

	// E (reminder 1s, expire 3s): reminded, then expired; a later "5" is an ordinary message.
	convE, _ := openFor(t, g, 6, "e@example.com", "brief")
	resolve(t, g, convE)
	sent := g.Events("sb.conv."+convE+".survey_sent", 2, 15*time.Second)
	if sent[0].Survey.Reminder || !sent[1].Survey.Reminder {
		t.Fatalf("E sends: %+v / %+v", sent[0].Survey, sent[1].Survey)
	}
	if r := cb.await(t, "e@example.com", schema.SurveyStepReminder); !strings.HasPrefix(r.Data.Choices.Prompt, "A quick reminder:") {
		t.Fatalf("reminder %+v", r.Data.Choices)
	}
	exp := g.Events("sb.conv."+convE+".survey_expired", 1, 15*time.Second)[0]
	if late := exp.At.Sub(sent[0].At); late < 3*time.Second || late > 6*time.Second {
		t.Fatalf("expired %s after the send, want 3s", late)
	}
	postAPI(t, g, map[string]any{"external_id": "e-late", "from": "e@example.com", "text": "5"})
	if ev := g.Events("sb.conv.*.opened", 7, 15*time.Second)[6]; ev.ConversationID == convE {
		t.Fatal("the late answer reopened nothing, it should start a conversation")
	}
	if n := g.StreamCount(streams.StreamConversations, "sb.conv."+convE+".survey_answered"); n != 0 {
		t.Fatalf("a late answer counted: %d", n)
	}

	// Figures counted from the scenario: sent A, C, E (reminders not counted); answers A (4,
	// the latest) and C (5): both satisfied, average 4.5, response rate 2/3; expired E;
	// skipped: the recovery task (sampled), B (opted out), D (reopened).
	apptest.Eventually(t, 15*time.Second, func() error {
		st, raw := g.Do("GET", "/v1/reports/surveys", apptest.Token, nil)
		var rep struct {
			Rows []struct {
				CSAT struct {
					Sent, Answers, Satisfied int64
					ResponseRate             *float64 `json:"response_rate"`
					Percent                  *float64 `json:"csat_percent"`
					Average                  *float64
				}
				Expired, Skipped int64
			}
		}
		if st != 200 || json.Unmarshal(raw, &rep) != nil || len(rep.Rows) != 1 {
			return fmt.Errorf("report: %d %s", st, raw)
		}
		r := rep.Rows[0]
		c := r.CSAT
		if c.Sent != 3 || c.Answers != 2 || c.Satisfied != 2 || *c.Percent != 100 || *c.Average != 4.5 ||
			math.Abs(*c.ResponseRate-2.0/3) > 1e-9 || r.Expired != 1 || r.Skipped != 3 {
			return fmt.Errorf("report row %+v (csat %+v)", r, c)
		}
		return nil
	})
	_, metrics := g.Do("GET", "/metrics", "", nil)
	for _, want := range []string{`switchboard_survey_answers_total{channel="api",kind="csat",score="2"} 1`,
		`switchboard_survey_answers_total{channel="api",kind="csat",score="4"} 2`,
		`switchboard_surveys_total{kind="csat",outcome="expired"} 1`} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// twilioSurveyGateway is twilioGateway with a rules file holding survey policies.
func twilioSurveyGateway(t *testing.T, rulesYAML string) (*apptest.Gateway, *twiliotest.API) {
	t.Helper()
	fake := twiliotest.NewAPI(twSID, twToken)
	t.Cleanup(fake.Close)
	t.Setenv("APPTEST_TWILIO_TOKEN", twToken)
	return apptest.Start(t, routingConfig(t, twilioSection(fake)+surveyAgents, rulesYAML)), fake
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
    whatsapp_templates:
      main: {name: HX11112222333344445555666677778888, variables: {"1": "{name}"}}
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
	// A customer who last wrote 25 hours ago gets the approved template, with their name.
	old := sms("SMold0000000000000000000000000001", "+447911123458", "hello?")
	old.Channel, old.Account, old.ReceivedAt = schema.ChannelWhatsApp, "main", time.Now().Add(-25*time.Hour)
	old.From.Name, old.Profile = "Ana García", &schema.Profile{Name: "Ana García"}
	publish(t, g, old)
	conv := g.Events("sb.conv.*.opened", 3, 15*time.Second)[2].ConversationID
	if st, _ := g.Do("POST", "/v1/conversations/"+conv+"/resolve", apptest.Token, nil); st != 202 {
		t.Fatal("resolve")
	}
	tpl := awaitCreate(t, fake, 5)
	if tpl.Get("ContentSid") != "HX11112222333344445555666677778888" || tpl.Get("ContentVariables") != `{"1":"Ana García"}` ||
		tpl.Get("Body") != "" || tpl.Get("To") != "whatsapp:+447911123458" {
		t.Fatalf("outside the window: %v", tpl)
	}
	if s := g.Events("sb.conv."+conv+".survey_sent", 1, 15*time.Second)[0].Survey; s.Template != "HX11112222333344445555666677778888" {
		t.Fatalf("survey_sent %+v", s)
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
