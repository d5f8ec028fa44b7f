package flows

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

func load(t *testing.T) *Flow {
	t.Helper()
	data, err := os.ReadFile("testdata/triage.yaml")
	if err != nil {
		t.Fatal(err)
	}
	f, err := Parse("triage.yaml", data)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return f.Flows["triage"]
}

var now = time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)

func texts(out Output) []string {
	var s []string
	for _, m := range out.Messages {
		s = append(s, m.Text)
	}
	return s
}

// A dialogue through the technical branch: the greeting and the menu, a numbered answer, a
// free-text answer that fails validation once, then the hand-off with the answers attached.
func TestTechnicalDialogueHandsOffWithTheAnswers(t *testing.T) {
	f := load(t)
	st, out := f.Start(map[string]string{"customer.name": "Ann"}, now)
	if got := texts(out); len(got) != 2 || got[0] != "Hi Ann, this is the Acme assistant." || got[1] != "What is it about?" {
		t.Fatalf("start: %q", got)
	}
	if opts := out.Messages[1].Options; len(opts) != 4 || opts[1] != (Choice{Number: 2, Label: "Technical problem", Payload: "technical"}) {
		t.Fatalf("options: %+v", opts)
	}
	if !st.Waiting || st.Step != "menu" || st.WaitUntil == nil || !st.WaitUntil.Equal(now.Add(10*time.Minute)) {
		t.Fatalf("state: %+v", st)
	}
	st, out = f.Answer(st, " 2 ", "", now)
	if got := texts(out); len(got) != 1 || got[0] != "Which email address is your account under?" {
		t.Fatalf("after 2: %q", got)
	}
	st, out = f.Answer(st, "not an address", "", now)
	if got := texts(out); len(got) != 1 || got[0] != "Which email address is your account under?" || st.Tries != 1 {
		t.Fatalf("invalid email: %q %+v", got, st)
	}
	st, out = f.Answer(st, "Ann <ANN@Example.com>", "", now)
	h := out.Handoff
	if h == nil || h.Queue != "technical" || h.Answers["email"] != "ann@example.com" || h.Answers["menu"] != "technical" || h.Answers["topic"] != "technical" {
		t.Fatalf("handoff: %+v", h)
	}
	if !st.Done || st.Outcome != OutcomeHandoff || st.Vars["tags"] != "technical" {
		t.Fatalf("end state: %+v", st)
	}
	if st.Version != f.Version || st.Version == "" {
		t.Fatalf("state without the flow's version: %+v", st)
	}
	var kinds []string
	for _, e := range out.Steps {
		kinds = append(kinds, e.Step+":"+e.Kind)
		if e.Why == "" {
			t.Fatalf("step without why: %+v", e)
		}
	}
	if strings.Join(kinds, " ") != "email:ask tag_tech:set to_tech:handoff" {
		t.Fatalf("steps: %v", kinds)
	}
	if st, out := f.Answer(st, "hello?", "", now); len(out.Messages) != 0 || !st.Done {
		t.Fatalf("a finished flow spoke again: %+v", out)
	}
}

// Answers are accepted as the payload, the number, the label or the value, case- and
// diacritic-insensitive (Turkish dotted and dotless i alike).
func TestAnswersMatchLabelsNumbersAndPayloads(t *testing.T) {
	f := load(t)
	for _, c := range []struct{ text, payload, step string }{
		{"1", "", "invoice"}, {"BILLING", "", "invoice"}, {"technical problem", "", "email"},
		{"", "hours", "solved"}, {"iade", "", ""}, {"IADE", "", ""}, {"ıade", "", ""}, {"İADE", "", ""},
	} {
		st, _ := f.Start(nil, now)
		st, out := f.Answer(st, c.text, c.payload, now)
		if c.step == "" {
			if out.Resolved == "" || st.Outcome != OutcomeResolved {
				t.Errorf("%q: not resolved: %+v", c.text, st)
			}
			continue
		}
		if st.Step != c.step {
			t.Errorf("%q/%q: at %s, want %s", c.text, c.payload, st.Step, c.step)
		}
	}
}

