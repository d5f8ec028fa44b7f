package twilio

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/switchboardhq/switchboard/connectors"
	"github.com/switchboardhq/switchboard/schema"
)

// statuses maps Twilio's MessageStatus onto delivery statuses. Statuses of incoming messages
// (receiving, received) are not about replies and are ignored.
var statuses = map[string]schema.DeliveryStatus{
	"accepted":            schema.StatusQueued,
	"scheduled":           schema.StatusQueued,
	"queued":              schema.StatusQueued,
	"sending":             schema.StatusQueued,
	"sent":                schema.StatusSent,
	"partially_delivered": schema.StatusSent,
	"delivered":           schema.StatusDelivered,
	"read":                schema.StatusRead,
	"undelivered":         schema.StatusUndelivered,
	"failed":              schema.StatusFailed,
	"canceled":            schema.StatusFailed,
}

// MapStatus returns the delivery status for a Twilio message status, and false for a status
// that says nothing about a reply's delivery (receiving, received, or one Twilio adds later).
func MapStatus(twilioStatus string) (schema.DeliveryStatus, bool) {
	s, ok := statuses[strings.ToLower(strings.TrimSpace(twilioStatus))]
	return s, ok
}

// status handles a status callback of a reply: verify, publish the status update (the
// ingest stage maps MessageSid to our message; the router never lets a late callback
// downgrade a status), answer 200.
func (c *Connector) status(ctx context.Context, r *connectors.Request) (*connectors.Response, error) {
	a, form, err := c.signedForm(r)
	if err != nil {
		return nil, err
	}
	st, err := a.statusUpdate(form)
	if err != nil {
		return nil, err
	}
	if st != nil {
		if err := c.host.Publisher.PublishStatus(ctx, st); err != nil {
			return nil, err
		}
	}
	return connectors.Text(http.StatusOK, "text/xml", emptyTwiML), nil
}

// statusUpdate reads a status callback; nil (and no error) for a status to ignore.
func (a *account) statusUpdate(form url.Values) (*schema.StatusUpdate, error) {
	sid := firstOf(form, "MessageSid", "SmsSid")
	if sid == "" || len(sid) > maxSidLen {
		return nil, connectors.BadField("MessageSid", "is required (at most %d characters)", maxSidLen)
	}
	raw := firstOf(form, "MessageStatus", "SmsStatus")
	status, ok := MapStatus(raw)
	if !ok {
		return nil, nil
	}
	ch, _, err := parseNumber(firstOf(form, "From", "To"), a.region)
	if err != nil {
		ch = schema.ChannelSMS // the MessageSid is what matters; SMS unless it says whatsapp
		if strings.HasPrefix(strings.ToLower(firstOf(form, "From", "To")), whatsappPrefix) {
			ch = schema.ChannelWhatsApp
		}
	}
	st := &schema.StatusUpdate{Channel: ch, Account: a.name, ExternalID: sid, Status: status,
		ErrorCode: strings.TrimSpace(form.Get("ErrorCode")), Raw: rawForm(form)}
	if st.ErrorCode == "" && strings.EqualFold(raw, "canceled") {
		st.ErrorCode = "canceled"
	}
	if st.ErrorCode != "" {
		st.ErrorMessage = firstOf(form, "ErrorMessage", "ChannelStatusMessage")
	}
	return st, nil
}
