package twilio

import (
	"time"

	"github.com/switchboardhq/switchboard/connectors"
	"github.com/switchboardhq/switchboard/schema"
)

// ServiceWindow is WhatsApp's customer-service window: for this long after the customer's
// last message a business may answer freely; after it only an approved template may be sent.
const ServiceWindow = 24 * time.Hour

// CodeOutsideWindow is the error code of a free-form WhatsApp reply outside the window.
const CodeOutsideWindow = "outside_customer_service_window"

// checkWindow refuses a free-form WhatsApp reply when the customer last wrote on WhatsApp more
// than 24 hours ago (or never). Twilio would refuse it too (error 63016), after a round trip
// and with a less helpful message; templates are always allowed.
func checkWindow(m *schema.Message, now time.Time) error {
	if m.Channel != schema.ChannelWhatsApp || m.Template != nil {
		return nil
	}
	if m.LastInboundAt == nil {
		return connectors.Permanent(CodeOutsideWindow,
			"the customer has not written on WhatsApp yet; only an approved template (template.name = ContentSid) can start the conversation")
	}
	if age := now.Sub(*m.LastInboundAt); age > ServiceWindow {
		return connectors.Permanent(CodeOutsideWindow,
			"the customer last wrote on WhatsApp %s ago, outside the 24h customer-service window; send an approved template (template.name = ContentSid)",
			age.Round(time.Minute))
	}
	return nil
}
