package schema

import "time"

// Flow events: a decision-tree flow (docs/flows.md) answering the customer before, or instead
// of, an agent. One event per customer turn: the steps taken, why, and the state after them.
const (
	EventFlowStep      EventType = "flow_step"      // the flow took steps and waits for the customer
	EventFlowHandoff   EventType = "flow_handoff"   // the flow handed the conversation to a queue
	EventFlowCompleted EventType = "flow_completed" // the flow ended without a hand-off: resolved (contained) or stopped
)

// Flow outcomes (FlowState.Outcome).
const (
	FlowOutcomeHandoff  = "handoff"  // handed to a queue with the answers attached
	FlowOutcomeResolved = "resolved" // the customer's need was met without an agent: contained
	FlowOutcomeStopped  = "stopped"  // an agent replied or took the conversation
)

// FlowState is a conversation's place in a flow, as the snapshot keeps it.
type FlowState struct {
	Flow    string `json:"flow"`
	Version string `json:"version"`
	Step    string `json:"step"`
	// Vars are the variables: customer.<name>, answers.<name>, lookup fields, tags.
	Vars map[string]string `json:"vars,omitempty"`
	// Tries counts invalid answers to the current question.
	Tries int `json:"tries,omitempty"`
	// Steps counts the steps taken (bounded by the flow's max_steps).
	Steps int `json:"steps"`
	// Waiting is set while a question waits for the customer; WaitUntil is its timeout.
	Waiting   bool       `json:"waiting,omitempty"`
	WaitUntil *time.Time `json:"wait_until,omitempty"`
	// Done is set once the flow ended; Outcome says how.
	Done    bool   `json:"done,omitempty"`
	Outcome string `json:"outcome,omitempty"`
	// Cycle is the conversation's cycle the flow ran in (a reopened conversation may enter
	// a flow again).
	Cycle int `json:"cycle,omitempty"`
}

// Active reports whether the flow still talks with the customer.
func (s *FlowState) Active() bool { return s != nil && !s.Done }

// FlowStep is one step taken.
type FlowStep struct {
	Step string `json:"step"`
	Kind string `json:"kind"`
	// Why says why the flow came to the step: the answer, the branch case that held.
	Why string `json:"why,omitempty"`
}

// FlowEvent is what a flow_step, flow_handoff or flow_completed event records.
type FlowEvent struct {
	Flow    string     `json:"flow"`
	Version string     `json:"version"`
	Steps   []FlowStep `json:"steps,omitempty"`
	// State is the flow's state after the steps (the snapshot's flow).
	State *FlowState `json:"state,omitempty"`
	// Outcome (flow_handoff, flow_completed): handoff, resolved or stopped.
	Outcome string `json:"outcome,omitempty"`
	// Queue is where a hand-off goes ("" lets the routing rules decide); Answers are the
	// answers collected, attached for the agent.
	Queue   string            `json:"queue,omitempty"`
	Answers map[string]string `json:"answers,omitempty"`
}