// The containment path: an answer, the customer says it solved it, the flow resolves.
func TestContainedResolution(t *testing.T) {
	f := load(t)
	st, _ := f.Start(nil, now)
	st, out := f.Answer(st, "3", "", now)
	if got := texts(out); len(got) != 2 || !strings.HasPrefix(got[0], "We are open") {
		t.Fatalf("hours: %q", got)
	}
	st, out = f.Answer(st, "Yes", "", now)
	if out.Resolved != "Glad to help!" || st.Outcome != OutcomeResolved || out.Handoff != nil {
		t.Fatalf("not contained: %+v %+v", out, st)
	}
	st, _ = f.Start(nil, now)
	st, _ = f.Answer(st, "3", "", now)
	if _, out = f.Answer(st, "no", "", now); out.Handoff == nil || out.Handoff.Queue != "general" {
		t.Fatalf("a 'no' is not handed off: %+v", out)
	}
}

// Asking for a person works at any question; too many invalid answers go to on_invalid; a
// question nobody answers times out.
func TestHandoffKeywordsRetriesAndTimeouts(t *testing.T) {
	f := load(t)
	st, _ := f.Start(nil, now)
	if _, out := f.Answer(st, "  Temsilci ", "", now); out.Handoff == nil || out.Handoff.Queue != "general" || !strings.Contains(out.Handoff.Reason, "asked for a person") {
		t.Fatalf("keyword: %+v", out.Handoff)
	}
	st, _ = f.Start(nil, now)
	st, out := f.Answer(st, "7", "", now)
	if got := texts(out); len(got) != 1 || got[0] != "Please answer with a number from 1 to 4." || len(out.Messages[0].Options) != 4 {
		t.Fatalf("reprompt: %+v", out.Messages)
	}
	st, out = f.Answer(st, "banana", "", now)
	if out.Handoff == nil || out.Handoff.Queue != "general" {
		t.Fatalf("after the retries: %+v", out)
	}
	st, _ = f.Start(nil, now)
	if st2, out := f.Timeout(st, now.Add(9*time.Minute)); len(out.Steps) != 0 || !st2.Waiting {
		t.Fatalf("timed out early: %+v", out)
	}
	st, out = f.Timeout(st, now.Add(10*time.Minute))
	if out.Resolved == "" || !strings.HasPrefix(texts(out)[0], "No answer") || st.Outcome != OutcomeResolved {
		t.Fatalf("timeout: %+v", out)
	}
}

// The step budget hands off a flow that keeps going.
func TestStepBudget(t *testing.T) {
	fl, err := Parse("f.yaml", []byte(`
flows:
  chatty:
    start: a
    max_steps: 3
    steps:
      a: {say: one, next: b}
      b: {say: two, next: c}
      c: {say: three, next: d}
      d: {resolve: done}
`))
	if err != nil {
		t.Fatal(err)
	}
	st, out := fl.Flows["chatty"].Start(nil, now)
	if out.Handoff == nil || !strings.Contains(out.Handoff.Reason, "more than 3 steps") || len(out.Messages) != 3 || st.Outcome != OutcomeHandoff {
		t.Fatalf("budget: %+v %+v", out, st)
	}
}

// check finds every problem of a broken file, each at its place.
func TestCheckLocatesEveryProblem(t *testing.T) {
	_, err := Parse("broken.yaml", []byte(`flows:
  f:
    start: nowhere
    steps:
      a: {say: hi, next: b}
      b: {set: {answers.x: "1"}, next: a}
      c: {say: hi, ask: "two things?", next: a}
      d:
        ask: pick
        options: [{label: One, next: a}, {label: one, next: a}]
      e: {ask: "regex?", validate: "([", next: a, timeout: 5m}
      g: {handoff: {queue: q}, next: a}
      h: {branch: [{next: a}, {when: answers.x == 1, next: zz}]}
      i: {set: {bogus: x}, next: a}
`))
	if err == nil {
		t.Fatal("a broken file was accepted")
	}
	want := []string{
		`broken.yaml:3:12: flows.f.start: unknown step "nowhere"`,
		`flows.f.steps.a: these steps loop without waiting for the customer: a → b → a`,
		`broken.yaml:7:10: flows.f.steps.c: a step does one thing; this one has say and ask`,
		`flows.f.steps.d.options[1]: answers "one" like flows.f.steps.d.options[0]`,
		`broken.yaml:11:36: flows.f.steps.e.validate: number, email, phone, date, or a regular expression`,
		`flows.f.steps.e: timeout and on_timeout go together`,
		`flows.f.steps.g.next: a handoff ends the flow`,
		`flows.f.steps.h.branch[0]: a case without a condition always holds`,
		`flows.f.steps.h.branch[1].next: unknown step "zz"`,
		`flows.f.steps.i.set.bogus: set answers.<name>`,
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("missing %q in:\n%v", w, err)
		}
	}
}

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{"  Çok  İyi ": "cok iyi", "IŞIK": "isik", "Ärger": "arger", "ıade": "iade", "Crème brûlée": "creme brulee"} {
		if got := Normalize(in); got != want {
			t.Errorf("%q → %q, want %q", in, got, want)
		}
	}
}

