package rules

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/configs/cfg"
	"github.com/switchboardhq/switchboard/schema"
)

func testRoster() *Roster {
	return NewRoster([]AgentConfig{
		{ID: "ann", Skills: []string{"billing", "general"}, Languages: []string{"en"}, Teams: []string{"t1"}},
		{ID: "ben", Skills: []string{"billing", "general"}, Languages: []string{"de", "en"}, Teams: []string{"t1"},
			Capacity: map[string]int{"default": 2, "webchat": 1}},
		{ID: "cat", Skills: []string{"technical", "general"}, Languages: []string{"en"}, Teams: []string{"t2"}, MaxLoad: 4},
	}, map[string]int{"webchat": 3})
}

func mustRules(t testing.TB, src string) *Rules {
	t.Helper()
	rs, err := ParseRules("rules.yaml", []byte(src), testRoster())
	if err != nil {
		t.Fatalf("rules:\n%v", err)
	}
	return rs
}

func errLines(err error) []string {
	var es cfg.Errors
	if !errors.As(err, &es) {
		return []string{"not cfg.Errors: " + err.Error()}
	}
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Error()
	}
	return out
}

func TestParseRulesReportsEveryErrorLocated(t *testing.T) {
	_, err := ParseRules("rules.yaml", []byte(`queues:
  billing: {skills: [biling], strategy: fastest}
  general: {skils: [general]}
  tech: {skills: [technical], max_wait: 5m}
business_hours:
  office: {timezone: Mars/Olympus, weekly: {mon-fri: ["09:00-17:00"]}}
default_queue: genral
rules:
  - name: vip
    when:
      expr: 'message.chanel == "email"'
      regex: '(unclosed'
      business_hours: offices
    targets:
      - {queue: vipp, priority: 2000, timeout: 5m}
  - name: vip
    when:
      expr: |
        message.channel == "email" &&
          customer.atributes.tier == "x"
    targets: []
  - name: all
    targets: [{queue: general}]
  - name: never
    when: {channel: [sms]}
    targets: [{queue: general}]
`), testRoster())
	want := []string{
		`rules.yaml:2:22: queues.billing.skills[0]: unknown skill "biling": no agent in router.agents has it`,
		`rules.yaml:2:41: queues.billing.strategy: must be least_loaded, round_robin or longest_idle, not "fastest"`,
		`rules.yaml:3:13: queues.general.skils: unknown field "skils"; did you mean "skills"?`,
		`rules.yaml:4:9: queues.tech: max_wait and overflow go together: give both or neither`,
		`rules.yaml:6:22: business_hours.office.timezone: unknown time zone "Mars/Olympus" (write an IANA name such as Europe/Berlin)`,
		`rules.yaml:7:16: default_queue: unknown queue "genral" (queues: billing, general, tech)`,
		`rules.yaml:11:22: rules[0].when.expr: invalid expression: type message has no field chanel`,
		`rules.yaml:12:14: rules[0].when.regex: invalid regular expression: error parsing regexp: missing closing ): ` + "`(unclosed`",
		`rules.yaml:13:23: rules[0].when.business_hours: unknown business hours "offices" (business_hours: office)`,
		`rules.yaml:15:17: rules[0].targets[0].queue: unknown queue "vipp" (queues: billing, general, tech)`,
		`rules.yaml:15:33: rules[0].targets[0].priority: must be between 0 and 1000`,
		`rules.yaml:15:48: rules[0].targets[0].timeout: the last target has no next target to time out to`,
		`rules.yaml:16:11: rules[1].name: duplicate rule name "vip" (also rules[0])`,
		`rules.yaml:20:20: rules[1].when.expr: invalid expression: type customer has no field atributes`,
		`rules.yaml:21:14: rules[1].targets: a rule needs at least one target`,
		`rules.yaml:24:9: rules[3]: unreachable: rules[2] (all) above it matches every conversation`,
	}
	if got := errLines(err); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestParseRulesSyntaxErrorIsLocated(t *testing.T) {
	_, err := ParseRules("rules.yaml", []byte("queues:\n  a: {skills: [general]\nrules: []\n"), testRoster())
	got := errLines(err)
	if len(got) != 1 || !strings.HasPrefix(got[0], "rules.yaml:") || !strings.Contains(got[0], "invalid YAML") || strings.HasPrefix(got[0], "rules.yaml: ") {
		t.Fatalf("got %q", got)
	}
}

func TestRulesVersionDependsOnFileAndRoster(t *testing.T) {
	src := "queues: {general: {skills: [general]}}\ndefault_queue: general\n"
	a := mustRules(t, src)
	b := mustRules(t, src+"# a comment\n")
	other, err := ParseRules("rules.yaml", []byte(src), NewRoster([]AgentConfig{{ID: "zed", Skills: []string{"general"}}}, nil))
	if err != nil {
		t.Fatal(err)
	}
	if a.Version == b.Version || a.Version == other.Version || a.Version != mustRules(t, src).Version {
		t.Fatalf("versions %s %s %s", a.Version, b.Version, other.Version)
	}
}

// view builds a static view: every listed agent available with the given open
// conversations per channel.
func view(rs *Rules, at time.Time, agents map[string]map[string]int) *StaticView {
	v := NewStaticView(rs.roster)
	for id, load := range agents {
		a, _ := rs.roster.Lookup(id)
		v.Set(a.idx, Available, load, at)
	}
	return v
}

var monday = time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)

