package kpi

import (
	"slices"
	"time"

	"github.com/switchboardhq/switchboard/schema"
)

// Options are what a tracker needs besides the events.
type Options struct {
	// Calendar measures business hours (nil: no business-hours figures).
	Calendar interface {
		Between(from, to time.Time) time.Duration
	}
	// ReopenWindow: a first resolution counts as first-contact resolved unless the
	// conversation is reopened within this long after it (0: any reopen).
	ReopenWindow time.Duration
}

// Tracker follows one conversation and turns its events into ops. The zero value is ready
// for the conversation's first event; feed every event in order (Seq 1, 2, ...).
type Tracker struct {
	Seq  uint64 // the last event applied
	dims Dims   // now: channel and account of the last customer message; queue, agent, priority of routing

	openedAt  time.Time
	opened    *mark // the opened count, which follows the routing until the first assignment
	openDue   bool  // opened, not counted yet (it counts at the first customer message)
	awaiting  time.Time
	responded bool
	queuedAt  time.Time
	assignAt  time.Time
	assigned  bool
	replies   int
	resolved  int
	reopened  bool
	last      *mark // the last resolution: its ops are taken back when the conversation reopens
	// answers holds each survey's counted answer, taken back when it is replaced.
	answers map[string]*mark
}

// mark is ops that may be taken back or moved.
type mark struct {
	at    time.Time
	dims  Dims
	fixed bool
	ops   []Op
}

// Apply folds ev into the tracker and returns the ops it causes. Events at or before Seq are
// ignored (nil).
func (t *Tracker) Apply(ev *schema.Event, o Options) []Op {
	if ev.Seq != 0 && ev.Seq <= t.Seq {
		return nil
	}
	t.Seq = ev.Seq
	out := &ops{at: ev.At}
	switch ev.Type {
	case schema.EventOpened:
		t.openedAt, t.openDue = ev.At, true
	case schema.EventMessage:
		if ev.Message != nil {
			t.message(ev, ev.Message, o, out)
		}
	case schema.EventQueued, schema.EventAssigned, schema.EventTransferred:
		t.routing(ev, out)
	case schema.EventUnassigned:
		t.dims.Agent = ""
		if t.queuedAt.IsZero() {
			t.queuedAt = ev.At
		}
	case schema.EventResolved:
		t.resolve(ev, o, out)
	case schema.EventReopened:
		t.reopen(ev, o, out)
	case schema.EventSurveySent, schema.EventSurveyAnswered, schema.EventSurveyExpired, schema.EventSurveySkipped:
		if ev.Survey != nil {
			t.survey(ev, out)
		}
	case schema.EventSLASatisfied, schema.EventSLABreached:
		if ev.SLA != nil {
			if name := slaCounter(ev); name != "" {
				out.add(name, t.dims, 0)
			}
		}
	}
	return out.list
}

// ops collects an event's ops.
type ops struct {
	at   time.Time
	list []Op
}

// add adds one to a counter, or a sample of ms, at the event's time.
func (o *ops) add(name string, d Dims, ms int64) {
	o.list = append(o.list, Op{At: o.at, Dims: d, Name: name, Value: ms, Sign: 1})
}

func (o *ops) push(op ...Op) { o.list = append(o.list, op...) }

