package main

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// TestBenchSmoke runs the load generator against an in-process gateway at a small size and
// checks its bookkeeping: every accepted message is stored once and arrives as a conversation
// event, in order per customer, and the raw ceiling is measured.
func TestBenchSmoke(t *testing.T) {
	for _, name := range []string{"api", "twilio"} {
		t.Run(name, func(t *testing.T) { benchSmoke(t, name) })
	}
}

func benchSmoke(t *testing.T, scenario string) {
	o := &benchOptions{Messages: 300, Concurrency: 8, Customers: 20, Size: 100, Partitions: 4,
		Scenario: scenario, DataDir: t.TempDir(), Timeout: 30 * time.Second}
	sc, err := scenarioByName(scenario)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	env, err := setupBench(ctx, o, sc)
	if err != nil {
		t.Fatal(err)
	}
	defer env.close()
	rep, err := benchmark(ctx, o, sc, env)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Accepted != 300 || rep.Events != 300 || rep.Lost != 0 || rep.Stored != 300 {
		t.Fatalf("accepted %d, events %d, lost %d, stored %d; failures %v", rep.Accepted, rep.Events, rep.Lost, rep.Stored, rep.Failures)
	}
	if rep.OrderViolations != 0 || rep.Unrecognized != 0 {
		t.Fatalf("order violations %d, unrecognized %d", rep.OrderViolations, rep.Unrecognized)
	}
	if rep.Raw == nil || rep.Raw.PerSec <= 0 || rep.Ratio <= 0 || rep.EndToEnd.P50 <= 0 {
		t.Fatalf("incomplete report: %+v", rep)
	}
}

// TestBenchTrackerDetectsDisorder checks the order check itself.
func TestBenchTrackerDetectsDisorder(t *testing.T) {
	o := &benchOptions{Messages: 4, Customers: 1, Concurrency: 1}
	tr := newTracker(o, apiScenario{})
	for _, seq := range []string{"0", "2", "1", "3"} {
		tr.onEvent(natsMsg(`{"message":{"direction":"inbound","text":"` + seq + `\nx","from":{"value":"customer0@bench.example"}}}`))
	}
	if v := tr.violations.Load(); v != 1 {
		t.Fatalf("violations %d, want 1", v)
	}
}

func natsMsg(data string) *nats.Msg { return &nats.Msg{Data: []byte(data)} }
