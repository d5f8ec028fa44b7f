package schema

import "time"

// SLA event types (docs/insight.md#sla-policies): a clock started under a policy, its warning
// lead was reached, its target passed, the metric was met. Each comes once per conversation,
// metric and cycle (for next_response: per exchange).
const (
	EventSLAApplied   EventType = "sla_applied"
	EventSLAWarning   EventType = "sla_warning"
	EventSLABreached  EventType = "sla_breached"
	EventSLASatisfied EventType = "sla_satisfied"
)

// SLA metrics.
const (
	SLAFirstResponse = "first_response"
	SLANextResponse  = "next_response"
	SLAResolution    = "resolution"
)

// SLAClock is one metric's clock under an SLA policy.
type SLAClock struct {
	Metric string `json:"metric"`
	// Cycle counts the conversation's reopenings (0: as opened); Exchange numbers the
	// next-response clocks of a cycle from 1.
	Cycle    int `json:"cycle"`
	Exchange int `json:"exchange,omitempty"`
	// Target is the target in seconds, counted in BusinessHours when set.
	Target        int64      `json:"target_seconds"`
	BusinessHours string     `json:"business_hours,omitempty"`
	StartedAt     time.Time  `json:"started_at"`
	WarnAt        time.Time  `json:"warn_at"`
	DueAt         time.Time  `json:"due_at"`
	WarnedAt      *time.Time `json:"warned_at,omitempty"`
	BreachedAt    *time.Time `json:"breached_at,omitempty"`
	SatisfiedAt   *time.Time `json:"satisfied_at,omitempty"`
	// StoppedAt is when the clock stopped unmet: the conversation was resolved while a
	// response was still owed.
	StoppedAt *time.Time `json:"stopped_at,omitempty"`
}

// Running reports whether the clock still runs (neither met nor stopped).
func (c *SLAClock) Running() bool { return c != nil && c.SatisfiedAt == nil && c.StoppedAt == nil }

// SLAState is a conversation's SLA: the policy of its current cycle and its clocks.
type SLAState struct {
	Policy       string               `json:"policy"`
	RulesVersion string               `json:"rules_version,omitempty"`
	Cycle        int                  `json:"cycle"`
	Clocks       map[string]*SLAClock `json:"clocks"`
}

// SLAEvent is what an SLA event says: the policy and the clock as it stands after it.
type SLAEvent struct {
	Policy       string   `json:"policy"`
	RulesVersion string   `json:"rules_version,omitempty"`
	Clock        SLAClock `json:"clock"`
}

// EventAgentPresence records an agent's presence, on sb.presence.<agent> of SB_CONVERSATIONS
// (with empty conversation and customer ids): when it is set, and sampled every 15 minutes
// (Sampled) with the agent's load, so that presence time and occupancy can be measured
// from the stream (docs/insight.md).
const EventAgentPresence EventType = "agent_presence"

// PresenceSample is an agent's presence and load at an event's time.
type PresenceSample struct {
	Agent  string `json:"agent"`
	Status string `json:"status"`
	// Load is the agent's weighted open conversations; MaxLoad their limit (0: none set).
	Load    int    `json:"load"`
	MaxLoad int    `json:"max_load,omitempty"`
	Reason  string `json:"reason,omitempty"`
	// Sampled marks the quarter-hour sample (not a change someone made).
	Sampled bool `json:"sampled,omitempty"`
}

// Webhook event types, on sb.system.webhook.<subscription> (docs/webhooks.md): a subscription
// whose oldest undelivered event has failed for retry.failing_after, and its recovery.
const (
	EventWebhookFailing   EventType = "webhook_failing"
	EventWebhookRecovered EventType = "webhook_recovered"
)

// WebhookEvent says which subscription is failing or recovered, and on what.
type WebhookEvent struct {
	Subscription string `json:"subscription"`
	// EventID and Seq are the event the subscription is held at (failing) or got through.
	EventID string `json:"event_id"`
	Seq     uint64 `json:"seq"`
	// Since is when that event's first attempt failed; Error the last attempt's error.
	Since time.Time `json:"since"`
	Error string    `json:"error,omitempty"`
}
