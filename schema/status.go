package schema

import (
	"encoding/json"
	"time"
)

// StatusSchema is the value of StatusUpdate.Schema for this version of the contract.
const StatusSchema = "switchboard.status.v1"

// DeliveryStatus is where an outbound message is on its way to the customer.
type DeliveryStatus string

// Delivery statuses. Providers report them out of order; [DeliveryStatus.Rank] orders them so
// that a late "sent" never overwrites "delivered".
const (
	StatusPending     DeliveryStatus = "pending"     // accepted by Switchboard, not yet handed to the provider
	StatusQueued      DeliveryStatus = "queued"      // accepted by the provider
	StatusSent        DeliveryStatus = "sent"        // left the provider
	StatusDelivered   DeliveryStatus = "delivered"   // reached the customer's device or mailbox
	StatusRead        DeliveryStatus = "read"        // the customer saw it
	StatusUndelivered DeliveryStatus = "undelivered" // the carrier gave up
	StatusFailed      DeliveryStatus = "failed"      // could not be sent at all
)

// Rank orders statuses by progress; a status update applies only if it ranks higher than the
// current one. Failures rank above sent (a failure after "sent" is news) but below delivered.
func (s DeliveryStatus) Rank() int {
	switch s {
	case StatusPending:
		return 1
	case StatusQueued:
		return 2
	case StatusSent:
		return 3
	case StatusUndelivered, StatusFailed:
		return 4
	case StatusDelivered:
		return 5
	case StatusRead:
		return 6
	}
	return 0
}

// Implied lists the statuses on the way to s that a message now at from skipped, in order:
// read implies delivered and sent, delivered implies sent. Failures imply nothing.
func (s DeliveryStatus) Implied(from DeliveryStatus) []DeliveryStatus {
	if s != StatusDelivered && s != StatusRead {
		return nil
	}
	var out []DeliveryStatus
	for _, step := range []DeliveryStatus{StatusSent, StatusDelivered} {
		if step.Rank() > from.Rank() && step.Rank() < s.Rank() {
			out = append(out, step)
		}
	}
	return out
}

// Final reports whether no further status is expected.
func (s DeliveryStatus) Final() bool {
	return s == StatusRead || s == StatusFailed || s == StatusUndelivered
}

// StatusUpdate is a provider's report about an outbound message (a Twilio status callback, a
// Meta delivery or read receipt) or a sender's own result. MessageID is ours when known;
// otherwise ExternalID (the provider's id) is looked up.
type StatusUpdate struct {
	Schema       string         `json:"schema"`
	Channel      Channel        `json:"channel"`
	Account      string         `json:"account"`
	MessageID    string         `json:"message_id,omitempty"`
	ExternalID   string         `json:"external_id,omitempty"`
	Status       DeliveryStatus `json:"status"`
	ErrorCode    string         `json:"error_code,omitempty"`
	ErrorMessage string         `json:"error_message,omitempty"`
	Attempts     int            `json:"attempts,omitempty"`
	// Resend counts the times an operator resent a failed message (dlq redrive); statuses of
	// a resend start over from queued.
	Resend int `json:"resend,omitempty"`
	// DeadLetter is the SB_DLQ sequence a failed message was kept under.
	DeadLetter uint64          `json:"dead_letter,omitempty"`
	At         time.Time       `json:"at"`
	Raw        json.RawMessage `json:"raw,omitempty"`
}