func (t *Tracker) message(ev *schema.Event, m *schema.Message, o Options, out *ops) {
	if m.Direction == schema.Inbound {
		if m.Kind == schema.KindAutoReply || m.Kind == schema.KindBounce || slices.Contains(m.Flags, schema.FlagSurveyAnswer) {
			return
		}
		t.dims.Channel, t.dims.Account = string(m.Channel), m.Account
		if t.openDue {
			t.openDue = false
			t.opened = &mark{at: t.openedAt, dims: t.dims}
			out.push(Op{At: t.openedAt, Dims: t.dims, Name: Opened, Sign: 1})
			if m.Channel == schema.ChannelWebchat {
				out.push(Op{At: t.openedAt, Dims: t.dims, Name: WebchatOpened, Sign: 1})
			}
		}
		if t.awaiting.IsZero() && (m.Kind == schema.KindMessage || m.Kind == schema.KindAction || m.Kind == "") {
			t.awaiting = ev.At
		}
		out.add(MessagesIn, t.dims, 0)
		return
	}
	switch {
	case m.Kind == schema.KindNote:
		out.add(Notes, t.dims, 0)
	case m.Automated():
		out.add(AutomatedOut, t.dims, 0)
		out.add(MessagesOut, t.dims, 0)
	default:
		d := t.dims
		if m.AgentID != "" {
			d.Agent = m.AgentID
		}
		t.replies++
		out.add(MessagesOut, d, 0)
		out.add(Replies, d, 0)
		if t.awaiting.IsZero() {
			return
		}
		ms := ev.At.Sub(t.awaiting).Milliseconds()
		if t.responded {
			out.add(NextResponse, d, ms)
		} else {
			out.add(FirstResponse, d, ms)
			if o.Calendar != nil {
				out.add(FirstResponseBusiness, d, o.Calendar.Between(t.awaiting, ev.At).Milliseconds())
			}
		}
		t.responded, t.awaiting = true, time.Time{}
	}
}

func (t *Tracker) routing(ev *schema.Event, out *ops) {
	r := ev.Routing
	if r == nil {
		r = &schema.Routing{}
	}
	t.dims.Queue, t.dims.Priority, t.dims.Agent = r.Queue, r.Priority, r.AgentID
	if r.AgentID == "" {
		if t.queuedAt.IsZero() {
			t.queuedAt = ev.At
		}
	} else {
		since := t.queuedAt
		if since.IsZero() {
			since = ev.At
		}
		out.add(QueueWait, t.dims, ev.At.Sub(since).Milliseconds())
		out.add(Assignments, t.dims, 0)
		t.queuedAt = time.Time{}
		if t.assignAt.IsZero() {
			t.assignAt = ev.At
		}
		t.assigned = true
	}
	t.moveOpened(out, r.AgentID != "")
}

// moveOpened lets the opened count follow the conversation's queue, priority and agent
// until its first assignment (or resolution).
func (t *Tracker) moveOpened(out *ops, fix bool) {
	m := t.opened
	if m == nil || m.fixed {
		return
	}
	nd := Dims{Channel: m.dims.Channel, Account: m.dims.Account, Queue: t.dims.Queue, Agent: t.dims.Agent, Priority: t.dims.Priority}
	if nd != m.dims {
		out.push(Op{At: m.at, Dims: m.dims, Name: Opened, Sign: -1}, Op{At: m.at, Dims: nd, Name: Opened, Sign: 1})
		if m.dims.Channel == string(schema.ChannelWebchat) {
			out.push(Op{At: m.at, Dims: m.dims, Name: WebchatOpened, Sign: -1}, Op{At: m.at, Dims: nd, Name: WebchatOpened, Sign: 1})
		}
		m.dims = nd
	}
	m.fixed = fix
}

func (t *Tracker) resolve(ev *schema.Event, o Options, out *ops) {
	t.moveOpened(out, true)
	d := t.dims
	out.add(Resolved, d, 0)
	if !t.assignAt.IsZero() {
		out.add(HandleTime, d, ev.At.Sub(t.assignAt).Milliseconds())
	}
	since := ev.At.Sub(t.openedAt).Milliseconds()
	if t.openedAt.IsZero() {
		since = 0
	}
	undo := []Op{{At: ev.At, Dims: d, Name: ResolutionFinal, Value: since, Sign: 1}}
	if t.resolved == 0 {
		out.add(ResolvedFirst, d, 0)
		out.add(ResolutionFirst, d, since)
		if !t.reopened && t.replies > 0 {
			undo = append(undo, Op{At: ev.At, Dims: d, Name: FCR, Sign: 1})
			if t.replies == 1 {
				undo = append(undo, Op{At: ev.At, Dims: d, Name: FCROneReply, Sign: 1})
			}
		}
	}
	if t.resolved == 0 && d.Channel == string(schema.ChannelWebchat) && !t.assigned && t.replies == 0 && t.opened != nil {
		out.add(Abandoned, d, 0)
		out.add(AbandonWait, d, since)
	}
	out.push(undo...)
	t.last = &mark{at: ev.At, dims: d, ops: undo}
	t.resolved++
	t.assignAt, t.queuedAt, t.awaiting = time.Time{}, time.Time{}, time.Time{}
}

