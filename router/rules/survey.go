package rules

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/configs/cfg"
	"github.com/switchboardhq/switchboard/router/survey"
	"github.com/switchboardhq/switchboard/schema"
)

// SurveySpec is one survey policy of the rules file's surveys list (docs/surveys.md).
// Policies are ordered: at a resolution, the first whose conditions all hold schedules its
// survey.
type SurveySpec struct {
	Name string `yaml:"name"`
	// Kind is csat (1–5) or nps (0–10).
	Kind string `yaml:"kind"`
	// When takes the routing rules' conditions over the conversation's last customer message
	// and the customer (channel, account, language, customer attributes, keywords, expr, ...).
	When WhenSpec `yaml:"when"`
	// Queue matches the conversation's queue when it is resolved.
	Queue []string `yaml:"queue"`
	// Delay is how long after the resolution the survey is sent (0: at once).
	Delay cfg.Duration `yaml:"delay"`
	// Expire ends a survey: answers after it are ordinary messages.
	Expire cfg.Duration `yaml:"expire" default:"72h"`
	// Reminder asks once more after this long without an answer (0: no reminder).
	Reminder cfg.Duration `yaml:"reminder"`
	// OncePer sends at most one survey per customer in this long (0: one per resolution).
	OncePer cfg.Duration `yaml:"once_per"`
	// Comment asks for a comment after the score; the customer's next words within this
	// window become the answer's comment (0: no comment asked for).
	Comment cfg.Duration `yaml:"comment"`
	// Recovery routes a bad score back to a queue as a new task.
	Recovery *RecoverySpec `yaml:"recovery"`
	// WhatsAppTemplates name, per account, the approved template sent outside WhatsApp's
	// 24-hour window (a Twilio Content SID, or a Cloud API template name and language).
	// Without one the survey is not sent there, and the reason is recorded.
	WhatsAppTemplates map[string]*TemplateSpec `yaml:"whatsapp_templates"`
	// Text per language (the customer's language attribute picks, else the conversation's
	// detected language, else DefaultLanguage); empty fields take the built-in texts.
	Text            map[string]*survey.Text `yaml:"text"`
	DefaultLanguage string                  `yaml:"default_language" default:"en"`
}

// TemplateSpec is an approved WhatsApp template: for Twilio, name is the Content SID (HX…);
// for the Cloud API, the template's name and language (en_US). Variables fill its
// parameters; {name} in a value is the customer's name.
type TemplateSpec struct {
	Name      string            `yaml:"name"`
	Language  string            `yaml:"language"`
	Variables map[string]string `yaml:"variables"`
}

// RecoverySpec sends a detractor (NPS ≤ 6) or an unhappy customer (CSAT ≤ 2) back to a queue.
type RecoverySpec struct {
	Queue string `yaml:"queue"`
	// AtMost is the highest score that is bad (default: 2 for CSAT, 6 for NPS).
	AtMost *int `yaml:"at_most"`
	// Priority of the recovery task.
	Priority int `yaml:"priority"`
}

// SurveyPolicy is a compiled [SurveySpec].
type SurveyPolicy struct {
	Name, Kind        string
	Delay, Expire     time.Duration
	Reminder, OncePer time.Duration
	Comment           time.Duration
	// RecoveryQueue is "" without recovery; scores at most RecoveryAtMost go there.
	RecoveryQueue    string
	RecoveryAtMost   int
	RecoveryPriority int
	Templates        map[string]*schema.Template
	texts            map[string]*survey.Text
	defLang          string
	conds            []condition
	queues           []string
}

// SurveyInput is what a survey policy is matched against.
type SurveyInput struct {
	Message  *schema.Message
	Customer *schema.Customer
	Queue    string
	Now      time.Time
}

