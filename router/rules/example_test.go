package rules_test

import (
	"fmt"
	"time"

	"github.com/switchboardhq/switchboard/router/rules"
	"github.com/switchboardhq/switchboard/schema"
)

// Rules compile in one step from YAML against the roster, and the decision is a pure
// function of the message, the customer and a view of the agents: no JetStream, no clock
// but the one given.
func ExampleRules_Decide() {
	roster := rules.NewRoster([]rules.AgentConfig{
		{ID: "ann", Skills: []string{"billing"}},
		{ID: "ben", Skills: []string{"billing"}, Capacity: map[string]int{"default": 1}},
	}, nil)
	rs, err := rules.ParseRules("rules.yaml", []byte(`
queues:
  billing: {skills: [billing], strategy: least_loaded}
rules:
  - name: invoices
    when: {keywords: [invoice, refund]}
    targets: [{queue: billing, priority: 10}]
`), roster)
	if err != nil {
		panic(err)
	}
	now := time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC)
	view := rules.NewStaticView(roster)
	view.Set(0, rules.Available, map[string]int{"email": 2}, now) // ann has two open emails
	view.Set(1, rules.Available, nil, now)                        // ben has none

	m := &schema.Message{Channel: schema.ChannelEmail, Text: "My invoice is wrong"}
	d := rs.Decide(&rules.Input{Message: m, Customer: &schema.Customer{}, Now: now}, view)
	fmt.Println(d.Rule, d.Queue, d.Priority, d.Agent)

	view.Set(1, rules.Away, nil, now) // ben steps away: ann is the only one left
	d = rs.Decide(&rules.Input{Message: m, Customer: &schema.Customer{}, Now: now}, view)
	fmt.Println(d.Agent)
	// Output:
	// invoices billing 10 ben
	// ann
}