func msg(ch, text string) *schema.Message {
	return &schema.Message{Channel: schema.Channel(ch), Account: "acme", Kind: schema.KindMessage, Direction: schema.Inbound, Text: text}
}

func TestDecideStrategies(t *testing.T) {
	rs := mustRules(t, `queues:
  ll: {skills: [billing]}
  rr: {skills: [billing], strategy: round_robin}
  idle: {skills: [general], strategy: longest_idle}
rules:
  - {name: ll, when: {keywords: [ll]}, targets: [{queue: ll}]}
  - {name: rr, when: {keywords: [rr]}, targets: [{queue: rr}]}
  - {name: idle, targets: [{queue: idle}]}
`)
	v := view(rs, monday, map[string]map[string]int{"ann": {"email": 2}, "ben": {"email": 1}, "cat": {}})
	in := &Input{Message: msg("email", "ll please"), Now: monday}
	if d := rs.Decide(in, v); d.Agent != "ben" || d.Rule != "ll" || d.Strategy != StrategyLeastLoaded {
		t.Fatalf("least loaded (ben has load 1, ann 2; cat cannot serve billing): %+v", d)
	}
	ann, _ := rs.roster.Lookup("ann")
	ben, _ := rs.roster.Lookup("ben")
	v.Hold(ann.idx, "c1", "email", monday.Add(time.Minute))
	v.Hold(ben.idx, "c2", "email", monday.Add(2*time.Minute))
	if d := rs.Decide(&Input{Message: msg("email", "rr"), Now: monday}, v); d.Agent != "ann" {
		t.Fatalf("round robin picks the one assigned least recently: %+v", d)
	}
	if d := rs.Decide(&Input{Message: msg("email", "hi"), Now: monday}, v); d.Agent != "cat" {
		t.Fatalf("longest idle picks the idle agent: %+v", d)
	}
}

func TestDecideCapacityPerChannelAndWeightedLoad(t *testing.T) {
	rs := mustRules(t, "queues: {q: {skills: [general]}}\nrules: [{name: all, targets: [{queue: q}]}]\n")
	v := view(rs, monday, map[string]map[string]int{"ben": {"webchat": 1}, "cat": {"webchat": 1}})
	d := rs.Decide(&Input{Message: msg("webchat", "hi"), Now: monday}, v)
	if d.Agent != "" {
		t.Fatalf("ben is at webchat capacity 1, cat at max_load 4 (webchat weighs 3): %+v", d)
	}
	ben, _ := rs.roster.Lookup("ben")
	v.Release(ben.idx, "webchat-0", monday)
	v.Set(ben.idx, Available, map[string]int{"email": 2}, monday)
	if d = rs.Decide(&Input{Message: msg("email", "hi"), Now: monday}, v); d.Agent != "cat" {
		t.Fatalf("ben is at email capacity 2; an email fits cat's max_load (3+1 <= 4): %+v", d)
	}
	v.Set(ann0(rs), Available, nil, monday)
	if d = rs.Decide(&Input{Message: msg("email", "hi"), Now: monday}, v); d.Agent != "ann" {
		t.Fatalf("ann has the lowest weighted load: %+v", d)
	}
}

func ann0(rs *Rules) int { a, _ := rs.roster.Lookup("ann"); return a.idx }

