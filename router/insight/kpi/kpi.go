package kpi

import (
	"strconv"
	"time"
)

// Dims are the dimensions a figure is grouped by.
type Dims struct {
	Channel  string `json:"channel,omitempty"`
	Account  string `json:"account,omitempty"`
	Queue    string `json:"queue,omitempty"`
	Agent    string `json:"agent,omitempty"`
	Priority int    `json:"priority,omitempty"`
	// Team is set in reports grouped by team only (cells keep agents; a report maps them to
	// their teams in the roster at query time).
	Team string `json:"team,omitempty"`
}

// Dimension names, as group_by takes them.
const (
	DimChannel  = "channel"
	DimAccount  = "account"
	DimQueue    = "queue"
	DimAgent    = "agent"
	DimPriority = "priority"
	// DimTeam groups by the agents' teams (from the roster in force when the report runs).
	DimTeam = "team"
)

// DimNames lists the dimensions in their report order.
var DimNames = []string{DimChannel, DimAccount, DimQueue, DimAgent, DimPriority}

// Project keeps only the named dimensions of d.
func (d Dims) Project(keep map[string]bool) Dims {
	var out Dims
	if keep[DimChannel] {
		out.Channel = d.Channel
	}
	if keep[DimAccount] {
		out.Account = d.Account
	}
	if keep[DimQueue] {
		out.Queue = d.Queue
	}
	if keep[DimAgent] {
		out.Agent = d.Agent
	}
	if keep[DimPriority] {
		out.Priority = d.Priority
	}
	return out
}

// Counters.
const (
	Opened        = "opened"         // conversations opened (at their opening)
	Reopened      = "reopened"       // reopenings
	Resolved      = "resolved"       // resolutions (a conversation resolved twice counts twice)
	ResolvedFirst = "resolved_first" // conversations resolved for the first time
	FCR           = "fcr"            // first resolutions not followed by a reopen within the window
	FCROneReply   = "fcr_one_reply"  // ... with exactly one agent reply before it
	Abandoned     = "abandoned"      // live chats resolved before any agent was assigned or replied
	MessagesIn    = "messages_in"    // customer messages (not auto-replies or bounces)
	MessagesOut   = "messages_out"   // messages sent to the customer (agent replies and automated)
	Replies       = "replies"        // agent replies
	AutomatedOut  = "automated"      // automated outbound messages (bots, surveys, auto-replies)
	Notes         = "notes"          // internal notes
	Assignments   = "assignments"    // times an agent was given the conversation (assigned, or transferred to them)

	// SLA clocks met within their target, and breached (docs/insight.md#sla-policies).
	SLAFirstResponseMet      = "sla_first_response_met"
	SLAFirstResponseBreached = "sla_first_response_breached"
	SLANextResponseMet       = "sla_next_response_met"
	SLANextResponseBreached  = "sla_next_response_breached"
	SLAResolutionMet         = "sla_resolution_met"
	SLAResolutionBreached    = "sla_resolution_breached"

	// Agents' presence time in milliseconds (agent_presence events), and while available
	// their load and limit times that time: occupancy is load_ms ÷ capacity_ms.
	AvailableMs   = "available_ms"
	AwayMs        = "away_ms"
	OfflineMs     = "offline_ms"
	LoadMs        = "load_ms"
	CapacityMs    = "capacity_ms"
	WebchatOpened = "webchat_opened" // live chats opened (the base of the abandonment rate)

	// Surveys (docs/surveys.md): sent (reminders not counted again), answered (a changed
	// answer replaces the earlier one: the latest counts, when it was given), the score sums
	// (averages), satisfied CSAT answers (4–5), NPS promoters (9–10) and detractors (0–6),
	// expired unanswered, and not sent.
	CSATSent       = "csat_sent"
	CSATAnswers    = "csat_answers"
	CSATSatisfied  = "csat_satisfied"
	CSATScoreSum   = "csat_score_sum"
	NPSSent        = "nps_sent"
	NPSAnswers     = "nps_answers"
	NPSPromoters   = "nps_promoters"
	NPSDetractors  = "nps_detractors"
	NPSScoreSum    = "nps_score_sum"
	SurveysExpired = "surveys_expired"
	SurveysSkipped = "surveys_skipped"
)

// Counters lists the counters in report order.
var Counters = []string{Opened, Reopened, Resolved, ResolvedFirst, FCR, FCROneReply, Abandoned, WebchatOpened,
	Assignments, MessagesIn, MessagesOut, Replies, AutomatedOut, Notes,
	SLAFirstResponseMet, SLAFirstResponseBreached, SLANextResponseMet, SLANextResponseBreached, SLAResolutionMet, SLAResolutionBreached,
	AvailableMs, AwayMs, OfflineMs, LoadMs, CapacityMs,
	CSATSent, CSATAnswers, CSATSatisfied, CSATScoreSum, NPSSent, NPSAnswers, NPSPromoters, NPSDetractors, NPSScoreSum,
	SurveysExpired, SurveysSkipped}

