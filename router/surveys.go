package router

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/switchboardhq/switchboard/pipeline"
	"github.com/switchboardhq/switchboard/pipeline/streams"
	"github.com/switchboardhq/switchboard/router/rules"
	"github.com/switchboardhq/switchboard/schema"
)

// Survey commands (docs/surveys.md).
const (
	// CommandSurvey asks for a survey on one conversation now (REST).
	CommandSurvey CommandType = "survey"
	// CommandSurveyTimer is a survey's send, reminder or expiry time coming (a JetStream
	// message schedule on SB_ROUTE, like the SLA timers).
	CommandSurveyTimer CommandType = "survey_timer"
	// CommandSurveyAnswer is an answer given on the survey page (an email's link).
	CommandSurveyAnswer CommandType = "survey_answer"
	// CommandRecover opens a recovery task for a bad score: a new conversation of the
	// customer, queued in the policy's recovery queue.
	CommandRecover CommandType = "recover"
)

// SurveyCommand is the survey part of a command.
type SurveyCommand struct {
	ID string `json:"id,omitempty"`
	// Timer is send, remind or expire.
	Timer string `json:"timer,omitempty"`
	// Policy and Kind choose a requested survey's policy (empty: the first that matches, or
	// the first of the kind).
	Policy string `json:"policy,omitempty"`
	Kind   string `json:"kind,omitempty"`
	// Score and Comment are a page's answer.
	Score   *int   `json:"score,omitempty"`
	Comment string `json:"comment,omitempty"`
	// Origin is the conversation whose answer asks for recovery, Route where it was answered.
	Origin string             `json:"origin,omitempty"`
	Route  *schema.ReplyRoute `json:"route,omitempty"`
	Scope  string             `json:"scope,omitempty"`
}

// Survey timers.
const (
	surveySend   = "send"
	surveyRemind = "remind"
	surveyExpire = "expire"
)

// OptOutAttribute is the customer attribute that stops surveys ("true", "yes" or "1").
const OptOutAttribute = "survey_opt_out"

// windowMargin keeps a send clear of a 24-hour window's end (the provider's clock and ours
// differ, and the message takes a moment to leave).
const windowMargin = 5 * time.Minute

// ErrSurveyPending refuses a survey request while the conversation's survey is still open.
var ErrSurveyPending = errors.New("the conversation's survey is still waiting for an answer")

// ErrNoSurveyPolicy refuses a survey request the rules have no policy for.
var ErrNoSurveyPolicy = errors.New("no survey policy")

// applySurvey folds a survey event into the snapshot.
func applySurvey(c *convState, ev *schema.Event) {
	e := ev.Survey
	if e == nil {
		return
	}
	if ev.Type == schema.EventSurveyScheduled {
		c.Surveys++
		c.Survey = &schema.SurveyState{ID: e.ID, Policy: e.Policy, Kind: e.Kind, Status: schema.SurveyStatusScheduled,
			Channel: e.Channel, Language: e.Language, Requested: e.Requested}
		if e.DueAt != nil {
			c.Survey.DueAt = *e.DueAt
		}
		return
	}
	s := c.Survey
	if s == nil || s.ID != e.ID {
		return
	}
	at := ev.At
	switch ev.Type {
	case schema.EventSurveySent:
		if !e.Reminder {
			s.Status, s.SentAt, s.ExpiresAt, s.Channel, s.Language = schema.SurveyStatusSent, &at, e.ExpiresAt, e.Channel, e.Language
		}
		s.Reminded = s.Reminded || e.Reminder
	case schema.EventSurveyAnswered:
		s.Status, s.Score, s.AnsweredAt, s.Comment = schema.SurveyStatusAnswered, e.Score, &at, e.Comment
		if e.CommentUntil != nil {
			s.CommentUntil = e.CommentUntil
		}
		if e.Recovery != "" {
			s.Recovery = e.Recovery
		}
	case schema.EventSurveyExpired:
		s.Status, s.Reason = schema.SurveyStatusExpired, e.Reason
	case schema.EventSurveySkipped:
		s.Status, s.Reason = schema.SurveyStatusSkipped, e.Reason
	}
}

// applySurveyMessage folds a survey's outbound message (a re-ask, the thanks).
func applySurveyMessage(c *convState, m *schema.Message) {
	if m.Survey == nil || c.Survey == nil || c.Survey.ID != m.Survey.ID {
		return
	}
	switch m.Survey.Step {
	case schema.SurveyStepReask:
		c.Survey.Reasked = true
	case schema.SurveyStepThanks:
		c.Survey.Thanked = true
	}
}

