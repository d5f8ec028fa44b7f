package flows

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/configs/cfg"
)

// CaseFile is a file of declarative dialogues for `switchboard flows test`.
type CaseFile struct {
	Cases []*Case `yaml:"cases"`
}

// Case is one dialogue: the flow, the customer, and turns.
type Case struct {
	Name     string            `yaml:"name"`
	Flow     string            `yaml:"flow"`
	Customer map[string]string `yaml:"customer"` // customer.<key> variables (name, …)
	Turns    []*Turn           `yaml:"dialogue"`
	// At is when the dialogue starts (business hours; default Monday 2026-01-05 10:00 UTC);
	// each turn comes a minute after the one before.
	At *time.Time `yaml:"at"`
	// Lookups answer the flow's lookup steps by step name (nothing is called); a lookup
	// step not listed, or listed with error:, fails.
	Lookups map[string]map[string]string `yaml:"lookups"`
}

// Turn is what the customer does (nothing on the first turn: the flow starts; text, a
// button's payload, or waiting past the question's timeout) and what must follow. Fields
// left out are not checked.
type Turn struct {
	Customer string `yaml:"customer"`
	Payload  string `yaml:"payload"`
	Timeout  bool   `yaml:"timeout"`
	// Bot is every message the bot sends in answer, in order (exact texts).
	Bot []string `yaml:"bot"`
	// Says are texts that must appear somewhere in the bot's answer (an article's title).
	Says []string `yaml:"says"`
	// Options are the labels of the last message's options.
	Options []string `yaml:"options"`
	// Step is where the flow waits afterwards.
	Step string `yaml:"step"`
	// Handoff is the queue handed off to ("" with handed_off: any).
	Handoff   *string `yaml:"handoff"`
	HandedOff *bool   `yaml:"handed_off"`
	// Resolved expects the flow to end contained.
	Resolved *bool `yaml:"resolved"`
	// Answers must be among the collected answers (a hand-off's context).
	Answers map[string]string `yaml:"answers"`
	// Vars must be among the flow's variables (tags, customer.*, answers.*).
	Vars map[string]string `yaml:"vars"`
}

// CaseResult is one dialogue's outcome: the failures, each naming its turn.
type CaseResult struct {
	Name     string
	Position string
	Failures []string
}

// OK reports whether every turn went as expected.
func (r *CaseResult) OK() bool { return len(r.Failures) == 0 }

// RunCaseFile runs the dialogues of path against the flows, with env's business hours and
// knowledge base (env may be nil; lookups come from the cases). A case file's own problems
// (syntax, unknown flows) are a [cfg.Errors].
func RunCaseFile(path string, flows *File, env *Env) ([]*CaseResult, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var cf CaseFile
	doc, err := cfg.Decode(path, data, &cf)
	if err != nil {
		return nil, err
	}
	if len(cf.Cases) == 0 {
		doc.Errorf("cases", "no cases")
	}
	for i, c := range cf.Cases {
		p := fmt.Sprintf("cases[%d]", i)
		if flows.Flows[c.Flow] == nil {
			doc.Errorf(p+".flow", "unknown flow %q (flows: %s)", c.Flow, strings.Join(slices.Sorted(maps.Keys(flows.Flows)), ", "))
		}
		if len(c.Turns) == 0 {
			doc.Errorf(p+".dialogue", "a dialogue needs turns")
		}
		for j, t := range c.Turns {
			if j == 0 && (t.Customer != "" || t.Payload != "" || t.Timeout) {
				doc.Errorf(fmt.Sprintf("%s.dialogue[0]", p), "the first turn is the flow starting: give only what the bot says")
			}
		}
	}
	if err := doc.Err(); err != nil {
		return nil, err
	}
	var out []*CaseResult
	for i, c := range cf.Cases {
		r := &CaseResult{Name: c.Name, Position: path}
		if pos := doc.Pos(fmt.Sprintf("cases[%d]", i)); pos != nil {
			r.Position = fmt.Sprintf("%s:%d", path, pos.Line)
		}
		runCase(flows.Flows[c.Flow], c, r, env)
		out = append(out, r)
	}
	return out, nil
}

