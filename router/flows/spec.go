// Package flows holds decision-tree flows as code (docs/flows.md): the YAML file's shape, its
// checks (every problem with file:line:col, loops that never wait for the customer), and the
// engine that runs a flow one customer turn at a time — state and an answer in, the bot's
// messages, the steps with why and the next state out; lookups and knowledge-base searches go
// through an [Env]. The router (router/flow.go) keeps the state in the conversation's events
// and renders the messages per channel. Also: the dialogues of `flows test` (cases.go) and the
// replay of recorded conversations (replay.go).
package flows

import "github.com/switchboardhq/switchboard/configs/cfg"

// FileSpec is the YAML shape of a flows file.
type FileSpec struct {
	Flows map[string]*FlowSpec `yaml:"flows"`
	// Handoff are the words with which a customer asks for a person at any step (matched
	// like answers). Default: agent, human, person, temsilci.
	Handoff []string `yaml:"handoff_keywords"`
	// Defaults are the flows conversations enter when the routing rule that matched names
	// none: by channel ("sms") or channel and account ("whatsapp/acme"), the more specific
	// first. A rule's `flow: none` keeps its conversations out of flows.
	Defaults map[string]string `yaml:"defaults"`
}

// FlowSpec is one flow: named steps and the first one.
type FlowSpec struct {
	Start string               `yaml:"start"`
	Steps map[string]*StepSpec `yaml:"steps"`
	// MaxSteps bounds the steps one conversation may take in the flow (default 50): past it
	// the conversation is handed off.
	MaxSteps int `yaml:"max_steps"`
	// Handoff is the queue the customer asking for a person, the step budget or repeated
	// invalid answers hand off to (default: routing decides).
	Handoff string `yaml:"handoff_queue"`
}

// StepSpec is one step. Exactly one of say, ask, branch, set, lookup, article, handoff,
// resolve is given.
type StepSpec struct {
	// Say sends a message and goes on to Next.
	Say string `yaml:"say"`
	// Ask sends a question and waits for the answer: one of Options, or free text checked by
	// Validate and saved under Save.
	Ask      string        `yaml:"ask"`
	Options  []*OptionSpec `yaml:"options"`
	Validate string        `yaml:"validate"` // number, email, phone, date, or a regex
	Save     string        `yaml:"save"`
	// Retries is how many invalid answers get Reprompt before OnInvalid (default 2).
	Retries   int    `yaml:"retries"`
	Reprompt  string `yaml:"reprompt"`
	OnInvalid string `yaml:"on_invalid"`
	// Timeout is how long the question waits; then OnTimeout.
	Timeout   cfg.Duration `yaml:"timeout"`
	OnTimeout string       `yaml:"on_timeout"`
	// Branch goes to the first case whose When holds (a case without When always holds).
	Branch []*CaseSpec `yaml:"branch"`
	// Set stores variables and goes on to Next: answers.<name>, customer.<name> (kept on
	// the customer's record), tags (added to the conversation) and priority.
	Set map[string]string `yaml:"set"`
	// Lookup calls an HTTP endpoint; its JSON answer's fields become lookup.<save>.<field>.
	// A failure (timeout, an error status, not JSON) goes to OnFailure.
	Lookup    *LookupSpec `yaml:"lookup"`
	OnFailure string      `yaml:"on_failure"`
	// Article answers from the knowledge base with the best matches for its query (a
	// template, e.g. "{{answers.question}}"), then asks whether that solved it: Solved
	// or Unsolved follow; None when nothing matched (default Unsolved).
	Article  string `yaml:"article"`
	Solved   string `yaml:"solved"`
	Unsolved string `yaml:"unsolved"`
	None     string `yaml:"none"`
	// Handoff ends the flow: the conversation goes to a queue with the answers attached.
	Handoff *HandoffSpec `yaml:"handoff"`
	// Resolve ends the flow: the customer's need was met without an agent (contained).
	Resolve string `yaml:"resolve"`
	Next    string `yaml:"next"`
}

// OptionSpec is one answer of a question: shown as Label, accepted as its number, its label
// or its value (a button's payload).
type OptionSpec struct {
	Label string `yaml:"label"`
	Value string `yaml:"value"`
	Next  string `yaml:"next"`
}

// CaseSpec is one case of a branch: When compares a variable (`answers.topic == billing`,
// `!=`, or a bare variable for "is set").
type CaseSpec struct {
	When string `yaml:"when"`
	// Expr is a condition in the routing rules' expression language (docs/routing.md) over
	// message, customer and conversation, plus answers and vars.
	Expr string `yaml:"expr"`
	// BusinessHours holds while the named hours (the rules file's business_hours) are open;
	// OutsideBusinessHours while they are closed.
	BusinessHours        string `yaml:"business_hours"`
	OutsideBusinessHours string `yaml:"outside_business_hours"`
	Next                 string `yaml:"next"`
}

// LookupSpec is an HTTP call: a POST of the conversation's variables as JSON, signed like
// the event webhooks (Standard Webhooks: webhook-id, webhook-timestamp, webhook-signature)
// when SecretEnv names an environment variable holding the secret.
type LookupSpec struct {
	URL       string       `yaml:"url"`
	SecretEnv string       `yaml:"secret_env"`
	Timeout   cfg.Duration `yaml:"timeout"` // default 3s, at most 10s
	// Save names the result: its fields are lookup.<save>.<field> (default: the step's name).
	Save string `yaml:"save"`
}

// HandoffSpec is where a hand-off goes.
type HandoffSpec struct {
	Queue  string `yaml:"queue"`
	Reason string `yaml:"reason"`
}
