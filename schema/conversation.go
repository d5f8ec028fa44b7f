package schema

import "time"

// ConversationSchema and CustomerSchema version the REST records.
const (
	ConversationSchema = "switchboard.conversation.v1"
	CustomerSchema     = "switchboard.customer.v1"
)

// ConversationStatus is open or resolved.
type ConversationStatus string

// Conversation statuses.
const (
	ConversationOpen     ConversationStatus = "open"
	ConversationResolved ConversationStatus = "resolved"
)

// Conversation is the snapshot of one conversation, as the REST API returns it. The event
// stream is the history; the snapshot is its latest state (LastSeq says how far it reflects).
type Conversation struct {
	Schema       string             `json:"schema"`
	ID           string             `json:"id"`
	CustomerID   string             `json:"customer_id"`
	Status       ConversationStatus `json:"status"`
	Subject      string             `json:"subject,omitempty"`
	Channels     []Channel          `json:"channels"`
	ReplyRoute   ReplyRoute         `json:"reply_route"`
	Queue        string             `json:"queue,omitempty"`
	AgentID      string             `json:"agent_id,omitempty"`
	Priority     int                `json:"priority,omitempty"`
	Messages     int                `json:"messages"`
	LastSeq      uint64             `json:"last_seq"`
	LastMessage  string             `json:"last_message_id,omitempty"`
	OpenedAt     time.Time          `json:"opened_at"`
	UpdatedAt    time.Time          `json:"updated_at"`
	LastInbound  *time.Time         `json:"last_inbound_at,omitempty"`
	ResolvedAt   *time.Time         `json:"resolved_at,omitempty"`
	ThreadReason string             `json:"thread_reason,omitempty"`
	// QueuedAt is when the conversation started waiting for an agent (kept across
	// escalations and re-queues: waiting conversations are served by priority, then age).
	QueuedAt *time.Time `json:"queued_at,omitempty"`
	// SLA is the SLA policy of the current cycle and its clocks (nil: no policy applies).
	SLA *SLAState `json:"sla,omitempty"`
	// Survey is the conversation's latest survey (nil: none asked).
	Survey *SurveyState `json:"survey,omitempty"`
	// Tags label the conversation (tagged, untagged events), in the order they were added.
	Tags []string `json:"tags,omitempty"`
	// SnoozedUntil is set while the conversation is snoozed: it wakes then, or when the
	// customer writes, or when woken by hand.
	SnoozedUntil *time.Time `json:"snoozed_until,omitempty"`
	// Flow is the conversation's decision-tree flow, while it runs and after it ended
	// (docs/flows.md).
	Flow *FlowState `json:"flow,omitempty"`
}

// ReplyRoute says where an agent's reply goes: the channel, account and address the customer
// last wrote from, and the message to answer (for email threading headers).
type ReplyRoute struct {
	Channel    Channel  `json:"channel"`
	Account    string   `json:"account"`
	To         Address  `json:"to"`
	InReplyTo  string   `json:"in_reply_to,omitempty"`
	References []string `json:"references,omitempty"`
}

// Customer is one person across all their channel identities.
type Customer struct {
	Schema        string            `json:"schema"`
	ID            string            `json:"id"`
	Name          string            `json:"name,omitempty"`
	ExternalID    string            `json:"external_id,omitempty"`
	Identities    []Identity        `json:"identities"`
	Attributes    map[string]string `json:"attributes,omitempty"`
	Conversations []string          `json:"conversations,omitempty"`
	CreatedAt     time.Time         `json:"created_at"`
	UpdatedAt     time.Time         `json:"updated_at"`
	// MergedInto names the customer this one was merged into; its identities resolve there.
	MergedInto string `json:"merged_into,omitempty"`
	// MergedFrom lists the customers merged into this one (each can be split off again).
	MergedFrom []string `json:"merged_from,omitempty"`
	// Conflicts are automatic merges that were refused (e.g. different external ids).
	Conflicts []IdentityConflict `json:"conflicts,omitempty"`
}

// IdentityConflict is an identity that matched another customer and was not merged.
type IdentityConflict struct {
	Kind       string    `json:"kind"`
	Value      string    `json:"value"`
	CustomerID string    `json:"customer_id"`
	Reason     string    `json:"reason"`
	At         time.Time `json:"at"`
}

// Identity is one channel address that belongs to a customer.
type Identity struct {
	Kind     string    `json:"kind"`
	Value    string    `json:"value"`
	Verified bool      `json:"verified,omitempty"`
	AddedAt  time.Time `json:"added_at"`
	// Source says how the identity was learned: "channel" (a message came from it),
	// "profile" (a channel's verified hint), "rest" (linked by a person).
	Source string `json:"source,omitempty"`
}