func runCase(fl *Flow, c *Case, r *CaseResult, env *Env) {
	vars := map[string]string{}
	for k, v := range c.Customer {
		vars["customer."+k] = v
	}
	at := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	if c.At != nil {
		at = c.At.UTC()
	}
	f := *fl
	f.env = caseEnv(env, c.Lookups)
	var st State
	for i, t := range c.Turns {
		var out Output
		in := In{Now: at, Conversation: "case"}
		switch {
		case i == 0:
			st, out = f.StartIn(in, vars)
		case t.Timeout:
			if st.WaitUntil == nil {
				r.fail(i, "timeout: the step %q waits without a timeout", st.Step)
				return
			}
			in.Now = *st.WaitUntil
			st, out = f.TimeoutIn(in, st)
		default:
			st, out = f.AnswerIn(in, st, t.Customer, t.Payload)
		}
		at = at.Add(time.Minute)
		r.check(i, t, st, out)
	}
}

func (r *CaseResult) fail(turn int, format string, args ...any) {
	r.Failures = append(r.Failures, fmt.Sprintf("turn %d: ", turn)+fmt.Sprintf(format, args...))
}

func (r *CaseResult) check(i int, t *Turn, st State, out Output) {
	if t.Bot != nil {
		var got []string
		for _, m := range out.Messages {
			got = append(got, m.Text)
		}
		if !slices.Equal(got, t.Bot) {
			r.fail(i, "the bot said %q, want %q", got, t.Bot)
		}
	}
	if len(t.Says) > 0 {
		var all []string
		for _, m := range out.Messages {
			all = append(all, m.Text)
		}
		for _, s := range t.Says {
			if !strings.Contains(strings.Join(all, "\n"), s) {
				r.fail(i, "the bot did not say %q; it said %q", s, all)
			}
		}
	}
	if t.Options != nil {
		var got []string
		if n := len(out.Messages); n > 0 {
			for _, o := range out.Messages[n-1].Options {
				got = append(got, o.Label)
			}
		}
		if !slices.Equal(got, t.Options) {
			r.fail(i, "options %q, want %q", got, t.Options)
		}
	}
	if t.Step != "" && (st.Done || st.Step != t.Step) {
		r.fail(i, "at step %q (done: %v), want %q", st.Step, st.Done, t.Step)
	}
	if t.Handoff != nil || t.HandedOff != nil {
		want := t.HandedOff == nil || *t.HandedOff
		switch {
		case want && out.Handoff == nil:
			r.fail(i, "no hand-off (outcome %q)", st.Outcome)
		case !want && out.Handoff != nil:
			r.fail(i, "handed off to %q: %s", out.Handoff.Queue, out.Handoff.Reason)
		case want && t.Handoff != nil && out.Handoff.Queue != *t.Handoff:
			r.fail(i, "handed off to %q (%s), want %q", out.Handoff.Queue, out.Handoff.Reason, *t.Handoff)
		}
	}
	if t.Resolved != nil && (st.Outcome == OutcomeResolved) != *t.Resolved {
		r.fail(i, "resolved: %v (outcome %q), want %v", st.Outcome == OutcomeResolved, st.Outcome, *t.Resolved)
	}
	for k, v := range t.Answers {
		if got := st.Vars["answers."+k]; got != v {
			r.fail(i, "answers.%s is %q, want %q", k, got, v)
		}
	}
	for k, v := range t.Vars {
		if got := st.Vars[k]; got != v {
			r.fail(i, "%s is %q, want %q", k, got, v)
		}
	}
}

// LoadFile reads and checks a flows file.
func LoadFile(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// ErrNoFlows means no flows file was given.
var ErrNoFlows = errors.New("no flows file: give --flows FILE")

// caseEnv is env with the case's lookup answers.
func caseEnv(env *Env, lookups map[string]map[string]string) *Env {
	out := &Env{}
	if env != nil {
		out.Calendar, out.Search = env.Calendar, env.Search
	}
	out.Lookup = func(_ context.Context, req *LookupRequest) (map[string]string, error) {
		res, ok := lookups[req.Step]
		if !ok {
			return nil, fmt.Errorf("the case gives no answer for lookup %s (lookups: {%s: {field: value}})", req.Step, req.Step)
		}
		if e := res["error"]; e != "" {
			return nil, errors.New(e)
		}
		return res, nil
	}
	return out
}
