// Package rules is the routing rules engine: the YAML spec (queues, business hours, rules
// with conditions and targets), its check and compile (one step, ParseRules: every error
// located), the roster of agents the rules are compiled against (a rules version is a hash
// of the file and the roster), and the decision (Rules.Decide for a new or escalated
// conversation, Rules.Pick for a waiting one) over an AgentView. Test cases (RunCaseFile)
// and the replay simulation (Replay) run the same decision.
//
// It is pure: no JetStream, no clock but the one given; its tests need no server. It may
// import schema and configs/cfg only (docs/architecture.md).
package rules
