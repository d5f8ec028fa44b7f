package flows

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/schema"
)

// State is a conversation's place in a flow: what the router stores between messages (the
// snapshot's flow, rebuilt from the flow events).
type State = schema.FlowState

// Outcomes of a flow.
const (
	OutcomeHandoff  = schema.FlowOutcomeHandoff
	OutcomeResolved = schema.FlowOutcomeResolved
)

// Output is what one turn of the engine did.
type Output struct {
	// Messages are the bot's messages, in order (automated: not an agent's response).
	Messages []Message
	// Steps are the steps taken, with why.
	Steps []schema.FlowStep
	// Handoff is set when the flow handed the conversation to a queue; Resolved when it was
	// contained (the resolution's reason).
	Handoff  *Handoff
	Resolved string
	// Tags are tags to add to the conversation, Priority a priority to set (set steps), and
	// Customer customer attributes to store.
	Tags     []string
	Priority *int
	Customer map[string]string
}

// Ended reports whether the turn ended the flow.
func (o *Output) Ended() bool { return o.Handoff != nil || o.Resolved != "" }

// Message is one bot message: text, and the options of a question (rendered as buttons,
// quick replies or a numbered menu by the channel).
type Message struct {
	Text    string   `json:"text"`
	Options []Choice `json:"options,omitempty"`
	// Articles are the knowledge-base matches an article step answers with.
	Articles []Article `json:"articles,omitempty"`
}

// Choice is one option as shown: its number, label and payload.
type Choice struct {
	Number  int    `json:"number"`
	Label   string `json:"label"`
	Payload string `json:"payload"`
}

// Handoff is where the flow sent the conversation, with the answers collected.
type Handoff struct {
	Queue   string            `json:"queue,omitempty"`
	Reason  string            `json:"reason"`
	Answers map[string]string `json:"answers,omitempty"`
}

// In is what a turn knows beyond the state: the time, the customer's message (nil when a
// timer fires) and record, the conversation's tags.
type In struct {
	Ctx      context.Context
	Now      time.Time
	Message  *schema.Message
	Customer *schema.Customer
	Tags     []string
	// Conversation is the conversation's id (sent with lookups).
	Conversation string
}

func (in *In) ctx() context.Context {
	if in.Ctx == nil {
		return context.Background()
	}
	return in.Ctx
}

// Start enters the flow: it runs the steps from the first until a question waits or the
// flow ends. vars are the customer's (customer.name, …).
func (f *Flow) Start(vars map[string]string, now time.Time) (State, Output) {
	return f.StartIn(In{Now: now}, vars)
}

// StartIn is [Flow.Start] with the turn's context.
func (f *Flow) StartIn(in In, vars map[string]string) (State, Output) {
	st := State{Flow: f.Name, Version: f.Version, Step: f.First, Vars: maps.Clone(vars)}
	if st.Vars == nil {
		st.Vars = map[string]string{}
	}
	var out Output
	f.run(&in, &st, &out, "the flow starts")
	return st, out
}

// Answer takes the customer's answer to the waiting question: text, or a button's payload.
// A hand-off keyword hands off at once.
func (f *Flow) Answer(st State, text, payload string, now time.Time) (State, Output) {
	return f.AnswerIn(In{Now: now}, st, text, payload)
}

// AnswerIn is [Flow.Answer] with the turn's context.
func (f *Flow) AnswerIn(in In, st State, text, payload string) (State, Output) {
	var out Output
	st.Vars = maps.Clone(st.Vars)
	if st.Done || !st.Waiting {
		return st, out
	}
	if st.Vars == nil {
		st.Vars = map[string]string{}
	}
	st.Version = f.Version // the version that takes this turn
	s := f.steps[st.Step]
	if s == nil { // the flow changed under the conversation
		f.handoff(&st, &out, &HandoffSpec{Queue: f.Handoff}, fmt.Sprintf("step %q is no longer in flow %s", st.Step, f.Name))
		return st, out
	}
	n := Normalize(text)
	if payload == "" && slices.Contains(f.keywords, n) {
		f.handoff(&st, &out, &HandoffSpec{Queue: f.Handoff}, fmt.Sprintf("the customer asked for a person (%q)", text))
		return st, out
	}
	next, value, why, ok := s.accept(text, payload)
	if !ok {
		st.Tries++
		if st.Tries > s.retries {
			st.Waiting, st.WaitUntil, st.Tries = false, nil, 0
			out.Steps = append(out.Steps, f.event(s, fmt.Sprintf("%q is not an answer, %d times", text, s.retries+1)))
			if s.onInvalid == "" {
				f.handoff(&st, &out, &HandoffSpec{Queue: f.Handoff}, fmt.Sprintf("no valid answer to %s after %d tries", s.name, s.retries+1))
				return st, out
			}
			st.Step = s.onInvalid
			f.run(&in, &st, &out, "invalid answers")
			return st, out
		}
		out.Steps = append(out.Steps, f.event(s, fmt.Sprintf("%q is not an answer (try %d of %d)", text, st.Tries, s.retries+1)))
		out.Messages = append(out.Messages, f.question(s, st.Vars, true))
		return st, out
	}
	if s.save != "" {
		st.Vars["answers."+s.save] = value
	}
	st.Vars["answers."+s.name] = value
	st.Waiting, st.WaitUntil, st.Tries = false, nil, 0
	out.Steps = append(out.Steps, f.event(s, why))
	st.Step = next
	f.run(&in, &st, &out, why)
	return st, out
}