func TestDecideTargetsSkipEscalateAndWaiting(t *testing.T) {
	rs := mustRules(t, `queues:
  tech: {skills: [technical]}
  billing: {skills: [billing]}
rules:
  - name: r
    targets:
      - {queue: tech, priority: 9, timeout: 1m, skip_if_empty: true}
      - {queue: billing, priority: 5}
`)
	v := view(rs, monday, map[string]map[string]int{"ann": {}})
	d := rs.Decide(&Input{Message: msg("email", "x"), Now: monday}, v)
	if d.Queue != "billing" || d.Target != 1 || d.Agent != "ann" || !strings.Contains(d.Reason, "skipped tech") {
		t.Fatalf("tech is empty and skipped: %+v", d)
	}
	cat, _ := rs.roster.Lookup("cat")
	v.Set(cat.idx, Available, map[string]int{"email": 5}, monday)
	d = rs.Decide(&Input{Message: msg("email", "x"), Now: monday}, v)
	if d.Queue != "tech" || d.Agent != "" || d.Timeout != time.Minute || d.Priority != 9 {
		t.Fatalf("cat is available but full: wait in tech: %+v", d)
	}
	if d = rs.Decide(&Input{Message: msg("email", "x"), Now: monday, Rule: "r", From: 1}, v); d.Queue != "billing" || d.Agent != "ann" {
		t.Fatalf("escalation continues at target 1: %+v", d)
	}
	v.waiting["billing"] = 2
	if d = rs.Decide(&Input{Message: msg("email", "x"), Now: monday, Rule: "r", From: 1}, v); d.Agent != "" || !strings.Contains(d.Reason, "behind 2 waiting") {
		t.Fatalf("others wait ahead: %+v", d)
	}
	if d = rs.Decide(&Input{Message: msg("email", "x"), Now: monday, Rule: "r", From: 1, Prefer: "ann"}, v); d.Agent != "ann" {
		t.Fatalf("the kept agent goes first: %+v", d)
	}
}

func TestDecideConditions(t *testing.T) {
	rs := mustRules(t, `business_hours:
  office: {timezone: Europe/Berlin, weekly: {mon-fri: ["09:00-17:00"]}, holidays: ["2026-01-06"]}
queues: {q: {skills: [general]}}
rules:
  - {name: vip, when: {customer: {tier: vip}}, targets: [{queue: q}]}
  - {name: any-plan, when: {customer: {plan: "*"}}, targets: [{queue: q}]}
  - {name: de, when: {language: [de]}, targets: [{queue: q}]}
  - {name: sms-acme, when: {channel: [sms], account: [acme]}, targets: [{queue: q}]}
  - {name: refund, when: {regex: '(?i)\brefund\b'}, targets: [{queue: q}]}
  - {name: expr, when: {expr: 'customer.conversations > 2 && message.metadata.src == "app"'}, targets: [{queue: q}]}
  - {name: night, when: {outside_business_hours: office}, targets: [{queue: q}]}
  - {name: day, when: {business_hours: office}, targets: [{queue: q}]}
`)
	cases := []struct {
		name string
		in   Input
	}{
		{"vip", Input{Message: msg("email", ""), Customer: &schema.Customer{Attributes: map[string]string{"tier": "vip"}}}},
		{"any-plan", Input{Message: msg("email", ""), Customer: &schema.Customer{Attributes: map[string]string{"plan": "x"}}}},
		{"de", Input{Message: &schema.Message{Channel: "email", Language: "de-CH"}}},
		{"sms-acme", Input{Message: msg("sms", "")}},
		{"refund", Input{Message: &schema.Message{Channel: "email", Subject: "A REFUND please"}}},
		{"expr", Input{Message: &schema.Message{Channel: "email", Metadata: map[string]string{"src": "app"}},
			Customer: &schema.Customer{Conversations: []string{"a", "b", "c"}}}},
		{"day", Input{Message: msg("email", "refunded"), Now: monday}},                // 11:00 in Berlin
		{"night", Input{Message: msg("email", ""), Now: monday.Add(8 * time.Hour)}},   // 19:00
		{"night", Input{Message: msg("email", ""), Now: monday.Add(24 * time.Hour)}},  // a holiday
		{"night", Input{Message: msg("email", ""), Now: monday.Add(-48 * time.Hour)}}, // Saturday
		{"day", Input{Message: msg("email", ""), Now: monday.Add(-2 * time.Hour)}},    // 09:00 opens
		{"night", Input{Message: msg("email", ""), Now: monday.Add(6 * time.Hour)}},   // 17:00 closes
	}
	v := NewStaticView(rs.roster)
	for _, c := range cases {
		if c.in.Now.IsZero() {
			c.in.Now = monday
		}
		if d := rs.Decide(&c.in, v); d.Rule != c.name {
			t.Errorf("%s: matched %q (%s)", c.name, d.Rule, d.Reason)
		}
	}
}

