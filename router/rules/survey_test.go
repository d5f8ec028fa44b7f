package rules

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/schema"
)

const surveyRules = `
queues: {general: {}, billing: {}, recovery: {}}
default_queue: general
surveys:
  - name: vip-nps
    kind: nps
    when: {customer: {tier: gold}}
    recovery: {queue: recovery}
  - name: billing-csat
    kind: csat
    queue: [billing]
    delay: 10m
    expire: 48h
    reminder: 24h
    once_per: 720h
    comment: 1h
    recovery: {queue: recovery, at_most: 1, priority: 5}
    whatsapp_templates:
      main: {name: HX0123456789abcdef0123456789abcdef}
    default_language: en
    text:
      en: {question: "How did we do on your bill?"}
      tr: {question: "Faturanızla ilgili nasıl yardımcı olduk?", labels: [a, b, c, d, e]}
  - name: chat
    kind: csat
    when: {channel: [webchat]}
`

func TestSurveyPoliciesMatchInOrder(t *testing.T) {
	rs, err := ParseRules("rules.yaml", []byte(surveyRules), NewRoster(nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	gold := &schema.Customer{Attributes: map[string]string{"tier": "gold"}}
	chat := &schema.Message{Channel: schema.ChannelWebchat}
	sms := &schema.Message{Channel: schema.ChannelSMS}
	for _, c := range []struct {
		in   SurveyInput
		want string
	}{
		{SurveyInput{Customer: gold, Queue: "billing", Message: chat}, "vip-nps"},
		{SurveyInput{Queue: "billing", Message: chat}, "billing-csat"},
		{SurveyInput{Queue: "general", Message: chat}, "chat"},
		{SurveyInput{Queue: "general", Message: sms}, ""},
	} {
		p := rs.Survey(c.in)
		if (p == nil) != (c.want == "") || (p != nil && p.Name != c.want) {
			t.Fatalf("%+v: policy %v, want %q", c.in, p, c.want)
		}
	}
	b := rs.SurveyPolicy("billing-csat")
	if b.Delay != 10*time.Minute || b.Expire != 48*time.Hour || b.Reminder != 24*time.Hour || b.OncePer != 720*time.Hour ||
		b.Comment != time.Hour || b.RecoveryQueue != "recovery" || b.RecoveryAtMost != 1 || b.RecoveryPriority != 5 {
		t.Fatalf("billing-csat compiled to %+v", b)
	}
	if !b.Bad(1) || b.Bad(2) {
		t.Fatal("at_most 1: only a 1 is bad")
	}
	if tpl := b.Templates["main"]; tpl == nil || tpl.Name != "HX0123456789abcdef0123456789abcdef" {
		t.Fatalf("templates %+v", b.Templates)
	}
	if got := b.Language("tr-TR"); got != "tr" {
		t.Fatalf("language tr-TR picked %q", got)
	}
	if got := b.Language("de", ""); got != "en" {
		t.Fatalf("an unknown language picked %q, want the default en", got)
	}
	tr := b.Text("tr")
	if tr.Question != "Faturanızla ilgili nasıl yardımcı olduk?" || tr.Labels[4] != "e" || !strings.Contains(tr.Thanks, "teşekkür") {
		t.Fatalf("tr text %+v", tr)
	}
	nps := rs.SurveyPolicy("vip-nps")
	if nps.Expire != 72*time.Hour || nps.RecoveryAtMost != 6 || !nps.Bad(6) || nps.Bad(7) {
		t.Fatalf("vip-nps defaults: %+v", nps)
	}
	// A policy without texts takes the built-in ones, Turkish included.
	if got := rs.SurveyPolicy("chat").Language("tr"); got != "tr" {
		t.Fatalf("built-in tr: %q", got)
	}
}

func TestSurveyPolicyErrorsAreLocated(t *testing.T) {
	bad := `
queues: {general: {}}
default_queue: general
surveys:
  - name: a
    kind: ces
    queue: [nowhere]
    expire: 500ms
    recovery: {queue: gone, at_most: 9}
  - name: a
    kind: nps
    reminder: 80h
    whatsapp_templates: {main: {language: en}}
    text:
      en: {labels: [a, b, c]}
      EN_x: {question: q}
  - name: b
    kind: csat
    delay: -1m
    default_language: de
    text:
      en: {labels: [a, b], reask: "between {low} and {max}"}
`
	_, err := ParseRules("rules.yaml", []byte(bad), NewRoster(nil, nil))
	if err == nil {
		t.Fatal("bad policies compiled")
	}
	for _, want := range []string{
		`rules.yaml:6:11: surveys[0].kind: unknown survey kind "ces"`,
		`rules.yaml:7:13: surveys[0].queue[0]: unknown queue "nowhere"`,
		`surveys[0].expire: must be at least 1s`,
		`surveys[0].recovery.queue: unknown queue "gone"`,
		`surveys[0].recovery.at_most: must be a csat score from 1 to 4`,
		`surveys[1].name: duplicate survey name "a" (also surveys[0])`,
		`surveys[1].reminder: 80h0m0s is not before the survey expires`,
		`surveys[1].whatsapp_templates.main: needs a name`,
		`surveys[1].text.en.labels: an NPS survey takes 11 labels (0 to 10) or 2 (the ends), not 3`,
		`surveys[1].text.EN_x: languages are ISO 639 codes`,
		`surveys[2].delay: duration "-1m" must not be negative`,
		`surveys[2].default_language: "de" has no text`,
		`surveys[2].text.en.labels: a CSAT survey takes 5 labels`,
		`surveys[2].text.en.reask: only {min} and {max} can be filled in`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
}

func TestCasesCheckTheSurveyPolicy(t *testing.T) {
	rs, err := ParseRules("rules.yaml", []byte(surveyRules), NewRoster(nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "cases.yaml")
	cases := `
cases:
  - {name: gold, message: {channel: sms, text: hi}, customer: {attributes: {tier: gold}}, expect: {survey: vip-nps}}
  - {name: chat, message: {channel: webchat, text: hi}, expect: {survey: chat}}
  - {name: sms, message: {channel: sms, text: hi}, expect: {survey: none}}
  - {name: wrong, message: {channel: sms, text: hi}, expect: {survey: chat}}
`
	if err := os.WriteFile(path, []byte(cases), 0o600); err != nil {
		t.Fatal(err)
	}
	res, err := RunCaseFile(path, rs)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if ok := i < 3; r.OK() != ok {
			t.Errorf("case %s: ok %v, failures %v", r.Name, r.OK(), r.Failures)
		}
	}
	if f := res[3].Failures; len(f) != 1 || f[0] != `survey is "none", want "chat"` {
		t.Fatalf("failure %v", f)
	}
}