// isSurveyAnswer reports whether m was taken as a survey's answer or comment.
func isSurveyAnswer(m *schema.Message) bool {
	for _, f := range m.Flags {
		if f == schema.FlagSurveyAnswer {
			return true
		}
	}
	return false
}

// surveyStep runs after a change's own events: a resolution schedules the survey of the
// first policy that applies; a reopening ends a survey not answered yet.
func (r *Router) surveyStep(ctx context.Context, c *change) error {
	resolved, reopened := false, false
	for _, ev := range c.events {
		switch ev.Type {
		case schema.EventResolved:
			resolved = true
		case schema.EventReopened:
			resolved, reopened = false, true
		}
	}
	conv := c.conv
	if s := conv.Survey; reopened && s != nil && s.Requested == "" {
		switch s.Status {
		case schema.SurveyStatusScheduled:
			r.emitSurvey(c, schema.EventSurveySkipped, func(e *schema.SurveyEvent) { e.Reason = "the conversation was reopened before the survey was sent" })
		case schema.SurveyStatusSent:
			r.emitSurvey(c, schema.EventSurveyExpired, func(e *schema.SurveyEvent) { e.Reason = "the conversation was reopened before an answer" })
		}
	}
	rs := r.Rules()
	if !resolved || conv.Status != schema.ConversationResolved || !rs.HasSurveys() {
		return nil
	}
	m, err := r.routeMessage(ctx, conv)
	if err != nil {
		return err
	}
	cust, err := r.customer(ctx, conv.CustomerID)
	if err != nil {
		return err
	}
	p := rs.Survey(rules.SurveyInput{Message: m, Customer: cust, Queue: conv.Queue, Now: r.o.Now().UTC()})
	if p == nil {
		return nil
	}
	r.scheduleSurvey(c, p, rs.Version, "", p.Delay)
	return nil
}

// scheduleSurvey emits survey_scheduled for a new survey of policy p and its send timer.
func (r *Router) scheduleSurvey(c *change, p *rules.SurveyPolicy, version, requested string, delay time.Duration) {
	conv := c.conv
	n := conv.Surveys + 1
	id := fmt.Sprintf("%s-s%d", conv.ID, n)
	due := r.o.Now().UTC().Add(delay)
	lo, hi := schema.SurveyScale(p.Kind)
	c.emit(r, schema.EventSurveyScheduled, func(e *schema.Event) {
		e.Survey = &schema.SurveyEvent{ID: id, Policy: p.Name, RulesVersion: version, Kind: p.Kind, Min: lo, Max: hi,
			Channel: conv.ReplyRoute.Channel, Account: conv.ReplyRoute.Account, DueAt: &due, Requested: requested}
	})
	c.timers = append(c.timers, r.surveyTimer(conv, n, id, surveySend, due))
}

// emitSurvey emits a survey event about the conversation's current survey.
func (r *Router) emitSurvey(c *change, typ schema.EventType, fill func(*schema.SurveyEvent)) {
	s := c.conv.Survey
	lo, hi := schema.SurveyScale(s.Kind)
	c.emit(r, typ, func(e *schema.Event) {
		se := &schema.SurveyEvent{ID: s.ID, Policy: s.Policy, Kind: s.Kind, Min: lo, Max: hi, Channel: s.Channel, Language: s.Language}
		if rs := r.Rules(); rs != nil {
			se.RulesVersion = rs.Version
		}
		fill(se)
		e.Survey = se
		e.Reason = se.Reason
	})
}

// surveyTimer is the message schedule that fires a survey's timer at at.
func (r *Router) surveyTimer(conv *convState, n int, id, timer string, at time.Time) *nats.Msg {
	cmd := &Command{ID: "survey:" + id + ":" + timer, Type: CommandSurveyTimer, ConversationID: conv.ID, CustomerID: conv.CustomerID,
		Actor: "survey", At: at, Survey: &SurveyCommand{ID: id, Timer: timer}}
	return r.scheduleMsg(streams.ScheduleSubject(conv.ID, n, "survey", 0, timer), conv.CustomerID, cmd, at)
}

