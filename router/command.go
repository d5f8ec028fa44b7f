package router

import (
	"time"

	"github.com/switchboardhq/switchboard/schema"
)

// CommandType names what a helpdesk (or the dispatcher) asks the router to do.
type CommandType string

// Command types.
const (
	CommandReply    CommandType = "reply"    // send an agent's message to the customer
	CommandNote     CommandType = "note"     // add an internal note (not sent)
	CommandResolve  CommandType = "resolve"  // close the conversation
	CommandReopen   CommandType = "reopen"   // open a resolved conversation again
	CommandAssign   CommandType = "assign"   // give it to AgentID (reserved by the sender)
	CommandTransfer CommandType = "transfer" // move it to AgentID (reserved by the sender) or to Queue
	CommandRequeue  CommandType = "requeue"  // AgentID went offline: back to the queue
	CommandEscalate CommandType = "escalate" // target Target of rule Rule timed out: next target
	CommandOverflow CommandType = "overflow" // waited too long in Queue: to its overflow queue
	CommandReroute  CommandType = "reroute"  // Queue no longer exists (rules changed): route by the rules again
	CommandTag      CommandType = "tag"      // add Tags, remove Untag
	CommandPriority CommandType = "priority" // set the priority to Priority
	CommandSnooze   CommandType = "snooze"   // snooze until Until
	CommandWake     CommandType = "wake"     // wake from a snooze (by hand; Actor "snooze": the timer for Until)
)

// Command is a request about one conversation, carried on SB_ROUTE in the customer's
// partition so that it is ordered with the customer's messages.
type Command struct {
	ID             string          `json:"id"` // idempotency key: a command id is applied once
	Type           CommandType     `json:"type"`
	ConversationID string          `json:"conversation_id"`
	CustomerID     string          `json:"customer_id"`
	Actor          string          `json:"actor,omitempty"`
	Reason         string          `json:"reason,omitempty"`
	Message        *schema.Message `json:"message,omitempty"`
	At             time.Time       `json:"at"`

	// AgentID is the agent assigned or transferred to (already reserved under cause
	// "cmd:<id>"), or the agent who went offline.
	AgentID string `json:"agent_id,omitempty"`
	// Queue is the queue transferred to, or the queue an assignment or overflow is for.
	Queue string `json:"queue,omitempty"`
	// Rule and Target name the target that timed out (escalate).
	Rule     string `json:"rule,omitempty"`
	Target   int    `json:"target,omitempty"`
	Strategy string `json:"strategy,omitempty"`
	// Priority is a recovery task's priority.
	Priority int `json:"priority,omitempty"`
	// SLA names the clock of an SLA timer.
	SLA *SLATimer `json:"sla,omitempty"`
	// Survey is a survey request, timer, answer or recovery.
	Survey *SurveyCommand `json:"survey,omitempty"`
	// Tags are added and Untag removed (tag; normalized by the sender).
	Tags  []string `json:"tags,omitempty"`
	Untag []string `json:"untag,omitempty"`
	// Until is when a snooze ends (snooze, and the wake timer).
	Until *time.Time `json:"until,omitempty"`
}

// Cause is the cause id under which a command is applied (and agents reserved for it).
func (c *Command) Cause() string { return "cmd:" + c.ID }
