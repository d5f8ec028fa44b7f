package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
)

// scenario generates the requests of one channel. The bench sends, for each customer in
// turn, message seq of that customer; a scenario must make the conversation event's message
// carry the customer in From.Value and seq as the first line of its text (the order check).
type scenario interface {
	// Config is the YAML (channels section and friends) the in-process gateway needs.
	Config() string
	// Request builds the request for message seq of customer c. payload is filler text.
	Request(o *benchOptions, base string, c, seq int, payload string) (*http.Request, error)
	// Accepted reports whether the answer means "durably stored".
	Accepted(status int) bool
	// Customer returns the From.Value the gateway records for customer c.
	Customer(c int) string
}

var scenarios = map[string]scenario{"api": apiScenario{}, "twilio": twilioScenario{}}

func scenarioNames() string {
	var names []string
	for n := range scenarios {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

func scenarioByName(name string) (scenario, error) {
	sc, ok := scenarios[name]
	if !ok {
		return nil, fmt.Errorf("unknown scenario %q (have %s)", name, scenarioNames())
	}
	return sc, nil
}

// apiScenario posts to the generic API channel, account "bench".
type apiScenario struct{}

func (apiScenario) Config() string {
	return `channels:
  api:
    accounts:
      bench: {token: {env: SWITCHBOARD_BENCH_TOKEN}}
`
}

func (apiScenario) Customer(c int) string { return fmt.Sprintf("customer%d@bench.example", c) }

func (s apiScenario) Request(o *benchOptions, base string, c, seq int, payload string) (*http.Request, error) {
	body, _ := json.Marshal(map[string]any{
		"external_id": fmt.Sprintf("bench-%d-%d-%s", c, seq, runID),
		"from":        s.Customer(c),
		"text":        fmt.Sprintf("%d\n%s", seq, payload),
	})
	req, err := http.NewRequest(http.MethodPost, base+"/v1/channels/api/bench/messages", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+o.Token)
	return req, nil
}

func (apiScenario) Accepted(status int) bool { return status == http.StatusAccepted }
