package flows

import (
	"context"
	"errors"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/switchboardhq/switchboard/router/rules"
	"github.com/switchboardhq/switchboard/schema"
)

// Recorded is one recorded conversation as a flow replay sees it: the customer's messages
// in order, and how it went (the flow it was in and the outcome, or its first queue).
type Recorded struct {
	Conversation string
	Customer     string
	Messages     []*schema.Message
	// Flow is the flow the conversation was in ("" for none) and Outcome how it ended
	// (handoff, resolved, stopped, or "" while it waited); Queue where it was handed or
	// queued; Step the step it was at last.
	Flow, Outcome, Queue, Step string
	// Lookups are the lookup fields the flow had (lookup.<save>.<field>): a replay answers
	// lookups with them instead of calling anyone.
	Lookups map[string]string
}

// ReplayCollector gathers recorded conversations from the stream's events.
type ReplayCollector struct {
	convs map[string]*Recorded
	order []string
}

// NewReplayCollector starts an empty collection.
func NewReplayCollector() *ReplayCollector { return &ReplayCollector{convs: map[string]*Recorded{}} }

// Add takes one event of the conversation stream.
func (c *ReplayCollector) Add(ev *schema.Event) {
	if ev.ConversationID == "" {
		return
	}
	r := c.convs[ev.ConversationID]
	if r == nil {
		r = &Recorded{Conversation: ev.ConversationID, Customer: ev.CustomerID, Lookups: map[string]string{}}
		c.convs[ev.ConversationID] = r
		c.order = append(c.order, ev.ConversationID)
	}
	switch ev.Type {
	case schema.EventMessage:
		if m := ev.Message; m != nil && m.Direction == schema.Inbound && (m.Kind == schema.KindMessage || m.Kind == schema.KindAction) {
			r.Messages = append(r.Messages, m)
		}
	case schema.EventFlowStep, schema.EventFlowHandoff, schema.EventFlowCompleted:
		if f := ev.Flow; f != nil && f.State != nil {
			r.Flow, r.Step, r.Outcome = f.Flow, f.State.Step, f.State.Outcome
			if f.Queue != "" {
				r.Queue = f.Queue
			}
			for k, v := range f.State.Vars {
				if strings.HasPrefix(k, "lookup.") {
					r.Lookups[k] = v
				}
			}
		}
	case schema.EventQueued, schema.EventAssigned, schema.EventTransferred:
		if ev.Routing != nil && r.Queue == "" {
			r.Queue = ev.Routing.Queue
		}
	}
}

// Items are the conversations collected, in the order they began.
func (c *ReplayCollector) Items() []*Recorded {
	out := make([]*Recorded, 0, len(c.order))
	for _, id := range c.order {
		if r := c.convs[id]; len(r.Messages) > 0 {
			out = append(out, r)
		}
	}
	return out
}

// Outcome is how a conversation went, or would go, through flows.
type Outcome struct {
	Flow string `json:"flow,omitempty"`
	// Result: contained (resolved by the flow), handoff, dropped (stopped answering, or
	// timed out), stopped (an agent stepped in), none (no flow).
	Result string `json:"result"`
	Queue  string `json:"queue,omitempty"`
	Step   string `json:"step,omitempty"`
}

// Results of a replayed conversation.
const (
	ResultContained = "contained"
	ResultHandoff   = "handoff"
	ResultDropped   = "dropped"
	ResultStopped   = "stopped"
	ResultNone      = "none"
)

// ReplayChange is a conversation the candidate flows take elsewhere.
type ReplayChange struct {
	Conversation string  `json:"conversation_id"`
	Current      Outcome `json:"current"`
	Candidate    Outcome `json:"candidate"`
}

// ReplayTotals count outcomes: by result, hand-offs by queue, drop-offs by flow and step.
type ReplayTotals struct {
	Entered   int            `json:"entered"`
	Results   map[string]int `json:"results"`
	Handoffs  map[string]int `json:"handoffs"`
	DropSteps map[string]int `json:"drop_steps"`
}

// Containment is the share of conversations that entered a flow and were resolved by it.
func (t *ReplayTotals) Containment() float64 {
	if t.Entered == 0 {
		return 0
	}
	return float64(t.Results[ResultContained]) / float64(t.Entered)
}

// ReplayReport compares the flows in force with candidate flows over recorded
// conversations: both are simulated on the same customer messages.
type ReplayReport struct {
	Conversations    int            `json:"conversations"`
	CurrentVersion   string         `json:"current_version,omitempty"`
	CandidateVersion string         `json:"candidate_version"`
	Current          ReplayTotals   `json:"current"`
	Candidate        ReplayTotals   `json:"candidate"`
	Changes          []ReplayChange `json:"changes"`
	// Recorded counts the conversations that were in a flow; Faithful how many of them
	// the simulation of the flows in force ends as recorded.
	Recorded int `json:"recorded"`
	Faithful int `json:"faithful"`
}

// ReplayOptions are what the simulation needs besides the flows.
type ReplayOptions struct {
	Rules    *rules.Rules // which flow a conversation enters (rules' flow:), nil: the defaults only
	Customer func(id string) *schema.Customer
	Env      *Env // business hours and the knowledge base (lookups come from the recording)
}

