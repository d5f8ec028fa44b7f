package apptest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchboardhq/switchboard/pipeline/streams"
	"github.com/switchboardhq/switchboard/schema"
	"github.com/switchboardhq/switchboard/schema/schematest"
)

// seen counts, over the test binary's whole run, the event types (and message kinds) that
// every stopped gateway emitted and that validated against the served schema.
var seen sync.Map // string -> struct{}

// SeenEventTypes lists what checkEvents validated so far ("message:note" for a message
// event's kind, plain types otherwise), sorted.
func SeenEventTypes() []string {
	var out []string
	seen.Range(func(k, _ any) bool { out = append(out, k.(string)); return true })
	sort.Strings(out)
	return out
}

// checkEvents validates every event this gateway put on SB_CONVERSATIONS against the event
// schema the gateway serves at /v1/schemas/event.v1.json. A helpdesk that validates events
// would reject any that fails, so every test that runs a gateway checks them when it ends
// (a gateway the test stopped itself is checked by the next one on its data directory).
func (g *Gateway) checkEvents() error {
	status, served := g.Do("GET", "/v1/schemas/event.v1.json", "", nil)
	embedded, _ := schema.JSONSchemas.ReadFile("jsonschema/event.v1.json")
	if status != 200 || !bytes.Equal(served, embedded) {
		return fmt.Errorf("served event schema (%d) differs from the one in the repo", status)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cons, err := g.JS.OrderedConsumer(ctx, streams.StreamConversations, jetstream.OrderedConsumerConfig{})
	if err != nil {
		return fmt.Errorf("read %s: %w", streams.StreamConversations, err)
	}
	var errs []error
	for {
		batch, err := cons.Fetch(512, jetstream.FetchMaxWait(300*time.Millisecond))
		if err != nil {
			return err
		}
		n := 0
		for m := range batch.Messages() {
			n++
			if md, err := m.Metadata(); err == nil && g.planted[md.Sequence.Stream] {
				continue
			}
			if err := checkEvent(m.Data()); err != nil && len(errs) < 5 {
				errs = append(errs, fmt.Errorf("%s: %w", m.Subject(), err))
			}
		}
		if n == 0 || len(errs) >= 5 {
			break
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("events that fail the served schema: %v", errs)
	}
	return nil
}

func checkEvent(data []byte) error {
	if err := schematest.Validate("event.v1.json", data); err != nil {
		return fmt.Errorf("%w\n%s", err, data)
	}
	var e schema.Event
	if err := json.Unmarshal(data, &e); err != nil {
		return err
	}
	seen.Store(string(e.Type), struct{}{})
	if e.Message != nil {
		seen.Store(string(e.Type)+":"+string(e.Message.Kind)+":"+string(e.Message.Direction), struct{}{})
	}
	return nil
}
