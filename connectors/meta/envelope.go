package meta

import "encoding/json"

// Webhook objects.
const (
	objectPage      = "page"
	objectInstagram = "instagram"
	objectWhatsApp  = "whatsapp_business_account"
)

// envelope is the body of every Meta webhook POST.
type envelope struct {
	Object string  `json:"object"`
	Entry  []entry `json:"entry"`
}

// entry is one page's, Instagram account's or WhatsApp Business account's events.
type entry struct {
	ID        flexString        `json:"id"`
	Time      flexInt           `json:"time"`
	Messaging []json.RawMessage `json:"messaging"` // Messenger, Instagram
	Standby   []json.RawMessage `json:"standby"`   // handover protocol: another app owns the thread
	Changes   []change          `json:"changes"`   // WhatsApp
}

// change is one WhatsApp change; field "messages" carries messages and statuses.
type change struct {
	Field string          `json:"field"`
	Value json.RawMessage `json:"value"`
}
