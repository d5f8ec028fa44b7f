package meta

import (
	"fmt"

	"github.com/switchboardhq/switchboard/connectors"
	"github.com/switchboardhq/switchboard/schema"
)

// batch is one webhook POST, normalized: what to hand off, in order, and what was ignored.
type batch struct {
	Items   []item   `json:"items"`
	Ignored []string `json:"ignored,omitempty"`
}

// item is one thing to hand off: a message, a status, or a receipt watermark.
type item struct {
	Message   *schema.Message      `json:"message,omitempty"`
	Status    *schema.StatusUpdate `json:"status,omitempty"`
	Watermark *watermark           `json:"watermark,omitempty"`
}

// watermark is a Messenger receipt that names no message: everything sent to the person
// before Before (Meta's clock, ms) has reached Status.
type watermark struct {
	Channel schema.Channel        `json:"channel"`
	Account string                `json:"account"`
	To      string                `json:"to"` // the address value, "<page>:<psid>"
	Before  int64                 `json:"before"`
	Status  schema.DeliveryStatus `json:"status"`
}

func (b *batch) message(m *schema.Message) { b.Items = append(b.Items, item{Message: m}) }
func (b *batch) status(s *schema.StatusUpdate) {
	b.Items = append(b.Items, item{Status: s})
}
func (b *batch) ignore(format string, args ...any) {
	b.Ignored = append(b.Ignored, fmt.Sprintf(format, args...))
}

// normalize turns a verified body into a batch. Unknown pages and numbers are a 404 (the app
// is subscribed to something this config does not serve), broken JSON a 400: in both cases
// nothing of the body is handed off.
func (c *Connector) normalize(app string, body []byte) (*batch, error) {
	var env envelope
	if err := decodeLenient(body, &env); err != nil {
		return nil, err
	}
	b := &batch{Items: []item{}}
	for i := range env.Entry {
		var err error
		switch env.Object {
		case objectPage:
			err = c.messagingEntry(b, app, schema.ChannelMessenger, i, &env.Entry[i])
		case objectInstagram:
			err = c.messagingEntry(b, app, schema.ChannelInstagram, i, &env.Entry[i])
		case objectWhatsApp:
			err = c.whatsappEntry(b, app, i, &env.Entry[i])
		default:
			b.ignore("object %q is not a messaging object", env.Object)
			return b, nil
		}
		if err != nil {
			return nil, err
		}
	}
	return b, nil
}

// lookup finds the account for an id the webhook names, checking it belongs to the app
// whose secret verified the body.
func (c *Connector) lookup(app string, ch schema.Channel, id, what string) (*account, error) {
	a, ok := c.byID[ch][id]
	if !ok || a.app != app {
		return nil, connectors.NotFound("%s %s is not configured for Meta app %q (channels.meta.%s)", what, id, app, ch)
	}
	return a, nil
}