// onSurveyTimer applies a survey's timer: send it, remind, or expire it unanswered.
func (r *Router) onSurveyTimer(ctx context.Context, c *change, sc *SurveyCommand) error {
	s := c.conv.Survey
	if sc == nil || s == nil || s.ID != sc.ID {
		return nil
	}
	switch sc.Timer {
	case surveySend:
		if s.Status == schema.SurveyStatusScheduled {
			return r.sendSurvey(ctx, c, false)
		}
	case surveyRemind:
		if s.Status == schema.SurveyStatusSent && !s.Reminded {
			return r.sendSurvey(ctx, c, true)
		}
	case surveyExpire:
		if s.Status == schema.SurveyStatusSent {
			r.emitSurvey(c, schema.EventSurveyExpired, func(e *schema.SurveyEvent) { e.Reason = "no answer before the survey expired" })
			r.metrics.Surveys.WithLabelValues(s.Kind, "expired").Inc()
		}
	}
	return nil
}

// sendSurvey sends the survey's question (or its reminder) on the customer's channel, or
// records why it is not sent.
func (r *Router) sendSurvey(ctx context.Context, c *change, reminder bool) error {
	conv, s := c.conv, c.conv.Survey
	p := r.Rules().SurveyPolicy(s.Policy)
	if p == nil {
		if !reminder {
			r.skipSurvey(c, fmt.Sprintf("the survey policy %q is gone from the rules", s.Policy))
		}
		return nil
	}
	if conv.Status != schema.ConversationResolved && s.Requested == "" {
		r.skipSurvey(c, "the conversation was reopened before the survey was sent")
		return nil
	}
	cust, err := r.customer(ctx, conv.CustomerID)
	if err != nil {
		return err
	}
	now := r.o.Now().UTC()
	if !reminder {
		if why, err := r.surveyRefused(ctx, c, p, cust, now); why != "" || err != nil {
			if why != "" {
				r.skipSurvey(c, why)
			}
			return err
		}
	}
	step := schema.SurveyStepQuestion
	if reminder {
		step = schema.SurveyStepReminder
	}
	m, why := r.surveyMessage(conv, p, cust, step, now)
	if why != "" {
		if !reminder {
			r.skipSurvey(c, why)
		}
		return nil
	}
	if !reminder {
		if err := r.markSurveyed(ctx, c.pc, conv.CustomerID, s.ID, now); err != nil {
			return err
		}
	}
	r.sendAutomated(c, m)
	expires := now.Add(p.Expire)
	if reminder && s.ExpiresAt != nil {
		expires = *s.ExpiresAt
	}
	tpl := ""
	if m.Template != nil {
		tpl = m.Template.Name
	}
	r.emitSurvey(c, schema.EventSurveySent, func(e *schema.SurveyEvent) {
		e.Channel, e.Account, e.Language, e.MessageID, e.Template, e.Reminder = m.Channel, m.Account, m.Language, m.ID, tpl, reminder
		e.ExpiresAt = &expires
	})
	if !reminder {
		r.metrics.Surveys.WithLabelValues(s.Kind, "sent").Inc()
		n := conv.Surveys
		if p.Reminder > 0 {
			c.timers = append(c.timers, r.surveyTimer(conv, n, s.ID, surveyRemind, now.Add(p.Reminder)))
		}
		c.timers = append(c.timers, r.surveyTimer(conv, n, s.ID, surveyExpire, expires))
	}
	return nil
}

func (r *Router) skipSurvey(c *change, why string) {
	r.emitSurvey(c, schema.EventSurveySkipped, func(e *schema.SurveyEvent) { e.Reason = why })
	r.metrics.Surveys.WithLabelValues(c.conv.Survey.Kind, "skipped").Inc()
}

// surveyRefused says why a survey must not go to this customer now: they opted out, or
// were surveyed within the policy's once_per.
func (r *Router) surveyRefused(ctx context.Context, c *change, p *rules.SurveyPolicy, cust *schema.Customer, now time.Time) (string, error) {
	switch strings.ToLower(cust.Attributes[OptOutAttribute]) {
	case "true", "yes", "1":
		return "the customer opted out of surveys (attribute " + OptOutAttribute + ")", nil
	}
	if p.OncePer <= 0 || c.conv.Survey.Requested != "" {
		return "", nil
	}
	ts, _, err := r.loadThread(ctx, c.pc, c.conv.CustomerID)
	if err != nil {
		return "", err
	}
	if l := ts.LastSurvey; l != nil && l.ID != c.conv.Survey.ID && now.Sub(l.At) < p.OncePer {
		return fmt.Sprintf("sampled out: the customer was surveyed %s ago (once_per %s)", now.Sub(l.At).Round(time.Minute), p.OncePer), nil
	}
	return "", nil
}

