package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchboardhq/switchboard/cmd/switchboard/app/apptest"
	"github.com/switchboardhq/switchboard/pipeline"
	"github.com/switchboardhq/switchboard/pipeline/streams"
	"github.com/switchboardhq/switchboard/router/identity"
	"github.com/switchboardhq/switchboard/router/rules"
	"github.com/switchboardhq/switchboard/schema"
	"github.com/switchboardhq/switchboard/schema/schematest"
)

// routingConfig is DefaultConfig plus a router section; rules (if any) is written to a
// rules file the section points at.
func routingConfig(t testing.TB, routerSection, rules string) string {
	t.Helper()
	cfg := apptest.DefaultConfig + routerSection
	if rules != "" {
		path := filepath.Join(t.TempDir(), "rules.yaml")
		if err := os.WriteFile(path, []byte(rules), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg += fmt.Sprintf("  rules_file: %s\n", path)
	}
	return cfg
}

// second starts another gateway on the first one's NATS (a second `switchboard serve`
// instance of the same deployment).
func second(t testing.TB, first *apptest.Gateway, yaml string) *apptest.Gateway {
	return apptest.Start(t, yaml+"nats: "+first.NATSFlow()+"\n", apptest.Options{InstanceID: "second"})
}

// publish hands a message to the pipeline the way a connector does and returns its id.
func publish(t testing.TB, g *apptest.Gateway, m *schema.Message) string {
	t.Helper()
	p := pipeline.NewPublisher(g.JS, nil, g.Config.Pipeline.Partitions, pipeline.NewMetrics(nil))
	p.PartitionBy(identity.NewNormalizer(g.Config.Router.Identity).ExpectedCustomer) // as the gateway's intake does
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rc, err := p.Publish(ctx, m)
	if err != nil {
		t.Fatalf("publish: %v", err)
	}
	return rc.ID
}

func setPresence(t testing.TB, g *apptest.Gateway, agent string, status rules.Presence) {
	t.Helper()
	if st, body := g.Do("PUT", "/v1/agents/"+agent+"/presence", apptest.Token, map[string]string{"status": string(status)}); st != 200 {
		t.Fatalf("presence %s %s: %d %s", agent, status, st, body)
	}
}

// streamEvents returns every event on SB_CONVERSATIONS matching filter, in stream order.
func streamEvents(t testing.TB, g *apptest.Gateway, filter string) []*schema.Event {
	t.Helper()
	evs, err := readEvents(g, filter)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// errBadEvent marks an event that breaks the contract: never worth waiting out.
var errBadEvent = errors.New("bad event")

// readEvents reads the events matching filter; errors reading the stream (a cluster
// electing a new leader) are returned so that pollers can try again.
func readEvents(g *apptest.Gateway, filter string) ([]*schema.Event, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cons, err := g.JS.OrderedConsumer(ctx, streams.StreamConversations, jetstream.OrderedConsumerConfig{FilterSubjects: []string{filter}})
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", filter, err)
	}
	var out []*schema.Event
	for {
		batch, err := cons.FetchNoWait(256)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", filter, err)
		}
		n, last := 0, false
		for m := range batch.Messages() {
			n++
			var ev schema.Event
			if err := json.Unmarshal(m.Data(), &ev); err != nil {
				return nil, fmt.Errorf("%w: event on %s is not JSON: %w", errBadEvent, m.Subject(), err)
			}
			if err := schematest.Validate("event.v1.json", m.Data()); err != nil {
				return nil, fmt.Errorf("%w: event on %s: %w", errBadEvent, m.Subject(), err)
			}
			out = append(out, &ev)
			md, _ := m.Metadata()
			last = md != nil && md.NumPending == 0
		}
		if n == 0 || last {
			return out, nil
		}
	}
}

// waitFor polls the stream until pred holds for the events matching filter.
func waitFor(t testing.TB, g *apptest.Gateway, filter string, timeout time.Duration, pred func([]*schema.Event) error) []*schema.Event {
	t.Helper()
	var evs []*schema.Event
	apptest.Eventually(t, timeout, func() error {
		var err error
		if evs, err = readEvents(g, filter); errors.Is(err, errBadEvent) {
			t.Fatal(err)
		} else if err != nil {
			return err
		}
		return pred(evs)
	})
	return evs
}

func ofType(evs []*schema.Event, types ...schema.EventType) []*schema.Event {
	var out []*schema.Event
	for _, e := range evs {
		for _, typ := range types {
			if e.Type == typ {
				out = append(out, e)
			}
		}
	}
	return out
}

func atLeast(n int, types ...schema.EventType) func([]*schema.Event) error {
	return func(evs []*schema.Event) error {
		if got := len(ofType(evs, types...)); got < n {
			return fmt.Errorf("%d %v events, want %d:\n%s", got, types, n, apptest.Sprint(evs))
		}
		return nil
	}
}

func getJSON(t testing.TB, g *apptest.Gateway, path string, v any) {
	t.Helper()
	st, body := g.Do("GET", path, apptest.Token, nil)
	if st != 200 {
		t.Fatalf("GET %s: %d %s", path, st, body)
	}
	switch v.(type) {
	case *schema.Customer:
		schematest.Check(t, "customer.v1.json", body)
	case *schema.Conversation:
		schematest.Check(t, "conversation.v1.json", body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: %v: %s", path, err, body)
	}
}

func sms(ext, from, text string) *schema.Message {
	return &schema.Message{Channel: schema.ChannelSMS, Account: "acme", ExternalID: ext,
		From: schema.Address{Kind: "phone", Value: from}, Text: text}
}

func email(ext, from, text, msgID string, inReplyTo ...string) *schema.Message {
	return &schema.Message{Channel: schema.ChannelEmail, Account: "support", ExternalID: ext, Subject: "Help",
		From: schema.Address{Kind: "email", Value: from}, Text: text,
		Thread: &schema.Thread{MessageID: msgID, InReplyTo: inReplyTo, References: inReplyTo}}
}
