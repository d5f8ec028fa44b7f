package schema

import "time"

// EventSchema is the value of Event.Schema for this version of the contract.
const EventSchema = "switchboard.event.v1"

// EventType names what happened to a conversation.
type EventType string

// Conversation event types. Helpdesks must ignore types they do not know: new ones are added
// without a version bump.
const (
	EventOpened      EventType = "opened"      // a new conversation started
	EventMessage     EventType = "message"     // a message (inbound, outbound or note) joined it
	EventQueued      EventType = "queued"      // it waits in a queue for an agent
	EventAssigned    EventType = "assigned"    // an agent got it
	EventUnassigned  EventType = "unassigned"  // its agent was taken off (offline, capacity)
	EventTransferred EventType = "transferred" // moved to another agent or queue
	EventReopened    EventType = "reopened"    // a resolved conversation became open again
	EventResolved    EventType = "resolved"    // closed by an agent or a policy
	EventDelivery    EventType = "delivery"    // delivery status of an outbound message changed
)

// Customer event types, published on sb.customer.<customer>.<type> with an empty
// ConversationID. Identity changes are reversible: a merge is undone by a split, a link by an
// unlink.
const (
	EventIdentityLinked   EventType = "identity_linked"   // an identity now belongs to the customer
	EventIdentityUnlinked EventType = "identity_unlinked" // an identity was taken off the customer
	EventCustomerMerged   EventType = "customer_merged"   // another customer was merged into this one
	EventCustomerSplit    EventType = "customer_split"    // a merged customer was split off again
	EventIdentityConflict EventType = "identity_conflict" // an automatic merge was refused; a person should decide
)

// Event is one entry of the unified conversation stream. Events of one conversation are
// published in order; Seq numbers them from 1 without gaps. ID is deterministic, so a
// consumer that sees an ID twice may drop the second copy.
type Event struct {
	Schema         string    `json:"schema"`
	ID             string    `json:"id"`
	Type           EventType `json:"type"`
	ConversationID string    `json:"conversation_id"`
	CustomerID     string    `json:"customer_id"`
	Seq            uint64    `json:"seq"`
	At             time.Time `json:"at"`
	Actor          string    `json:"actor,omitempty"`
	Reason         string    `json:"reason,omitempty"`

	Message  *Message        `json:"message,omitempty"`
	Routing  *Routing        `json:"routing,omitempty"`
	Delivery *Delivery       `json:"delivery,omitempty"`
	Identity *IdentityChange `json:"identity,omitempty"`
	SLA      *SLAEvent       `json:"sla,omitempty"`
	Presence *PresenceSample `json:"presence,omitempty"`
	Survey   *SurveyEvent    `json:"survey,omitempty"`
	Webhook  *WebhookEvent   `json:"webhook,omitempty"`
	Triage   *Triage         `json:"triage,omitempty"`
	Flow     *FlowEvent      `json:"flow,omitempty"`
}

// Routing explains a routing decision: which rule and target matched, under which rules
// version, and why this agent.
type Routing struct {
	RulesVersion  string `json:"rules_version,omitempty"`
	Rule          string `json:"rule,omitempty"`
	Target        int    `json:"target,omitempty"`
	Queue         string `json:"queue,omitempty"`
	Priority      int    `json:"priority,omitempty"`
	AgentID       string `json:"agent_id,omitempty"`
	PreviousAgent string `json:"previous_agent,omitempty"`
	PreviousQueue string `json:"previous_queue,omitempty"`
	Strategy      string `json:"strategy,omitempty"`
	Reason        string `json:"reason,omitempty"`
	// TimeoutAt is when a waiting conversation moves on to the rule's next target.
	TimeoutAt *time.Time `json:"timeout_at,omitempty"`
}

// IdentityChange describes a customer event: the identities concerned, and the other customer
// of a merge, split or conflict.
type IdentityChange struct {
	Identities    []Identity `json:"identities,omitempty"`
	OtherCustomer string     `json:"other_customer,omitempty"`
	Source        string     `json:"source,omitempty"`
}

// Delivery reports the status of an outbound message.
type Delivery struct {
	MessageID    string         `json:"message_id"`
	ExternalID   string         `json:"external_id,omitempty"`
	Channel      Channel        `json:"channel,omitempty"`
	Status       DeliveryStatus `json:"status"`
	ErrorCode    string         `json:"error_code,omitempty"`
	ErrorMessage string         `json:"error_message,omitempty"`
	Attempts     int            `json:"attempts,omitempty"`
	// Implied marks a status the channel never reported on its own: a later one implied it
	// (read implies delivered, delivered implies sent). It comes right before that status.
	Implied bool `json:"implied,omitempty"`
	// Resend counts the times the message was resent after it failed (dlq redrive); statuses
	// of a resend start over from queued.
	Resend int `json:"resend,omitempty"`
	// DeadLetter is the SB_DLQ sequence a failed message was kept under, for
	// `switchboard dlq redrive --seq N`.
	DeadLetter uint64 `json:"dead_letter,omitempty"`
}