func (t *Tracker) reopen(ev *schema.Event, o Options, out *ops) {
	out.add(Reopened, t.dims, 0)
	if l := t.last; l != nil {
		within := o.ReopenWindow <= 0 || ev.At.Sub(l.at) <= o.ReopenWindow
		for _, op := range l.ops {
			if op.Name == ResolutionFinal || within {
				op.Sign = -op.Sign
				out.push(op)
			}
		}
	}
	t.last, t.reopened = nil, true
	t.responded, t.awaiting, t.queuedAt, t.assignAt, t.assigned = false, time.Time{}, time.Time{}, time.Time{}, false
	t.dims.Queue, t.dims.Agent, t.dims.Priority = "", "", 0
}

// slaCounter is the counter an SLA event adds to: a clock met in time, or breached. A clock
// met after its breach counts as breached only (at the breach).
func slaCounter(ev *schema.Event) string {
	c := ev.SLA.Clock
	if ev.Type == schema.EventSLASatisfied && c.BreachedAt != nil {
		return ""
	}
	outcome := "_met"
	if ev.Type == schema.EventSLABreached {
		outcome = "_breached"
	}
	switch c.Metric {
	case schema.SLAFirstResponse, schema.SLANextResponse, schema.SLAResolution:
		return "sla_" + c.Metric + outcome
	}
	return ""
}

// survey counts a survey event under the conversation's dimensions, with the survey's
// channel and account (where it was asked).
func (t *Tracker) survey(ev *schema.Event, out *ops) {
	e := ev.Survey
	d := t.dims
	if e.Channel != "" {
		d.Channel, d.Account = string(e.Channel), e.Account
	}
	nps := e.Kind == schema.SurveyNPS
	switch ev.Type {
	case schema.EventSurveySent:
		if e.Reminder {
			return
		}
		if nps {
			out.add(NPSSent, d, 0)
		} else {
			out.add(CSATSent, d, 0)
		}
	case schema.EventSurveyExpired:
		out.add(SurveysExpired, d, 0)
	case schema.EventSurveySkipped:
		out.add(SurveysSkipped, d, 0)
	case schema.EventSurveyAnswered:
		if e.Score == nil {
			return
		}
		if prev := t.answers[e.ID]; prev != nil {
			for _, op := range prev.ops {
				op.Sign = -op.Sign
				out.push(op)
			}
		}
		ops := answerOps(ev.At, d, nps, *e.Score)
		out.push(ops...)
		if t.answers == nil {
			t.answers = map[string]*mark{}
		}
		t.answers[e.ID] = &mark{at: ev.At, dims: d, ops: ops}
	}
}

// answerOps are the counters of one answer.
func answerOps(at time.Time, d Dims, nps bool, score int) []Op {
	op := func(name string, v int64) Op { return Op{At: at, Dims: d, Name: name, Value: v, Sign: 1} }
	var out []Op
	if nps {
		out = append(out, op(NPSAnswers, 0))
		switch {
		case score >= 9:
			out = append(out, op(NPSPromoters, 0))
		case score <= 6:
			out = append(out, op(NPSDetractors, 0))
		}
		if score > 0 { // a counter op of value 0 counts one: a zero score adds nothing
			out = append(out, op(NPSScoreSum, int64(score)))
		}
		return out
	}
	out = append(out, op(CSATAnswers, 0), op(CSATScoreSum, int64(score)))
	if score >= 4 {
		out = append(out, op(CSATSatisfied, 0))
	}
	return out
}
