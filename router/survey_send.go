package router

import (
	"fmt"
	"html"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/router/rules"
	"github.com/switchboardhq/switchboard/router/survey"
	"github.com/switchboardhq/switchboard/schema"
)

// serviceWindow is the customer-service window of WhatsApp, Messenger and Instagram: free
// messages only this long after the customer last wrote.
const serviceWindow = 24 * time.Hour

// surveyMessage renders a survey step for the conversation's channel, or says why it cannot
// be sent there: outside a 24-hour window without a template (WhatsApp) or at all
// (Messenger, Instagram), never a send the provider would refuse.
func (r *Router) surveyMessage(conv *convState, p *rules.SurveyPolicy, cust *schema.Customer, step string, now time.Time) (*schema.Message, string) {
	s, rt := conv.Survey, conv.ReplyRoute
	if rt.Channel == "" || rt.To.Value == "" {
		return nil, "the conversation has no channel to send the survey on"
	}
	lang := s.Language
	if cust != nil {
		lang = p.Language(cust.Attributes["language"], conv.Language)
	}
	t := p.Text(lang)
	lo, hi := schema.SurveyScale(p.Kind)
	id := schema.MessageID("survey:" + s.ID + ":" + step)
	m := &schema.Message{Schema: schema.MessageSchema, ID: id, ExternalID: id, From: schema.Address{Kind: "agent", Value: "survey"},
		Channel: rt.Channel, Account: rt.Account, Direction: schema.Outbound, Kind: schema.KindSurvey,
		To: []schema.Address{rt.To}, ConversationID: conv.ID, CustomerID: conv.CustomerID, Status: schema.StatusPending,
		LastInboundAt: conv.LastInbound, Flags: []string{schema.FlagAutomated}, Language: lang, ReceivedAt: now,
		Subject: conv.Subject, Survey: &schema.SurveyPrompt{ID: s.ID, Kind: p.Kind, Min: lo, Max: hi, Step: step}}
	if rt.InReplyTo != "" {
		m.Thread = &schema.Thread{InReplyTo: []string{rt.InReplyTo}, References: rt.References}
	}
	inWindow := conv.LastInbound != nil && now.Sub(*conv.LastInbound) < serviceWindow-windowMargin
	switch rt.Channel {
	case schema.ChannelMessenger, schema.ChannelInstagram:
		if !inWindow {
			return nil, fmt.Sprintf("outside %s's 24-hour messaging window (the customer last wrote %s); Meta allows only human agents' replies after it",
				rt.Channel, lastWrote(conv, now))
		}
	case schema.ChannelWhatsApp:
		if !inWindow && cust == nil {
			return nil, "outside WhatsApp's 24-hour window"
		}
		if !inWindow {
			tpl := p.Templates[rt.Account]
			if tpl == nil {
				return nil, fmt.Sprintf("outside WhatsApp's 24-hour window (the customer last wrote %s) and policy %q names no approved template for account %q (whatsapp_templates)",
					lastWrote(conv, now), p.Name, rt.Account)
			}
			m.Template = templateFor(tpl, cust)
			return m, ""
		}
	}
	switch step {
	case schema.SurveyStepQuestion, schema.SurveyStepReminder:
		r.renderQuestion(m, p, &t, step == schema.SurveyStepReminder, now)
	case schema.SurveyStepReask:
		m.Text = t.ReaskText(p.Kind)
		if survey.Native[rt.Channel] && !(rt.Channel == schema.ChannelWhatsApp && p.Kind == schema.SurveyNPS) {
			_, m.Choices = survey.Question(s.ID, p.Kind, &t, false)
			m.Choices.Prompt = m.Text
		}
	case schema.SurveyStepComment:
		m.Text = t.Comment
	case schema.SurveyStepThanks:
		m.Text = t.Thanks
	}
	return m, ""
}

// renderQuestion fills the question: native choices where the channel has them, signed
// links by email (when the gateway has a public URL), a numbered text elsewhere.
func (r *Router) renderQuestion(m *schema.Message, p *rules.SurveyPolicy, t *survey.Text, reminder bool, now time.Time) {
	s := m.Survey
	text, choices := survey.Question(s.ID, p.Kind, t, reminder)
	m.Text = text
	switch {
	case m.Channel == schema.ChannelEmail && r.linkBase() != "":
		r.surveyLinks(m, p, t, choices, now)
	case m.Channel == schema.ChannelWhatsApp && p.Kind == schema.SurveyNPS:
		// Eleven scores do not fit a WhatsApp list (ten rows at most) or reply buttons
		// (three): the numbered question is the native form.
	case survey.Native[m.Channel]:
		m.Choices = choices
	}
}

// surveyLinks adds one signed link per score to an email survey, in the text and as a row of
// buttons in HTML.
func (r *Router) surveyLinks(m *schema.Message, p *rules.SurveyPolicy, t *survey.Text, ch *schema.Choices, now time.Time) {
	s := m.Survey
	tok := survey.Sign(r.surveyKey, survey.Token{Conversation: m.ConversationID, Survey: s.ID, Expires: now.Add(p.Expire)})
	base := strings.TrimRight(r.linkBase(), "/") + "/survey/" + tok + "?score="
	var lines, cells []string
	for _, o := range ch.Options {
		score, _ := strconv.Atoi(o.Payload[strings.LastIndexByte(o.Payload, ':')+1:])
		u := base + url.QueryEscape(strconv.Itoa(score))
		s.Links = append(s.Links, schema.SurveyLink{Score: score, Label: o.Description, URL: u})
		label := strconv.Itoa(score)
		if o.Description != "" {
			label += " – " + o.Description
		}
		lines = append(lines, label+": "+u)
		cells = append(cells, fmt.Sprintf(`<a href="%s" style="display:inline-block;min-width:2.2em;padding:.5em .7em;margin:.15em;border-radius:6px;background:#2563eb;color:#fff;text-decoration:none;font:bold 16px sans-serif;text-align:center" title="%s">%s</a>`,
			html.EscapeString(u), html.EscapeString(o.Description), html.EscapeString(o.Title)))
	}
	m.Text = ch.Prompt + "\n\n" + strings.Join(lines, "\n")
	m.HTML = fmt.Sprintf(`<p style="font:16px sans-serif">%s</p><p>%s</p>`, html.EscapeString(ch.Prompt), strings.Join(cells, ""))
	if p.Kind == schema.SurveyNPS && len(t.Labels) == 2 {
		m.HTML += fmt.Sprintf(`<p style="font:13px sans-serif;color:#555">0 = %s · 10 = %s</p>`, html.EscapeString(t.Labels[0]), html.EscapeString(t.Labels[1]))
	}
}

// templateFor is a policy's template with {name} filled in from the customer.
func templateFor(t *schema.Template, cust *schema.Customer) *schema.Template {
	out := &schema.Template{Name: t.Name, Language: t.Language}
	if len(t.Variables) > 0 {
		out.Variables = map[string]string{}
		for k, v := range t.Variables {
			out.Variables[k] = strings.ReplaceAll(v, "{name}", cust.Name)
		}
	}
	return out
}

func lastWrote(conv *convState, now time.Time) string {
	if conv.LastInbound == nil {
		return "never"
	}
	return now.Sub(*conv.LastInbound).Round(time.Minute).String() + " ago"
}

// linkBase is the public base URL of the survey page ("" when unknown).
func (r *Router) linkBase() string {
	if r.o.SurveyLinks == nil {
		return ""
	}
	return r.o.SurveyLinks()
}