// Timeout applies the waiting question's timeout (when now is past it).
func (f *Flow) Timeout(st State, now time.Time) (State, Output) {
	return f.TimeoutIn(In{Now: now}, st)
}

// TimeoutIn is [Flow.Timeout] with the turn's context.
func (f *Flow) TimeoutIn(in In, st State) (State, Output) {
	var out Output
	st.Vars = maps.Clone(st.Vars)
	s := f.steps[st.Step]
	if st.Done || !st.Waiting || st.WaitUntil == nil || in.Now.Before(*st.WaitUntil) || s == nil {
		return st, out
	}
	st.Waiting, st.WaitUntil, st.Tries, st.Version = false, nil, 0, f.Version
	out.Steps = append(out.Steps, f.event(s, "no answer within "+s.timeout.String()))
	st.Step = s.onTimeout
	f.run(&in, &st, &out, "timed out")
	return st, out
}

// accept matches an answer against the step: an option (payload, number, label or value,
// compared normalized) or free text through the validator.
func (s *step) accept(text, payload string) (next, value, why string, ok bool) {
	if len(s.options) > 0 {
		n := Normalize(text)
		for _, o := range s.options {
			if payload != "" && payload == o.value || payload == "" && slices.Contains(o.norm, n) {
				return o.next, o.value, fmt.Sprintf("answered %q: option %q", cmpOr(payload, text), o.label), true
			}
		}
		return "", "", "", false
	}
	if s.validate == nil {
		v := strings.TrimSpace(text)
		return s.next, v, fmt.Sprintf("answered %q", v), v != ""
	}
	v, valid := s.validate(text)
	return s.next, v, fmt.Sprintf("answered %q", v), valid
}

// run takes steps from st.Step until a question waits or the flow ends.
func (f *Flow) run(in *In, st *State, out *Output, why string) {
	for !st.Done && !st.Waiting {
		s := f.steps[st.Step]
		if s == nil {
			f.handoff(st, out, &HandoffSpec{Queue: f.Handoff}, fmt.Sprintf("step %q is no longer in flow %s", st.Step, f.Name))
			return
		}
		if st.Steps++; st.Steps > f.MaxSteps {
			f.handoff(st, out, &HandoffSpec{Queue: f.Handoff}, fmt.Sprintf("the flow took more than %d steps", f.MaxSteps))
			return
		}
		switch s.kind {
		case KindSay:
			out.Messages = append(out.Messages, Message{Text: render(s.text, st.Vars)})
			out.Steps = append(out.Steps, f.event(s, why))
			st.Step, why = s.next, "after "+s.name
		case KindAsk:
			out.Messages = append(out.Messages, f.question(s, st.Vars, false))
			out.Steps = append(out.Steps, f.event(s, why))
			f.wait(in, st, s)
		case KindBranch:
			next, w, ok := f.branch(in, st, s)
			if !ok {
				out.Steps = append(out.Steps, f.event(s, w))
				f.handoff(st, out, &HandoffSpec{Queue: f.Handoff}, fmt.Sprintf("no case of %s holds", s.name))
				return
			}
			out.Steps = append(out.Steps, f.event(s, w))
			st.Step, why = next, w
		case KindSet:
			f.set(st, out, s)
			out.Steps = append(out.Steps, f.event(s, why))
			st.Step, why = s.next, "after "+s.name
		case KindLookup:
			next, w := f.lookup(in, st, s)
			out.Steps = append(out.Steps, f.event(s, w))
			st.Step, why = next, w
		case KindArticle:
			msgs, w, found := f.article(st, s)
			out.Steps = append(out.Steps, f.event(s, w))
			if !found {
				st.Step, why = s.none, w
				continue
			}
			out.Messages = append(out.Messages, msgs...)
			f.wait(in, st, s)
		case KindHandoff:
			out.Steps = append(out.Steps, f.event(s, why))
			f.handoff(st, out, s.handoff, cmpOr(render(s.handoff.Reason, st.Vars), why))
		case KindResolve:
			out.Steps = append(out.Steps, f.event(s, why))
			if s.text != "" {
				out.Messages = append(out.Messages, Message{Text: render(s.text, st.Vars)})
			}
			st.Done, st.Outcome, out.Resolved = true, OutcomeResolved, cmpOr(render(s.text, st.Vars), "resolved by flow "+f.Name)
		}
	}
}

