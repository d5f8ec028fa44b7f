package meta

import (
	"sort"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/connectors"
	"github.com/switchboardhq/switchboard/schema"
)

// Messaging windows (developers.facebook.com/docs/messenger-platform/policy/policy-overview,
// WhatsApp customer service windows): free-form replies only within 24 hours of the
// customer's last message; Messenger's HUMAN_AGENT tag stretches that to 7 days.
const (
	serviceWindow    = 24 * time.Hour
	humanAgentWindow = 7 * 24 * time.Hour
)

// TagMetadata is the Message.Metadata key that carries a Messenger message tag.
const TagMetadata = "messenger_tag"

var messengerTags = map[string]bool{
	"HUMAN_AGENT": true, "ACCOUNT_UPDATE": true, "CONFIRMED_EVENT_UPDATE": true, "POST_PURCHASE_UPDATE": true,
}

// sinceInbound is how long ago the customer last wrote (forever when unknown).
func (s *sender) sinceInbound(m *schema.Message) time.Duration {
	if m.LastInboundAt == nil {
		return time.Duration(1<<63 - 1)
	}
	return s.c.now().Sub(*m.LastInboundAt)
}

// messagingType chooses the Send API's messaging_type and tag for a Messenger or Instagram
// reply, or refuses it with the rule it breaks.
func (s *sender) messagingType(m *schema.Message) (string, string, error) {
	since := s.sinceInbound(m)
	tag := strings.ToUpper(strings.TrimSpace(m.Metadata[TagMetadata]))
	switch {
	case tag == "" && since <= serviceWindow:
		return "RESPONSE", "", nil
	case tag == "":
		return "", "", connectors.Permanent("outside_messaging_window",
			"%s allows free-form replies only within 24 hours of the customer's last message (%s); set metadata.%s (HUMAN_AGENT: up to 7 days) to send outside it",
			s.acct.channel, lastSeen(m), TagMetadata)
	case !messengerTags[tag]:
		return "", "", connectors.Permanent("invalid_message_tag", "message tag %q is not one of %s", tag, tagList())
	case s.acct.channel == schema.ChannelInstagram && tag != "HUMAN_AGENT":
		return "", "", connectors.Permanent("invalid_message_tag", "Instagram accepts only the HUMAN_AGENT tag, not %q", tag)
	case tag == "HUMAN_AGENT" && since > humanAgentWindow:
		return "", "", connectors.Permanent("outside_messaging_window",
			"the HUMAN_AGENT tag allows replies within 7 days of the customer's last message (%s)", lastSeen(m))
	}
	return "MESSAGE_TAG", tag, nil
}

// checkServiceWindow refuses free-form WhatsApp messages outside the customer service window.
func (s *sender) checkServiceWindow(m *schema.Message) error {
	if m.Template != nil || s.sinceInbound(m) <= serviceWindow {
		return nil
	}
	return connectors.Permanent("outside_customer_service_window",
		"WhatsApp allows free-form messages only within 24 hours of the customer's last message (%s); reply with an approved template: {\"template\": {\"name\": ..., \"language\": ..., \"variables\": {...}}}",
		lastSeen(m))
}

func lastSeen(m *schema.Message) string {
	if m.LastInboundAt == nil {
		return "no message from the customer on record"
	}
	return "last one at " + m.LastInboundAt.UTC().Format(time.RFC3339)
}

func tagList() string {
	var tags []string
	for t := range messengerTags {
		tags = append(tags, t)
	}
	sort.Strings(tags)
	return strings.Join(tags, ", ")
}
