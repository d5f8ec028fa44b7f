package webchat_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/cmd/switchboard/app/apptest"
)

// TestTabsOnTwoInstances: two gateways share one NATS; a visitor's tabs on different instances
// are one visitor (the generated signing secret is shared through JetStream), see each other's
// messages, the agent's reply and read receipts.
func TestTabsOnTwoInstances(t *testing.T) {
	g1 := apptest.Start(t, testConfig)
	second := strings.Replace(testConfig, "pipeline:", "nats: "+g1.NATSFlow()+"\npipeline:", 1)
	g2 := apptest.Start(t, second, apptest.Options{InstanceID: "second"})

	a := connect(t, g1, nil)
	b := connect(t, g2, map[string]any{"token": a.token()})
	if a.visitor() != b.visitor() {
		t.Fatalf("instance 2 did not accept instance 1's token: %v", b.welcome)
	}
	a.message("i1", "written on instance 1")
	a.expect("ack", 5*time.Second)
	conv := b.expect("conversation", 10*time.Second)["conversation_id"].(string)
	if got := msgOf(b.expectMessage("visitor", 10*time.Second)); got["text"] != "written on instance 1" {
		t.Fatalf("instance 2 tab got %v", got)
	}
	_, body := g2.Do("POST", "/v1/conversations/"+conv+"/messages", apptest.Token, map[string]any{"text": "hello both instances"})
	var reply struct{ ID string }
	_ = json.Unmarshal(body, &reply)
	for _, c := range []*client{a, b} {
		if got := msgOf(c.expectMessage("agent", 10*time.Second)); got["id"] != reply.ID {
			t.Fatalf("agent reply: %v", got)
		}
	}
	b.send(map[string]any{"type": "read", "message_id": reply.ID})
	if r := a.expect("read", 5*time.Second); r["message_id"] != reply.ID {
		t.Fatalf("read sync across instances: %v", r)
	}
}