// Duration metrics.
const (
	FirstResponse         = "first_response"          // cycle's first customer message → first agent reply
	FirstResponseBusiness = "first_response_business" // the same, in business hours
	NextResponse          = "next_response"           // a later customer message after a reply → the next reply
	QueueWait             = "queue_wait"              // waiting in a queue → assigned
	HandleTime            = "handle_time"             // first assignment of the cycle → resolved
	ResolutionFirst       = "resolution_first"        // opened → first resolution
	ResolutionFinal       = "resolution_final"        // opened → last resolution (taken back on reopen)
	AbandonWait           = "abandon_wait"            // an abandoned live chat: opened → resolved (how long the visitor waited)
)

// Metrics lists the duration metrics in report order.
var Metrics = []string{FirstResponse, FirstResponseBusiness, NextResponse, QueueWait, HandleTime, ResolutionFirst, ResolutionFinal, AbandonWait}

// IsMetric reports whether name is a duration metric.
func IsMetric(name string) bool {
	for _, m := range Metrics {
		if m == name {
			return true
		}
	}
	return false
}

// Op is one change to the figures: a counter (Value 0) or a duration sample (Value in
// milliseconds) under Dims at time At, added (Sign 1) or taken back (Sign -1).
type Op struct {
	At    time.Time
	Dims  Dims
	Name  string
	Value int64
	Sign  int64
	fig   int // figureOf(Name), once Place has looked it up
}

// Quantize is the value a duration sample of ms milliseconds is kept as in percentile
// histograms: whole seconds (rounded down), and from 100 s on two significant digits (rounded
// half up: 1,234 s is kept as 1,200 s, 1,250 s as 1,300 s). Averages use the exact
// milliseconds. A histogram then has at most 100 + 90 values per decade, whatever the traffic.
func Quantize(ms int64) int64 {
	s := ms / 1000
	if s < 100 {
		return s
	}
	p := int64(1)
	for s/p >= 100 {
		p *= 10
	}
	return (s + p/2) / p * p
}

// Mask is a set of dimensions (bit i: DimNames[i]). Every op is added, for each mask of at
// most MaxGroupBy dimensions, to a cell that keeps only those dimensions: a report grouped by
// queue reads the queue cells, whose rows are few, and never adds up per-agent rows.
type Mask uint8

// MaxGroupBy is the most dimensions a report groups by; MaxQuarterGroupBy the most a report
// that reads 15-minute cells (15m and hourly intervals, ranges not on midnight) groups by,
// except QueueChannel.
const (
	MaxGroupBy        = 3
	MaxQuarterGroupBy = 1
)

// QueueChannel is the one two-dimension grouping 15-minute cells keep too: a queue's figures
// per channel, which staffing per channel needs.
var QueueChannel = MaskOf([]string{DimChannel, DimQueue})

// InQuarters says whether 15-minute cells keep mask m's grouping.
func (m Mask) InQuarters() bool { return m.size() <= MaxQuarterGroupBy || m == QueueChannel }

// Masks lists every mask of at most MaxGroupBy dimensions (26 of them).
var Masks = func() []Mask {
	var out []Mask
	for m := Mask(0); m < 1<<len(DimNames); m++ {
		if m.size() <= MaxGroupBy {
			out = append(out, m)
		}
	}
	return out
}()

func (m Mask) size() int {
	n := 0
	for b := m; b != 0; b &= b - 1 {
		n++
	}
	return n
}

// MaskOf is the mask of the named dimensions.
func MaskOf(groupBy []string) Mask {
	var m Mask
	for i, d := range DimNames {
		for _, g := range groupBy {
			if g == d {
				m |= 1 << i
			}
		}
	}
	return m
}

// Keep is the mask as the set Project takes.
func (m Mask) Keep() map[string]bool {
	keep := map[string]bool{}
	for i, d := range DimNames {
		if m&(1<<i) != 0 {
			keep[d] = true
		}
	}
	return keep
}

// Suffix ends the keys of the mask's cells.
func (m Mask) Suffix() string { return ".m" + strconv.Itoa(int(m)) }

// CellID names a stored cell: its interval (QuarterKey or DayKey) and mask.
type CellID struct {
	Base string
	Mask Mask
}

// Key is the cell's key (without the generation).
func (c CellID) Key() string { return c.Base + c.Mask.Suffix() }

// Reduce keeps only the mask's dimensions of d.
func (m Mask) Reduce(d Dims) Dims {
	var out Dims
	if m&1 != 0 {
		out.Channel = d.Channel
	}
	if m&2 != 0 {
		out.Account = d.Account
	}
	if m&4 != 0 {
		out.Queue = d.Queue
	}
	if m&8 != 0 {
		out.Agent = d.Agent
	}
	if m&16 != 0 {
		out.Priority = d.Priority
	}
	return out
}

// Place calls fn for every cell op adds to: its day in loc once per mask (mi indexes Masks),
// and its 15-minute cell once per mask the quarters keep (InQuarters), with the op's
// dimensions reduced to the mask. (Quarters keep few masks: there are 96 of them a day.)
func Place(op Op, loc *time.Location, fn func(base string, mi int, op Op)) {
	op.fig = figureOf(op.Name)
	day, quarter := DayKey(op.At, loc), QuarterKey(op.At)
	for mi, m := range Masks {
		p := op
		p.Dims = m.Reduce(op.Dims)
		fn(day, mi, p)
		if m.InQuarters() {
			fn(quarter, mi, p)
		}
	}
}