// Survey returns the first survey policy that applies, or nil.
func (rs *Rules) Survey(in SurveyInput) *SurveyPolicy {
	if rs == nil || len(rs.surveys) == 0 {
		return nil
	}
	e := policyCtx(in.Message, in.Customer, in.Queue, 0, in.Now)
	for _, p := range rs.surveys {
		if (len(p.queues) == 0 || slices.Contains(p.queues, in.Queue)) && holds(p.conds, e) {
			return p
		}
	}
	return nil
}

// HasSurveys reports whether the rules define survey policies.
func (rs *Rules) HasSurveys() bool { return rs != nil && len(rs.surveys) > 0 }

// SurveyPolicy returns the policy called name, or nil.
func (rs *Rules) SurveyPolicy(name string) *SurveyPolicy {
	if rs == nil {
		return nil
	}
	return named(rs.surveys, name)
}

// SurveyPolicies lists the policies' names in order.
func (rs *Rules) SurveyPolicies() []string {
	if rs == nil {
		return nil
	}
	return names(rs.surveys)
}

// policy is what named and names need of SLA and survey policies.
type policy interface{ policyName() string }

func (p *SLAPolicy) policyName() string    { return p.Name }
func (p *SurveyPolicy) policyName() string { return p.Name }

// named is the policy of list called name (nil when none is).
func named[P policy](list []P, name string) P {
	var zero P
	for _, p := range list {
		if p.policyName() == name {
			return p
		}
	}
	return zero
}

// names lists the policies' names in order.
func names[P policy](list []P) []string {
	var out []string
	for _, p := range list {
		out = append(out, p.policyName())
	}
	return out
}

// Language picks the survey's language: the first of the candidates the policy has a text
// for (a customer's "language" attribute, the conversation's detected language), else its
// default.
func (p *SurveyPolicy) Language(candidates ...string) string {
	for _, c := range candidates {
		c = primaryLanguage(c)
		if c == "" {
			continue
		}
		if _, ok := p.texts[c]; ok {
			return c
		}
		if _, ok := survey.Builtin[p.Kind][c]; ok && len(p.texts) == 0 {
			return c
		}
	}
	return p.defLang
}

// Text is the policy's text in lang, completed from the built-in texts.
func (p *SurveyPolicy) Text(lang string) survey.Text {
	t := p.texts[lang]
	if t == nil {
		t = &survey.Text{}
	}
	return survey.Resolve(p.Kind, lang, *t)
}

// Bad reports whether score calls for a recovery task.
func (p *SurveyPolicy) Bad(score int) bool { return p.RecoveryQueue != "" && score <= p.RecoveryAtMost }

// checkSurveys checks the surveys list and compiles it into c.out.surveys.
func (c *rulesChecker) checkSurveys() {
	names := map[string]int{}
	for i, s := range c.spec.Surveys {
		path := fmt.Sprintf("surveys[%d]", i)
		if s == nil {
			c.errorf(path, "is empty")
			continue
		}
		cfg.SetDefaults(s)
		c.checkPolicyName(path, "survey", "surveys", s.Name, i, names)
		p := &SurveyPolicy{Name: s.Name, Kind: s.Kind, Delay: s.Delay.D(), Expire: s.Expire.D(), Reminder: s.Reminder.D(),
			OncePer: s.OncePer.D(), Comment: s.Comment.D(), Templates: map[string]*schema.Template{}, texts: map[string]*survey.Text{},
			defLang: primaryLanguage(s.DefaultLanguage), queues: s.Queue}
		if s.Kind != schema.SurveyCSAT && s.Kind != schema.SurveyNPS {
			c.errorf(path+".kind", "unknown survey kind %q (write csat or nps)", s.Kind)
			p.Kind = schema.SurveyCSAT
		}
		c.checkSurveyTimes(path, s)
		for j, q := range s.Queue {
			if c.spec.Queues[q] == nil {
				c.errorf(fmt.Sprintf("%s.queue[%d]", path, j), "unknown queue %q%s", q, c.queueHint())
			}
		}
		c.checkRecovery(path+".recovery", s.Recovery, p)
		for _, acct := range slices.Sorted(maps.Keys(s.WhatsAppTemplates)) {
			t := s.WhatsAppTemplates[acct]
			if t == nil || t.Name == "" {
				c.errorf(path+".whatsapp_templates."+acct, "needs a name (a Twilio Content SID HX…, or a Cloud API template name with its language)")
				continue
			}
			p.Templates[acct] = &schema.Template{Name: t.Name, Language: t.Language, Variables: t.Variables}
		}
		for _, lang := range slices.Sorted(maps.Keys(s.Text)) {
			c.checkSurveyText(path+".text."+lang, p.Kind, lang, s.Text[lang])
			p.texts[primaryLanguage(lang)] = s.Text[lang]
		}
		if len(s.Text) > 0 && s.Text[s.DefaultLanguage] == nil {
			c.errorf(path+".default_language", "%q has no text; the policy's texts are in %s", s.DefaultLanguage, strings.Join(slices.Sorted(maps.Keys(s.Text)), ", "))
		}
		p.conds = c.checkWhen(&s.When, path)
		c.out.surveys = append(c.out.surveys, p)
	}
}

