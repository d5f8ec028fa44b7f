package twilio

import (
	"context"
	"net/http"
	"net/url"

	"github.com/switchboardhq/switchboard/connectors"
)

// emptyTwiML is the answer to an incoming message: nothing to send back.
const emptyTwiML = `<?xml version="1.0" encoding="UTF-8"?><Response/>`

// signedForm finds the account the URL names. An unknown account is a 404, recorded for forensics
// (a misconfigured webhook URL, or someone probing).
// It then verifies the request's signature and returns its form.
func (c *Connector) signedForm(r *connectors.Request) (*account, url.Values, error) {
	name := r.PathValue("account")
	a, ok := c.accounts[name]
	if !ok {
		return nil, nil, connectors.NotFound("no twilio account %q is configured", name)
	}
	form, err := a.verify(r)
	return a, form, err
}

// receive handles an incoming SMS, MMS or WhatsApp message: verify, normalize, publish, and
// answer empty TwiML only after JetStream has the message. MessageSid is the dedupe key, so
// Twilio's retries store nothing new.
func (c *Connector) receive(ctx context.Context, r *connectors.Request) (*connectors.Response, error) {
	a, form, err := c.signedForm(r)
	if err != nil {
		return nil, err
	}
	m, err := a.normalize(form)
	if err != nil {
		return nil, err
	}
	if !a.ours(m.Channel, m.To[0].Value, form.Get("MessagingServiceSid")) {
		return nil, connectors.NotFound("%s %s is not a number of twilio account %q (add it to numbers, or set messaging_service_sid)",
			m.Channel, m.To[0].Value, a.name)
	}
	if _, err := c.host.Publisher.Publish(ctx, m); err != nil {
		return nil, err
	}
	return connectors.Text(http.StatusOK, "text/xml", emptyTwiML), nil
}