func TestDecideNoMatch(t *testing.T) {
	rs := mustRules(t, "queues: {q: {skills: [general]}}\nrules: [{name: sms, when: {channel: [sms]}, targets: [{queue: q}]}]\n")
	if d := rs.Decide(&Input{Message: msg("email", ""), Now: monday}, NewStaticView(rs.roster)); d.Queue != "" || d.Rule != "" {
		t.Fatalf("no rule and no default queue: not queued: %+v", d)
	}
	rs = mustRules(t, "default_queue: q\nqueues: {q: {skills: [general]}}\n")
	if d := rs.Decide(&Input{Message: msg("email", ""), Now: monday}, NewStaticView(rs.roster)); d.Queue != "q" {
		t.Fatalf("default queue: %+v", d)
	}
}

func TestDecideStickyAndLanguage(t *testing.T) {
	rs := mustRules(t, `queues:
  q: {skills: [general], sticky: 1h, match_language: true}
rules: [{name: all, targets: [{queue: q}]}]
`)
	v := view(rs, monday, map[string]map[string]int{"ann": {}, "ben": {"email": 1}, "cat": {}})
	in := &Input{Message: msg("email", ""), Now: monday, PreviousAgent: "ben", PreviousAt: monday.Add(-30 * time.Minute)}
	if d := rs.Decide(in, v); d.Agent != "ben" || d.Strategy != "sticky" {
		t.Fatalf("sticky within the window: %+v", d)
	}
	in.PreviousAt = monday.Add(-2 * time.Hour)
	if d := rs.Decide(in, v); d.Agent == "ben" {
		t.Fatalf("sticky after the window: %+v", d)
	}
	in = &Input{Message: &schema.Message{Channel: "email", Language: "de"}, Now: monday}
	if d := rs.Decide(in, v); d.Agent != "ben" {
		t.Fatalf("only ben speaks German: %+v", d)
	}
}

func TestValuePosition(t *testing.T) {
	data := []byte("a:\n  expr: plain + x\n  q: \"quoted\"\n  b: |\n    one\n      two\n")
	for _, c := range []struct{ valLine, valCol, line, col, wantLine, wantCol int }{
		{2, 9, 1, 0, 2, 9},
		{2, 9, 1, 8, 2, 17},
		{3, 6, 1, 0, 3, 7},
		{4, 6, 1, 0, 5, 5},
		{4, 6, 2, 2, 6, 7},
	} {
		l, col := valuePosition(data, c.valLine, c.valCol, c.line, c.col)
		if l != c.wantLine || col != c.wantCol {
			t.Errorf("%+v: got %d:%d", c, l, col)
		}
	}
}

func TestRequiredLiterals(t *testing.T) {
	for re, want := range map[string]string{
		`(?i)\border[- ]\d+\b`:     "[order]",
		`(?i)\border[- ]42\b`:      "[order 42]",
		`(?i)\b(invoice|refund)\b`: "[]",
		`Refund for order`:         "[refund for order]",
		`(?i)ask`:                  "[]", // s and k fold to non-ASCII runes (ſ, the Kelvin sign)
		`^$`:                       "[]",
		`(`:                        "[]",
	} {
		if got := fmt.Sprint(requiredLiterals(re)); got != want {
			t.Errorf("%s: %s, want %s", re, got, want)
		}
	}
}

func FuzzRequiredLiteral(f *testing.F) {
	f.Add(`(?i)\border[- ]\d+\b`, "Order 12")
	f.Add(`(?i)ask`, "AſK")
	f.Add(`Refund`, "refund")
	f.Fuzz(func(t *testing.T, expr, text string) {
		re, err := regexp.Compile(expr)
		if err != nil {
			return
		}
		if !re.MatchString(text) {
			return
		}
		for _, lit := range requiredLiterals(expr) {
			if !strings.Contains(strings.ToLower(text), lit) {
				t.Fatalf("%q matches %q but lacks the required literal %q", expr, text, lit)
			}
		}
	})
}

