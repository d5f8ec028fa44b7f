package schema_test

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/switchboardhq/switchboard/schema"
)

// A provider that retries a webhook sends the same message again: its id derives from the
// channel, the account and the provider's own id, so the retry maps onto the message already
// stored and is dropped as a duplicate.
func ExampleMessageID() {
	first := schema.MessageID(schema.DedupeKey(schema.ChannelSMS, "main", "SM0123"))
	retry := schema.MessageID(schema.DedupeKey(schema.ChannelSMS, "main", "SM0123"))
	other := schema.MessageID(schema.DedupeKey(schema.ChannelSMS, "main", "SM0124"))
	fmt.Println(strings.HasPrefix(first, schema.PrefixMessage), first == retry, first == other)
	// Output: true true false
}

// A helpdesk reads the unified stream as schema.Event values: the type says what happened,
// and exactly one of Message, Routing, Delivery (and the others) carries the details.
func ExampleEvent() {
	data := []byte(`{"schema": "switchboard.event.v1", "id": "evt_1", "type": "assigned", "seq": 3,
		"conversation_id": "cnv_1", "customer_id": "cus_1", "at": "2026-12-01T09:30:00Z",
		"routing": {"rules_version": "r1", "queue": "billing", "agent_id": "dana", "rule": "vip", "reason": "least loaded"}}`)
	var ev schema.Event
	if err := json.Unmarshal(data, &ev); err != nil {
		panic(err)
	}
	fmt.Printf("#%d %s: %s in %s (rule %s)\n", ev.Seq, ev.Type, ev.Routing.AgentID, ev.Routing.Queue, ev.Routing.Rule)
	// Output: #3 assigned: dana in billing (rule vip)
}
