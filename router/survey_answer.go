package router

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/pipeline"
	"github.com/switchboardhq/switchboard/router/rules"

	"github.com/switchboardhq/switchboard/pipeline/kernel"
	"github.com/switchboardhq/switchboard/router/survey"
	"github.com/switchboardhq/switchboard/schema"
)

// takeSurveyAnswer reads a customer's message as the answer (or comment) to their open
// survey. It reports whether it took the message: then the message joins the survey's
// conversation flagged survey_answer (it reopens nothing and starts no response clock).
// A message that is not an answer is left to threading and routing.
func (r *Router) takeSurveyAnswer(ctx context.Context, pc *partCache, ts *threadState, m *schema.Message, inSeq uint64) (bool, error) {
	if m.Kind != schema.KindMessage && m.Kind != schema.KindAction {
		return false, nil
	}
	conv, rev, err := r.surveyConversation(ctx, pc, ts, m)
	if conv == nil || err != nil {
		return false, err
	}
	s := conv.Survey
	c := r.newChange(pc, m.ID, conv, rev, "customer")
	if c.applied() {
		r.answerFollowUps(c, m, inSeq)
		return true, r.commit(ctx, c)
	}
	text := answerText(m)
	payload := ""
	if m.Action != nil {
		payload = m.Action.Payload
	}
	res := survey.Parse(s.Kind, s.ID, text, payload)
	now := r.o.Now().UTC()
	commentOpen := s.Status == schema.SurveyStatusAnswered && s.Comment == "" && s.CommentUntil != nil && now.Before(*s.CommentUntil)
	flagged := *m
	flagged.Flags = append(append([]string(nil), m.Flags...), schema.FlagSurveyAnswer)
	follow := func(step string) { r.surveyFollow(c, step, now) }
	switch {
	case res.Outcome == survey.Answer:
		c.emit(r, schema.EventMessage, func(e *schema.Event) { e.Message, e.Reason = eventMessage(&flagged), "an answer to survey "+s.ID })
		if s.Score == nil || *s.Score != res.Score {
			r.answered(c, res.Score, s.Comment, res.Source, m.ID, follow)
		}
	case res.Outcome == survey.Unclear && s.Status == schema.SurveyStatusSent && !s.Reasked:
		c.emit(r, schema.EventMessage, func(e *schema.Event) {
			e.Message, e.Reason = eventMessage(&flagged), "not a score for survey "+s.ID+": asked again"
		})
		follow(schema.SurveyStepReask)
	case commentOpen && res.Outcome == survey.NotAnswer && strings.TrimSpace(text) != "":
		c.emit(r, schema.EventMessage, func(e *schema.Event) { e.Message, e.Reason = eventMessage(&flagged), "the comment on survey "+s.ID })
		r.answered(c, *s.Score, strings.TrimSpace(text), "text", m.ID, follow)
	default:
		return false, nil
	}
	*m = flagged
	r.answerFollowUps(c, m, inSeq)
	return true, r.commit(ctx, c)
}

// answerFollowUps records the answer message.
func (r *Router) answerFollowUps(c *change, m *schema.Message, inSeq uint64) {
	m.ConversationID = c.conv.ID
	c.then(r.recordMessage(c, m, inSeq))
}

// surveyFollow sends the step that follows an answer: the re-ask, the comment prompt, the
// thanks. A step the channel cannot take now (a closed window) is left out.
func (r *Router) surveyFollow(c *change, step string, now time.Time) {
	p := r.Rules().SurveyPolicy(c.conv.Survey.Policy)
	if p == nil {
		return
	}
	if m, why := r.surveyMessage(c.conv, p, nil, step, now); why == "" {
		r.sendAutomated(c, m)
	}
}

// openRecovery opens a recovery task for a bad score: a new conversation of the customer on
// the channel the answer came from, queued in the policy's recovery queue with the answer as
// its reason, and the customer's current conversation from now on.
func (r *Router) openRecovery(ctx context.Context, pc *partCache, cmd *Command) error {
	sc := cmd.Survey
	if sc == nil || sc.Route == nil {
		return pipeline.Poison(fmt.Errorf("command %s: recovery without its origin", cmd.ID))
	}
	conv := &convState{Conversation: schema.Conversation{ID: cmd.ConversationID, CustomerID: cmd.CustomerID}, Scope: sc.Scope}
	c := r.newChange(pc, cmd.Cause(), conv, 0, cmd.Actor)
	route := *sc.Route
	c.emit(r, schema.EventOpened, func(e *schema.Event) {
		e.Reason = "recovery task: " + cmd.Reason
		e.Survey = &schema.SurveyEvent{ID: sc.ID, Kind: sc.Kind, Route: &route, Reason: "recovery of conversation " + sc.Origin}
		e.Survey.Min, e.Survey.Max = schema.SurveyScale(e.Survey.Kind)
	})
	if err := r.reroute(ctx, c, &rules.Input{Queue: cmd.Queue, Priority: cmd.Priority}, "recovery task"); err != nil {
		return err
	}
	customer, scope, id := conv.CustomerID, sc.Scope, conv.ID
	c.then(func(ctx context.Context) error { return r.setCurrent(ctx, pc, customer, scope, id) })
	c.then(func(ctx context.Context) error { return r.addConversation(ctx, customer, id) })
	return r.commit(ctx, c)
}

// surveyConversation finds the conversation whose survey a message may answer, the first
// with an open survey of: the one a button's payload names; the customer's current
// conversation in the message's scope; the conversation of their latest survey, unless the
// customer has gone on to another open conversation (other than the survey's recovery
// task): words there are for the agent, not for an old survey.
func (r *Router) surveyConversation(ctx context.Context, pc *partCache, ts *threadState, m *schema.Message) (*convState, uint64, error) {
	var ids []string
	if m.Action != nil {
		if rest, ok := strings.CutPrefix(m.Action.Payload, survey.PayloadPrefix); ok {
			ids = append(ids, surveyConvID(rest[:max(strings.LastIndexByte(rest, ':'), 0)]))
		}
	}
	cur := ts.Current[r.scopeOf(m.Channel)]
	if cur == schema.ConversationIDFor(m.ID) {
		// The conversation this message opens (a new customer's record lists it before it
		// exists): no survey waits there.
		cur = ""
	}
	ids = append(ids, cur)
	curOpen := false
	now := r.o.Now()
	for i, id := range ids {
		if id == "" {
			continue
		}
		conv, rev, err := r.loadOwnConv(ctx, pc, id, m.CustomerID)
		if errors.Is(err, kernel.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, 0, err
		}
		if i == len(ids)-1 {
			curOpen = conv.Status == schema.ConversationOpen
		}
		if conv.Survey.Open(now) {
			return conv, rev, nil
		}
	}
	l := ts.LastSurvey
	if l == nil || curOpen && cur != schema.ConversationIDFor("recover:"+l.ID) {
		return nil, 0, nil
	}
	conv, rev, err := r.loadOwnConv(ctx, pc, surveyConvID(l.ID), m.CustomerID)
	if errors.Is(err, kernel.ErrNotFound) {
		return nil, 0, nil
	}
	if err != nil || !conv.Survey.Open(now) {
		return nil, 0, err
	}
	return conv, rev, nil
}

// surveyConvID is the conversation of a survey id ("<conversation>-s<n>").
func surveyConvID(id string) string {
	if i := strings.LastIndex(id, "-s"); i > 0 {
		return id[:i]
	}
	return ""
}

// answerText is what a message says, without the quoted mail below an email's reply.
func answerText(m *schema.Message) string {
	if m.StrippedText != "" {
		return m.StrippedText
	}
	return m.Text
}