// Any answer text is handled without a panic, and the state stays consistent.
func FuzzAnswer(f *testing.F) {
	for _, s := range []string{"1", "billing", "ANN@example.com", "temsilci", "", "\xff", "İADE"} {
		f.Add(s, "")
	}
	f.Add("", "technical")
	data, err := os.ReadFile("testdata/triage.yaml")
	if err != nil {
		f.Fatal(err)
	}
	file, err := Parse("triage.yaml", data)
	if err != nil {
		f.Fatal(err)
	}
	fl := file.Flows["triage"]
	f.Fuzz(func(t *testing.T, text, payload string) {
		st, _ := fl.Start(nil, now)
		for range 4 {
			var out Output
			st, out = fl.Answer(st, text, payload, now)
			if st.Done != (st.Outcome != "") || (out.Handoff != nil && st.Outcome != OutcomeHandoff) || st.Steps > fl.MaxSteps+1 {
				t.Fatalf("inconsistent: %+v %+v", st, out)
			}
		}
	})
}

// BenchmarkTurn is one customer answer through the triage flow (a question answered, the
// next question asked): the in-process cost of a step (issue 16 wants at most 100 µs).
func BenchmarkTurn(b *testing.B) {
	data, _ := os.ReadFile("testdata/triage.yaml")
	file, err := Parse("triage.yaml", data)
	if err != nil {
		b.Fatal(err)
	}
	fl := file.Flows["triage"]
	start, _ := fl.Start(map[string]string{"customer.name": "Ann"}, now)
	for b.Loop() {
		st, _ := fl.Answer(start, "Technical problem", "", now)
		if st.Step != "email" {
			b.Fatal(st.Step)
		}
	}
}

// The example's dialogues pass; a wrong expectation fails with the turn and what happened.
func TestCaseFile(t *testing.T) {
	data, _ := os.ReadFile("testdata/triage.yaml")
	file, err := Parse("triage.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	res, err := RunCaseFile("testdata/triage.cases.yaml", file, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 5 {
		t.Fatalf("%d results", len(res))
	}
	for _, r := range res {
		if !r.OK() {
			t.Errorf("%s (%s): %v", r.Name, r.Position, r.Failures)
		}
	}
	bad := t.TempDir() + "/bad.yaml"
	if err := os.WriteFile(bad, []byte(`
cases:
  - name: wrong queue
    flow: triage
    dialogue:
      - step: menu
      - customer: "1"
        step: menu
      - customer: INV-000001
        handoff: technical
`), 0o600); err != nil {
		t.Fatal(err)
	}
	res, err = RunCaseFile(bad, file, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{`turn 1: at step "invoice" (done: false), want "menu"`, `turn 2: handed off to "billing" (invoice question), want "technical"`}
	if !slices.Equal(res[0].Failures, want) || res[0].Position != bad+":3" {
		t.Fatalf("failures %q at %s", res[0].Failures, res[0].Position)
	}
	if err := os.WriteFile(bad, []byte("cases: [{name: x, flow: nope, dialogue: [{step: a}]}]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := RunCaseFile(bad, file, nil); err == nil || !strings.Contains(err.Error(), `unknown flow "nope" (flows: triage)`) {
		t.Fatalf("unknown flow: %v", err)
	}
}

// Any flows file is checked without a panic: it either compiles into flows that start, or
// fails with located problems.
func FuzzParse(f *testing.F) {
	data, _ := os.ReadFile("testdata/triage.yaml")
	f.Add(string(data))
	f.Add("flows: {f: {start: a, steps: {a: {say: hi, next: a}}}}")
	f.Add("flows: {f: {start: a, steps: {a: {ask: q, options: [{label: x}]}}}}")
	f.Add("not: [yaml")
	f.Fuzz(func(t *testing.T, src string) {
		file, err := Parse("fuzz.yaml", []byte(src))
		if err != nil {
			return
		}
		for _, fl := range file.Flows {
			st, _ := fl.Start(nil, now)
			if st.Steps > fl.MaxSteps+1 {
				t.Fatalf("%s took %d steps", fl.Name, st.Steps)
			}
		}
	})
}