// markSurveyed records the customer's latest survey (for once_per, and to find the survey
// an answer is for), before its events: a crash in between finds its own survey recorded,
// which does not count against it.
func (r *Router) markSurveyed(ctx context.Context, pc *partCache, customer, id string, at time.Time) error {
	t, rev, err := r.loadThread(ctx, pc, customer)
	if err != nil {
		return err
	}
	if t.LastSurvey != nil && t.LastSurvey.ID == id {
		return nil
	}
	t.LastSurvey = &surveyMark{ID: id, At: at}
	return r.storeThread(ctx, pc, customer, t, rev)
}

// surveyMark is a customer's latest survey.
type surveyMark struct {
	ID string    `json:"id"`
	At time.Time `json:"at"`
}

// sendAutomated adds a survey's outbound message to the change and hands it to the
// channel's sender after the commit.
func (r *Router) sendAutomated(c *change, m *schema.Message) {
	c.emit(r, schema.EventMessage, func(e *schema.Event) { e.Message = eventMessage(m) })
	c.beforeSnapshot(func(ctx context.Context) error { return r.publishOutbound(ctx, m) })
	c.then(r.recordMessage(c, m, 0))
}

// onSurveyCommand applies a survey request (REST) or a page's answer.
func (r *Router) onSurveyCommand(ctx context.Context, c *change, cmd *Command) error {
	sc := cmd.Survey
	if sc == nil {
		return pipeline.Poison(fmt.Errorf("command %s: %s without its survey", cmd.ID, cmd.Type))
	}
	switch cmd.Type {
	case CommandSurvey:
		rs := r.Rules()
		if c.conv.Survey.Pending(r.o.Now()) {
			return nil // one at a time: REST refused it already, unless it raced
		}
		p := rs.SurveyPolicy(sc.Policy)
		if p == nil {
			return nil // REST checked the policy: it went away with a reload
		}
		r.scheduleSurvey(c, p, rs.Version, cmd.Actor, 0)
	case CommandSurveyAnswer:
		s := c.conv.Survey
		if s == nil || s.ID != sc.ID || !s.Open(r.o.Now()) || sc.Score == nil {
			return nil
		}
		comment := sc.Comment
		if comment == "" {
			comment = s.Comment
		}
		if s.Score != nil && *s.Score == *sc.Score && comment == s.Comment {
			return nil // the same answer again
		}
		r.answered(c, *sc.Score, comment, "link", "", nil)
	}
	return nil
}

// answered emits survey_answered, the comment prompt or thanks to send (none for answers
// given on the page: it thanks), and a recovery task for a bad score.
func (r *Router) answered(c *change, score int, comment, source, msgID string, follow func(step string)) {
	conv, s := c.conv, c.conv.Survey
	p := r.Rules().SurveyPolicy(s.Policy)
	prev := s.Score
	first := prev == nil
	var until *time.Time
	if first && p != nil && p.Comment > 0 && comment == "" && source != "link" {
		u := r.o.Now().UTC().Add(p.Comment)
		until = &u
	}
	recovery, recoveryConv := "", ""
	if p != nil && p.Bad(score) && s.Recovery == "" {
		recovery, recoveryConv = p.RecoveryQueue, schema.ConversationIDFor("recover:"+s.ID)
	}
	r.emitSurvey(c, schema.EventSurveyAnswered, func(e *schema.SurveyEvent) {
		sc := score
		e.Score, e.Previous, e.Comment, e.Source, e.MessageID, e.CommentUntil = &sc, prev, comment, source, msgID, until
		e.Recovery, e.RecoveryConversation = recovery, recoveryConv
	})
	r.metrics.SurveyAnswers.WithLabelValues(s.Kind, string(s.Channel), fmt.Sprint(score)).Inc()
	if follow != nil {
		switch {
		case until != nil:
			follow(schema.SurveyStepComment)
		case !s.Thanked:
			follow(schema.SurveyStepThanks)
		}
	}
	if recovery != "" {
		_, hi := schema.SurveyScale(s.Kind)
		reason := fmt.Sprintf("%s %d of %d on conversation %s", strings.ToUpper(s.Kind), score, hi, conv.ID)
		if comment != "" {
			reason += ": " + comment
		}
		cmd := &Command{ID: "recover:" + s.ID, Type: CommandRecover, ConversationID: recoveryConv, CustomerID: conv.CustomerID,
			Actor: "survey", Reason: reason, Queue: p.RecoveryQueue, At: r.o.Now().UTC(),
			Priority: p.RecoveryPriority, Survey: &SurveyCommand{ID: s.ID, Kind: s.Kind, Origin: conv.ID, Route: &conv.ReplyRoute, Scope: conv.Scope}}
		c.then(func(ctx context.Context) error { return SubmitCommand(ctx, r.js, r.o.Partitions, cmd) })
	}
}