func (f *Flow) wait(in *In, st *State, s *step) {
	st.Waiting = true
	if s.timeout > 0 {
		at := in.Now.Add(s.timeout)
		st.WaitUntil = &at
	}
}

// branch finds the first case that holds: its next step and why.
func (f *Flow) branch(in *In, st *State, s *step) (string, string, bool) {
	var notes []string
	for i, cs := range s.cases {
		ok, w := cs.holds(f.env, in, st)
		if w != "" && !ok {
			notes = append(notes, w)
		}
		if ok {
			return cs.next, fmt.Sprintf("case %d holds: %s", i+1, w), true
		}
	}
	why := "no case holds"
	if len(notes) > 0 {
		why += " (" + strings.Join(notes, "; ") + ")"
	}
	return "", why, false
}

func (cs *branchCase) holds(env *Env, in *In, st *State) (bool, string) {
	switch {
	case cs.hours != "":
		cal := env.calendar(cs.hours)
		if cal == nil {
			return false, fmt.Sprintf("business hours %q are not defined in the rules file", cs.hours)
		}
		open := cal.Open(in.Now)
		if open == cs.open {
			if open {
				return true, cs.hours + " is open"
			}
			return true, cs.hours + " is closed"
		}
		return false, ""
	case cs.cond != nil:
		ok, err := cs.cond.Eval(in.Message, in.Customer, in.Tags, answersOf(st.Vars), st.Vars, in.Now)
		if err != nil {
			return false, fmt.Sprintf("%s: %v", cs.expr, err)
		}
		return ok, cs.expr
	}
	if cs.eval(st.Vars) {
		return true, cmpOr(cs.when, "otherwise")
	}
	return false, ""
}

// set stores variables; tags, priority and customer attributes also go to the output for
// the router to apply.
func (f *Flow) set(st *State, out *Output, s *step) {
	for _, k := range slices.Sorted(maps.Keys(s.set)) {
		v := render(s.set[k], st.Vars)
		switch {
		case k == "tags":
			out.Tags = append(out.Tags, strings.Fields(strings.ReplaceAll(v, ",", " "))...)
			st.Vars[k] = strings.TrimSpace(strings.Join([]string{st.Vars[k], v}, " "))
		case k == "priority":
			var p int
			if _, err := fmt.Sscan(v, &p); err == nil && p >= 0 && p <= 1000 {
				out.Priority = &p
			}
			st.Vars[k] = v
		default:
			if name, ok := strings.CutPrefix(k, "customer."); ok {
				if out.Customer == nil {
					out.Customer = map[string]string{}
				}
				out.Customer[name] = v
			}
			st.Vars[k] = v
		}
	}
}

// question is an ask step's message (again, with the reprompt, after an invalid answer).
func (f *Flow) question(s *step, vars map[string]string, again bool) Message {
	text := s.text
	if s.kind == KindArticle {
		text = s.prompt
	}
	if again && s.reprompt != "" {
		text = s.reprompt
	}
	m := Message{Text: render(text, vars)}
	for i, o := range s.options {
		m.Options = append(m.Options, Choice{Number: i + 1, Label: render(o.label, vars), Payload: o.value})
	}
	return m
}

func (f *Flow) handoff(st *State, out *Output, h *HandoffSpec, reason string) {
	st.Done, st.Waiting, st.WaitUntil, st.Outcome = true, false, nil, OutcomeHandoff
	out.Handoff = &Handoff{Queue: h.Queue, Reason: reason, Answers: answersOf(st.Vars)}
}

// answersOf are the answers among the variables (answers.<name> → name).
func answersOf(vars map[string]string) map[string]string {
	answers := map[string]string{}
	for k, v := range vars {
		if name, ok := strings.CutPrefix(k, "answers."); ok {
			answers[name] = v
		}
	}
	return answers
}

func (f *Flow) event(s *step, why string) schema.FlowStep {
	return schema.FlowStep{Step: s.name, Kind: s.kind, Why: why}
}