// Replay runs every recorded conversation through the flows in force (current, may be nil)
// and the candidate.
func Replay(items []*Recorded, current, candidate *File, o ReplayOptions) *ReplayReport {
	rep := &ReplayReport{Conversations: len(items), CandidateVersion: candidate.Version,
		Current: newTotals(), Candidate: newTotals()}
	if current != nil {
		rep.CurrentVersion = current.Version
	}
	for _, rc := range items {
		var cust *schema.Customer
		if o.Customer != nil {
			cust = o.Customer(rc.Customer)
		}
		cur := Outcome{Result: ResultNone}
		if current != nil {
			cur = simulate(rc, current, cust, o)
		}
		cand := simulate(rc, candidate, cust, o)
		rep.Current.add(cur)
		rep.Candidate.add(cand)
		if rc.Flow != "" {
			rep.Recorded++
			if cur.Flow == rc.Flow && cur.Result == recordedResult(rc) {
				rep.Faithful++
			}
		}
		if cur != cand {
			rep.Changes = append(rep.Changes, ReplayChange{Conversation: rc.Conversation, Current: cur, Candidate: cand})
		}
	}
	return rep
}

func recordedResult(rc *Recorded) string {
	switch rc.Outcome {
	case schema.FlowOutcomeResolved:
		return ResultContained
	case schema.FlowOutcomeHandoff:
		return ResultHandoff
	case schema.FlowOutcomeStopped:
		return ResultStopped
	}
	return ResultDropped
}

func newTotals() ReplayTotals {
	return ReplayTotals{Results: map[string]int{}, Handoffs: map[string]int{}, DropSteps: map[string]int{}}
}

func (t *ReplayTotals) add(o Outcome) {
	t.Results[o.Result]++
	if o.Result == ResultNone {
		return
	}
	t.Entered++
	switch o.Result {
	case ResultHandoff:
		t.Handoffs[cmpOr(o.Queue, "(routing decides)")]++
	case ResultDropped:
		t.DropSteps[o.Flow+"."+o.Step]++
	}
}

// simulate runs one conversation through a flows file: the flow its first message enters,
// then each later message as an answer while the flow waits (a message after a question's
// timeout times it out first).
func simulate(rc *Recorded, file *File, cust *schema.Customer, o ReplayOptions) Outcome {
	first := rc.Messages[0]
	name := ""
	if o.Rules != nil {
		in := &rules.Input{Message: first, Customer: cust, Channel: first.Channel, Now: first.ReceivedAt}
		if n, _ := o.Rules.FlowFor(in); n == rules.FlowNone {
			return Outcome{Result: ResultNone}
		} else {
			name = n
		}
	}
	if name == "" {
		name = file.Default(string(first.Channel), first.Account)
	}
	f := file.Flow(name)
	if f == nil {
		return Outcome{Result: ResultNone}
	}
	sim := *f
	sim.env = replayEnv(o.Env, rc.Lookups)
	vars := CustomerVars(cust, first)
	st, out := sim.StartIn(In{Now: first.ReceivedAt, Message: first, Customer: cust}, vars)
	for _, m := range rc.Messages[1:] {
		if st.Done {
			break
		}
		if st.WaitUntil != nil && !m.ReceivedAt.Before(*st.WaitUntil) {
			if st, out = sim.TimeoutIn(In{Now: *st.WaitUntil, Customer: cust}, st); st.Done {
				break
			}
		}
		text, payload := AnswerOf(m)
		st, out = sim.AnswerIn(In{Now: m.ReceivedAt, Message: m, Customer: cust}, st, text, payload)
	}
	res := Outcome{Flow: f.Name, Step: st.Step}
	switch {
	case out.Handoff != nil || st.Outcome == OutcomeHandoff:
		res.Result = ResultHandoff
		if out.Handoff != nil {
			res.Queue = out.Handoff.Queue
		}
	case st.Outcome == OutcomeResolved:
		res.Result = ResultContained
	default:
		res.Result = ResultDropped
	}
	return res
}

// replayEnv answers lookups from the recording (a lookup the recording lacks fails).
func replayEnv(env *Env, recorded map[string]string) *Env {
	out := &Env{}
	if env != nil {
		out.Calendar, out.Search = env.Calendar, env.Search
	}
	out.Lookup = func(_ context.Context, req *LookupRequest) (map[string]string, error) {
		prefix := "lookup." + cmpOr(req.Spec.Save, req.Step) + "."
		res := map[string]string{}
		for k, v := range recorded {
			if name, ok := strings.CutPrefix(k, prefix); ok {
				res[name] = v
			}
		}
		if len(res) == 0 {
			return nil, errNotRecorded
		}
		return res, nil
	}
	return out
}

var errNotRecorded = errors.New("the recording has no answer for this lookup")

// SortedCounts lists a count map by count, then key.
func SortedCounts(m map[string]int) []string {
	keys := slices.Collect(maps.Keys(m))
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	return keys
}
