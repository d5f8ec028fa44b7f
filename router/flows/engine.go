package flows

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// State is a conversation's place in a flow: what the router stores between messages.
type State struct {
	Flow    string            `json:"flow"`
	Version string            `json:"version"`
	Step    string            `json:"step"`
	Vars    map[string]string `json:"vars,omitempty"`
	// Tries counts invalid answers to the current question.
	Tries int `json:"tries,omitempty"`
	// Steps counts the steps taken (the budget is the flow's max_steps).
	Steps int `json:"steps"`
	// Waiting is set while a question waits for the customer; WaitUntil is its timeout.
	Waiting   bool       `json:"waiting,omitempty"`
	WaitUntil *time.Time `json:"wait_until,omitempty"`
	// Done is set once the flow ended: Outcome says how (handoff or resolved).
	Done    bool   `json:"done,omitempty"`
	Outcome string `json:"outcome,omitempty"`
}

// Outcomes of a flow.
const (
	OutcomeHandoff  = "handoff"
	OutcomeResolved = "resolved"
)

// Output is what one turn of the engine did.
type Output struct {
	// Messages are the bot's messages, in order (automated: not an agent's response).
	Messages []Message
	// Steps are the step events: each step taken, with why.
	Steps []StepEvent
	// Handoff is set when the flow handed the conversation to a queue; Resolved when it was
	// contained.
	Handoff  *Handoff
	Resolved string
}

// Message is one bot message: text, and the options of a question (rendered as buttons,
// quick replies or a numbered menu by the channel).
type Message struct {
	Text    string   `json:"text"`
	Options []Choice `json:"options,omitempty"`
}

// Choice is one option as shown: its number, label and payload.
type Choice struct {
	Number  int    `json:"number"`
	Label   string `json:"label"`
	Payload string `json:"payload"`
}

// StepEvent is one step taken, as the flow_step event carries it.
type StepEvent struct {
	Flow    string `json:"flow"`
	Version string `json:"version"`
	Step    string `json:"step"`
	Kind    string `json:"kind"`
	Why     string `json:"why,omitempty"`
}

// Handoff is where the flow sent the conversation, with the answers collected.
type Handoff struct {
	Queue   string            `json:"queue,omitempty"`
	Reason  string            `json:"reason"`
	Answers map[string]string `json:"answers,omitempty"`
}

// Start enters the flow: it runs the steps from the first until a question waits or the
// flow ends. vars are the customer's (customer.name, …).
func (f *Flow) Start(vars map[string]string, now time.Time) (State, Output) {
	st := State{Flow: f.Name, Version: f.Version, Step: f.First, Vars: maps.Clone(vars)}
	if st.Vars == nil {
		st.Vars = map[string]string{}
	}
	var out Output
	f.run(&st, &out, "the flow starts", now)
	return st, out
}

// Answer takes the customer's answer to the waiting question: text, or a button's payload.
// A hand-off keyword hands off at once.
func (f *Flow) Answer(st State, text, payload string, now time.Time) (State, Output) {
	var out Output
	st.Vars = maps.Clone(st.Vars)
	if st.Done || !st.Waiting {
		return st, out
	}
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
			f.run(&st, &out, "invalid answers", now)
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
	f.run(&st, &out, why, now)
	return st, out
}

// Timeout applies the waiting question's timeout (when now is past it).
func (f *Flow) Timeout(st State, now time.Time) (State, Output) {
	var out Output
	st.Vars = maps.Clone(st.Vars)
	s := f.steps[st.Step]
	if st.Done || !st.Waiting || st.WaitUntil == nil || now.Before(*st.WaitUntil) || s == nil {
		return st, out
	}
	st.Waiting, st.WaitUntil, st.Tries = false, nil, 0
	out.Steps = append(out.Steps, f.event(s, "no answer within "+s.timeout.String()))
	st.Step = s.onTimeout
	f.run(&st, &out, "timed out", now)
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
func (f *Flow) run(st *State, out *Output, why string, now time.Time) {
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
			st.Waiting = true
			if s.timeout > 0 {
				at := now.Add(s.timeout)
				st.WaitUntil = &at
			}
		case KindBranch:
			taken := false
			for i, cs := range s.cases {
				if cs.eval(st.Vars) {
					w := cs.when
					if w == "" {
						w = "otherwise"
					}
					out.Steps = append(out.Steps, f.event(s, fmt.Sprintf("case %d holds: %s", i+1, w)))
					st.Step, why, taken = cs.next, w, true
					break
				}
			}
			if !taken {
				f.handoff(st, out, &HandoffSpec{Queue: f.Handoff}, fmt.Sprintf("no case of %s holds", s.name))
				return
			}
		case KindSet:
			for _, k := range slices.Sorted(maps.Keys(s.set)) {
				st.Vars[k] = render(s.set[k], st.Vars)
			}
			out.Steps = append(out.Steps, f.event(s, why))
			st.Step, why = s.next, "after "+s.name
		case KindHandoff:
			out.Steps = append(out.Steps, f.event(s, why))
			f.handoff(st, out, s.handoff, cmpOr(s.handoff.Reason, why))
		case KindResolve:
			out.Steps = append(out.Steps, f.event(s, why))
			if s.text != "" {
				out.Messages = append(out.Messages, Message{Text: render(s.text, st.Vars)})
			}
			st.Done, st.Outcome, out.Resolved = true, OutcomeResolved, cmpOr(render(s.text, st.Vars), "resolved by flow "+f.Name)
		}
	}
}

// question is an ask step's message (again, with the reprompt, after an invalid answer).
func (f *Flow) question(s *step, vars map[string]string, again bool) Message {
	text := s.text
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
	answers := map[string]string{}
	for k, v := range st.Vars {
		if name, ok := strings.CutPrefix(k, "answers."); ok {
			answers[name] = v
		}
	}
	st.Done, st.Waiting, st.WaitUntil, st.Outcome = true, false, nil, OutcomeHandoff
	out.Handoff = &Handoff{Queue: h.Queue, Reason: reason, Answers: answers}
}

func (f *Flow) event(s *step, why string) StepEvent {
	return StepEvent{Flow: f.Name, Version: f.Version, Step: s.name, Kind: s.kind, Why: why}
}
