package app_test

import (
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/cmd/switchboard/app/apptest"
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
