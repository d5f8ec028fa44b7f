package router

import (
	"time"

	"github.com/switchboardhq/switchboard/schema"
)

// CommandType names what a helpdesk asks the router to do.
type CommandType string

// Command types.
const (
	CommandReply   CommandType = "reply"   // send an agent's message to the customer
	CommandNote    CommandType = "note"    // add an internal note (not sent)
	CommandResolve CommandType = "resolve" // close the conversation
	CommandReopen  CommandType = "reopen"  // open a resolved conversation again
)

// Command is a helpdesk's request, carried on SB_ROUTE in the customer's partition so that it
// is ordered with the customer's messages.
type Command struct {
	ID             string          `json:"id"` // idempotency key: a command id is applied once
	Type           CommandType     `json:"type"`
	ConversationID string          `json:"conversation_id"`
	CustomerID     string          `json:"customer_id"`
	Actor          string          `json:"actor,omitempty"`
	Reason         string          `json:"reason,omitempty"`
	Message        *schema.Message `json:"message,omitempty"`
	At             time.Time       `json:"at"`
}