func (c *rulesChecker) checkSurveyTimes(path string, s *SurveySpec) {
	for _, d := range []struct {
		name string
		v    cfg.Duration
	}{{"delay", s.Delay}, {"reminder", s.Reminder}, {"once_per", s.OncePer}, {"comment", s.Comment}} {
		if d.v.D() < 0 {
			c.errorf(path+"."+d.name, "must not be negative")
		}
	}
	if s.Expire.D() < time.Second {
		c.errorf(path+".expire", "must be at least 1s (how long the survey takes answers)")
	}
	if s.Reminder.D() > 0 && s.Reminder.D() >= s.Expire.D() {
		c.errorf(path+".reminder", "%s is not before the survey expires (expire: %s)", s.Reminder.D(), s.Expire.D())
	}
}

func (c *rulesChecker) checkRecovery(path string, r *RecoverySpec, p *SurveyPolicy) {
	if r == nil {
		return
	}
	if c.spec.Queues[r.Queue] == nil {
		c.errorf(path+".queue", "unknown queue %q%s", r.Queue, c.queueHint())
	}
	p.RecoveryQueue, p.RecoveryPriority = r.Queue, r.Priority
	p.RecoveryAtMost = 2
	if p.Kind == schema.SurveyNPS {
		p.RecoveryAtMost = 6
	}
	if r.AtMost != nil {
		lo, hi := schema.SurveyScale(p.Kind)
		if *r.AtMost < lo || *r.AtMost >= hi {
			c.errorf(path+".at_most", "must be a %s score from %d to %d", p.Kind, lo, hi-1)
		}
		p.RecoveryAtMost = *r.AtMost
	}
}

func (c *rulesChecker) checkSurveyText(path, kind, lang string, t *survey.Text) {
	if t == nil {
		c.errorf(path, "is empty")
		return
	}
	if primaryLanguage(lang) != strings.ToLower(lang) || len(lang) < 2 || len(lang) > 3 {
		c.doc.KeyErrorf(path, "languages are ISO 639 codes such as en or tr, not %q", lang)
	}
	lo, hi := schema.SurveyScale(kind)
	switch n := len(t.Labels); {
	case n == 0, n == hi-lo+1, kind == schema.SurveyNPS && n == 2:
	case kind == schema.SurveyNPS:
		c.errorf(path+".labels", "an NPS survey takes 11 labels (0 to 10) or 2 (the ends), not %d", n)
	default:
		c.errorf(path+".labels", "a CSAT survey takes 5 labels (1 to 5), not %d", n)
	}
	for _, f := range []struct{ name, v string }{{"reply", t.Reply}, {"reask", t.Reask}} {
		if strings.Contains(f.v, "{") && !strings.Contains(strings.NewReplacer("{min}", "", "{max}", "").Replace(f.v), "{") {
			continue
		}
		if strings.Contains(f.v, "{") {
			c.errorf(path+"."+f.name, "only {min} and {max} can be filled in")
		}
	}
}
