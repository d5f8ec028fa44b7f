package twilio

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	api "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/switchboardhq/switchboard/connectors"
	"github.com/switchboardhq/switchboard/schema"
)

// maxBodyChars is Twilio's limit on a message body.
const maxBodyChars = 1600

// Send implements [connectors.Sender]: one CreateMessage call with a status callback. The
// answer's MessageSid becomes the reply's external id, which status callbacks refer to.
func (c *Connector) Send(ctx context.Context, m *schema.Message) (connectors.SendResult, error) {
	a, ok := c.accounts[m.Account]
	if !ok {
		return connectors.SendResult{}, connectors.Permanent("unknown_account", "no twilio account %q is configured", m.Account)
	}
	p, err := a.params(m, time.Now())
	if err != nil {
		return connectors.SendResult{}, err
	}
	if m.Channel == schema.ChannelWhatsApp && m.Template == nil && m.Choices != nil && len(m.Attachments) == 0 {
		sid, err := c.contentFor(ctx, a, m.Choices, m.Language)
		if err != nil {
			return connectors.SendResult{}, err
		}
		if sid != "" { // the buttons or list replace the numbered text
			p.Body = nil
			p.SetContentSid(sid)
		}
	}
	if err := ctx.Err(); err != nil {
		return connectors.SendResult{}, connectors.Temporary(err, 0)
	}
	// twilio-go takes no context: the call is bounded by the account's HTTP timeout.
	res, err := a.rest.Api.CreateMessage(p)
	if err != nil {
		return connectors.SendResult{}, classify(err)
	}
	if res.Sid == nil || *res.Sid == "" {
		return connectors.SendResult{}, connectors.Permanent("outcome_unknown", "Twilio answered without a message sid")
	}
	status := schema.StatusQueued
	if res.Status != nil {
		if s, ok := MapStatus(*res.Status); ok {
			status = s
		}
	}
	return connectors.SendResult{ExternalID: *res.Sid, Status: status}, nil
}

// params builds the CreateMessage request for a reply, or refuses it for good.
func (a *account) params(m *schema.Message, now time.Time) (*api.CreateMessageParams, error) {
	if len(m.To) == 0 || m.To[0].Kind != "phone" || m.To[0].Value == "" {
		return nil, connectors.Permanent("no_recipient", "the reply has no phone number to go to")
	}
	if err := checkWindow(m, now); err != nil {
		return nil, err
	}
	p := &api.CreateMessageParams{}
	p.SetTo(twilioAddress(m.Channel, m.To[0].Value))
	from, service := a.sender(m.Channel)
	switch {
	case from != "":
		p.SetFrom(from)
	case service != "":
		p.SetMessagingServiceSid(service)
	default:
		return nil, connectors.Permanent("no_sender", "twilio account %q has no %s number and no messaging_service_sid to send from", a.name, m.Channel)
	}
	if cb := a.statusCallback(); cb != "" {
		p.SetStatusCallback(cb)
	}
	if err := content(p, m); err != nil {
		return nil, err
	}
	return p, nil
}

// content sets the template, body and media of a reply.
func content(p *api.CreateMessageParams, m *schema.Message) error {
	if t := m.Template; t != nil {
		if !strings.HasPrefix(t.Name, "HX") {
			return connectors.Permanent("invalid_template", "template name %q is not a Content SID (HX…)", t.Name)
		}
		p.SetContentSid(t.Name)
		if len(t.Variables) > 0 {
			vars, _ := json.Marshal(t.Variables)
			p.SetContentVariables(string(vars))
		}
		return nil
	}
	var urls []string
	for i, att := range m.Attachments {
		if !strings.HasPrefix(att.URL, "https://") {
			return connectors.Permanent("unsupported_attachment",
				"attachment %d has no public https URL; Twilio fetches media itself, so link it by url", i)
		}
		urls = append(urls, att.URL)
	}
	text := strings.TrimSpace(m.Text)
	if text == "" && len(urls) == 0 {
		return connectors.Permanent("empty_message", "the reply has no text, media or template")
	}
	if n := len([]rune(text)); n > maxBodyChars {
		return connectors.Permanent("body_too_long", "the reply has %d characters; Twilio takes at most %d", n, maxBodyChars)
	}
	if text != "" {
		p.SetBody(text)
	}
	if len(urls) > 0 {
		p.SetMediaUrl(urls)
	}
	return nil
}