// Against an open roster (agents managed through the API), what depends on who is in it is
// a warning with its position, and the rules compile; against the closed roster of
// router.agents it is an error.
func TestOpenRosterTurnsRosterProblemsIntoWarnings(t *testing.T) {
	src := []byte(`
queues:
  billing: {skills: [billing]}
  vip: {agents: [dana]}
  general: {skills: [general]}
default_queue: general
`)
	open := NewLiveRoster([]AgentConfig{{ID: "ann", Skills: []string{"general"}}}, nil, nil, true)
	rs, err := ParseRules("rules.yaml", src, open)
	if err != nil {
		t.Fatalf("open roster: %v", err)
	}
	want := []string{
		`rules.yaml:3:22: queues.billing.skills[0]: unknown skill "billing": no agent in the roster has it`,
		`rules.yaml:4:18: queues.vip.agents[0]: unknown agent "dana": not in the roster`,
	}
	if !slices.Equal(rs.Warnings, want) {
		t.Fatalf("warnings:\n%s\nwant:\n%s", strings.Join(rs.Warnings, "\n"), strings.Join(want, "\n"))
	}
	// Dana joins through the API: the same file compiles without warnings, and she serves vip.
	withDana := NewLiveRoster([]AgentConfig{{ID: "ann", Skills: []string{"general"}}}, []AgentConfig{{ID: "dana", Skills: []string{"billing"}}, {ID: "ann", Skills: []string{"x"}}}, nil, true)
	rs, err = ParseRules("rules.yaml", src, withDana)
	if err != nil || len(rs.Warnings) != 0 {
		t.Fatalf("with dana: %v %q", err, rs.Warnings)
	}
	if a, _ := withDana.Lookup("ann"); a.Source != SourceConfig || slices.Contains(a.Skills, "x") {
		t.Fatalf("the config's ann was replaced by the API's: %+v", a)
	}
	if a, _ := withDana.Lookup("dana"); a.Source != SourceAPI {
		t.Fatalf("dana: %+v", a)
	}
	closed := NewRoster([]AgentConfig{{ID: "ann", Skills: []string{"general"}}}, nil)
	_, err = ParseRules("rules.yaml", src, closed)
	if err == nil || !strings.Contains(err.Error(), `rules.yaml:3:22: queues.billing.skills[0]: unknown skill "billing": no agent in router.agents has it`) {
		t.Fatalf("closed roster: %v", err)
	}
}

// Rules on the conversation's tags: the tags condition (any of, case-insensitive) and
// conversation.tags in an expression, through `rules test` cases.
func TestRulesOnTags(t *testing.T) {
	rs, err := ParseRules("rules.yaml", []byte(`
queues: {vip: {skills: [general]}, refunds: {skills: [general]}, general: {skills: [general]}}
rules:
  - {name: vip, when: {tags: [VIP, gold]}, targets: [{queue: vip}]}
  - {name: refunds, when: {expr: '"refund" in conversation.tags && message.channel == "email"'}, targets: [{queue: refunds}]}
  - {name: rest, targets: [{queue: general}]}
`), testRoster())
	if err != nil {
		t.Fatal(err)
	}
	if !rs.UsesTags() {
		t.Fatal("UsesTags is false")
	}
	path := filepath.Join(t.TempDir(), "cases.yaml")
	if err := os.WriteFile(path, []byte(`
cases:
  - {name: untagged, message: {channel: email, text: hi}, expect: {queue: general}}
  - {name: gold, tags: [Gold], message: {channel: email, text: hi}, expect: {queue: vip}}
  - {name: refund by email, tags: [refund], message: {channel: email, text: hi}, expect: {queue: refunds}}
  - {name: refund by sms, tags: [refund], message: {channel: sms, text: hi}, expect: {queue: general}}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	res, err := RunCaseFile(path, rs)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if !r.OK() {
			t.Errorf("case %s: %v", r.Name, r.Failures)
		}
	}
	_, err = ParseRules("rules.yaml", []byte("queues: {q: {}}\nrules: [{name: x, when: {tags: [\"two words\"]}, targets: [{queue: q}]}]\n"), testRoster())
	if err == nil || !strings.Contains(err.Error(), `rules[0].when.tags[0]: tag "two words"`) {
		t.Fatalf("a bad tag: %v", err)
	}
}
