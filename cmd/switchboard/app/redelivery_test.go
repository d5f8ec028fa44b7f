package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchboardhq/switchboard/cmd/switchboard/app/apptest"
	"github.com/switchboardhq/switchboard/pipeline/natstest"
	"github.com/switchboardhq/switchboard/pipeline/streams"
	"github.com/switchboardhq/switchboard/router"
	"github.com/switchboardhq/switchboard/router/rules"
	"github.com/switchboardhq/switchboard/schema"
)

// copyOf finds the stream message carrying message id on stream and returns it (reading
// again while a cluster's stream is not answering yet).
func copyOf(t testing.TB, g *apptest.Gateway, stream, id string) *nats.Msg {
	t.Helper()
	var found *nats.Msg
	apptest.Eventually(t, 15*time.Second, func() error {
		var err error
		found, err = findCopy(g, stream, id)
		return err
	})
	return found
}

func findCopy(g *apptest.Gateway, stream, id string) (*nats.Msg, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cons, err := g.JS.OrderedConsumer(ctx, stream, jetstream.OrderedConsumerConfig{})
	if err != nil {
		return nil, err
	}
	for {
		m, err := cons.Next(jetstream.FetchMaxWait(time.Second))
		if err != nil {
			return nil, fmt.Errorf("no copy of %s on %s: %w", id, stream, err)
		}
		var msg schema.Message
		if json.Unmarshal(m.Data(), &msg) == nil && msg.ID == id {
			h := nats.Header{}
			for k, v := range m.Headers() {
				if k != nats.MsgIdHdr {
					h[k] = v
				}
			}
			return &nats.Msg{Subject: m.Subject(), Header: h, Data: m.Data()}, nil
		}
	}
}

func redeliver(t testing.TB, g *apptest.Gateway, m *nats.Msg, id string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := g.JS.PublishMsg(ctx, m, jetstream.WithMsgID(id)); err != nil {
		t.Fatal(err)
	}
}

// stageCount reads switchboard_stage_messages_total{stage,outcome} from /metrics.
func stageCount(g *apptest.Gateway, stage, outcome string) string {
	_, body := g.Do("GET", "/metrics", "", nil)
	prefix := fmt.Sprintf(`switchboard_stage_messages_total{outcome="%s",stage="%s"} `, outcome, stage)
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, prefix) {
			return strings.TrimPrefix(line, prefix)
		}
	}
	return "0"
}

// A message delivered again (at the inbound stream, and at the router after later messages
// of the customer were applied) appends nothing, assigns nobody and sends nothing twice.
func TestRedeliveredMessageChangesNothing(t *testing.T) {
	g := apptest.Start(t, routingConfig(t, "\nrouter:\n  agents: [{id: ann, skills: [general]}]\n", ""))
	setPresence(t, g, "ann", rules.Available)
	id := g.PostAPI("r1", "redo@example.com", "first")
	g.PostAPI("r2", "redo@example.com", "second")
	before := waitFor(t, g, "sb.conv.>", 10*time.Second, atLeast(2, schema.EventMessage))
	var conv schema.Conversation
	getJSON(t, g, "/v1/conversations/"+before[0].ConversationID, &conv)

	inbound := copyOf(t, g, streams.StreamInbound, id)
	redeliver(t, g, inbound, "late-copy-1")
	redeliver(t, g, inbound, "late-copy-2")
	// Each copy goes through the stages again and reaches the router, which drops it.
	apptest.Eventually(t, 10*time.Second, func() error {
		if r := stageCount(g, "router", "duplicate"); r != "2" {
			return fmt.Errorf("router duplicates %s", r)
		}
		return nil
	})
	after := streamEvents(t, g, "sb.conv.>")
	var again schema.Conversation
	getJSON(t, g, "/v1/conversations/"+conv.ID, &again)
	if len(after) != len(before) || again.LastSeq != conv.LastSeq || again.Messages != 2 {
		t.Fatalf("a redelivery changed the conversation: %d → %d events, seq %d → %d", len(before), len(after), conv.LastSeq, again.LastSeq)
	}
	var ann router.AgentInfo
	getJSON(t, g, "/v1/agents/ann", &ann)
	if len(ann.Conversations) != 1 {
		t.Fatalf("ann holds %v", ann.Conversations)
	}
}

// crashAfterEvents leaves the store as a crash between publishing message 2's events and
// storing its snapshot and record would, restarts the gateway (its caches die with it) and
// returns the new gateway, the conversation, message 2's id and SB_ROUTE copy, and the
// events published so far.
func crashAfterEvents(t *testing.T) (*apptest.Gateway, string, string, *nats.Msg, []*schema.Event) {
	cfg := routingConfig(t, "\nrouter:\n  agents: [{id: ann, skills: [general]}]\n", "")
	g := apptest.Start(t, cfg)
	setPresence(t, g, "ann", rules.Available)
	g.PostAPI("k1", "crash@example.com", "first")
	first := waitFor(t, g, "sb.conv.>", 10*time.Second, atLeast(1, schema.EventAssigned))
	convID := first[0].ConversationID
	ctx := context.Background()
	convs, _ := g.JS.KeyValue(ctx, streams.BucketConversations)
	var snap jetstream.KeyValueEntry
	apptest.Eventually(t, 10*time.Second, func() error { // the snapshot is stored right after the events
		var err error
		snap, err = convs.Get(ctx, convID)
		return err
	})
	id := g.PostAPI("k2", "crash@example.com", "second")
	all := waitFor(t, g, "sb.conv.>", 10*time.Second, atLeast(2, schema.EventMessage))
	inboundCopy := copyOf(t, g, streams.StreamInbound, id)
	if _, err := convs.Put(ctx, convID, snap.Value()); err != nil {
		t.Fatal(err)
	}
	// The crash came before the message index learned message 2 (its entry is written after
	// the snapshot).
	forgetIndex(t, g)
	dir := g.DataDir
	g.Stop()
	return apptest.Start(t, cfg, apptest.Options{DataDir: dir}), convID, id, inboundCopy, all
}

// forgetIndex empties the message index, as if the messages in it had not been recorded yet.
func forgetIndex(t *testing.T, g *apptest.Gateway) {
	t.Helper()
	ctx := context.Background()
	msgs, err := g.JS.KeyValue(ctx, streams.BucketMessages)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := msgs.ListKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for k := range keys.Keys() {
		if strings.HasPrefix(k, "ix.") {
			if err := msgs.Purge(ctx, k); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func checkCompleted(t *testing.T, g *apptest.Gateway, convID, id string, messages int, events int) {
	t.Helper()
	apptest.Eventually(t, 10*time.Second, func() error {
		var c schema.Conversation
		getJSON(t, g, "/v1/conversations/"+convID, &c)
		if c.LastSeq != uint64(events) || c.Messages != messages {
			return fmt.Errorf("snapshot not completed: %+v", c)
		}
		return nil
	})
	after := streamEvents(t, g, "sb.conv.>")
	if len(after) != events {
		t.Fatalf("%d events, want %d:\n%s", len(after), events, apptest.Sprint(after))
	}
	for i, e := range after {
		if e.Seq != uint64(i+1) {
			t.Fatalf("seq %d at %d:\n%s", e.Seq, i, apptest.Sprint(after))
		}
	}
	apptest.Eventually(t, 10*time.Second, func() error {
		st, body := g.Do("GET", "/v1/messages/"+id, apptest.Token, nil)
		var rec schema.Message
		_ = json.Unmarshal(body, &rec)
		if st != 200 || rec.ConversationID != convID {
			return fmt.Errorf("the message record was not completed: %d %s", st, body)
		}
		return nil
	})
}

// After the restart the redelivered message completes from its published events and
// publishes nothing new.
func TestCrashBetweenEventsAndSnapshotCompletesFromTheStream(t *testing.T) {
	g, convID, id, inboundCopy, all := crashAfterEvents(t)
	redeliver(t, g, inboundCopy, "after-restart")
	checkCompleted(t, g, convID, id, 2, len(all))
	if stageCount(g, "router", "duplicate") != "0" {
		t.Fatal("the interrupted message was not completed but dropped as a duplicate")
	}
}

// After a crash, redeliveries can come after newer messages: the newer message finds the
// interrupted one's events, completes it from them, then applies itself; the late
// redelivery is then a duplicate. Nothing is lost, repeated or reordered.
func TestCrashedMessageRedeliveredAfterANewerOne(t *testing.T) {
	g, convID, id, inboundCopy, all := crashAfterEvents(t)
	g.PostAPI("k3", "crash@example.com", "third")
	checkCompleted(t, g, convID, id, 3, len(all)+1)
	redeliver(t, g, inboundCopy, "late-redelivery")
	apptest.Eventually(t, 10*time.Second, func() error {
		if n := stageCount(g, "router", "duplicate"); n != "1" {
			return fmt.Errorf("duplicates: %s", n)
		}
		return nil
	})
	checkCompleted(t, g, convID, id, 3, len(all)+1)
	texts := []string{}
	for _, e := range ofType(streamEvents(t, g, "sb.conv.>"), schema.EventMessage) {
		texts = append(texts, e.Message.Text)
	}
	if fmt.Sprint(texts) != "[first second third]" {
		t.Fatalf("messages %v", texts)
	}
}

// A decision whose events were published but whose snapshot was not (a store failing under
// the router, a crash) is retried; the retry sees the first attempt's reservation as load and
// picks another agent, then finds the published events (on a cluster, as duplicates of its own
// event ids). The events are the truth: afterwards the snapshot names their agent, that agent
// holds the conversation and nobody else does.
func TestRetriedDecisionLeavesOnlyThePublishedAgentHolding(t *testing.T) {
	if testing.Short() {
		t.Skip("cluster test")
	}
	cluster := natstest.StartCluster(t, 3)
	cfg := fmt.Sprintf(`
log: {level: error}
nats: {url: %q, replicas: 3}
pipeline: {partitions: 2, lease_ttl: 3s}
rest: {tokens: [{name: t, token: {env: APPTEST_TOKEN}}]}
channels: {api: {accounts: {demo: {token: {env: APPTEST_TOKEN}}}}}
router:
  agents:
    - {id: ann, skills: [general], capacity: {default: 1}}
    - {id: ben, skills: [general], capacity: {default: 1}}
`, cluster.URLs())
	g := apptest.Start(t, cfg, apptest.Options{InstanceID: "gw-a"})
	setPresence(t, g, "ann", rules.Available)
	setPresence(t, g, "ben", rules.Available)
	id := g.PostAPI("r1", "retry@example.com", "first")
	assigned := ofType(waitFor(t, g, "sb.conv.>", 10*time.Second, atLeast(1, schema.EventAssigned)), schema.EventAssigned)[0]
	owner, convID := assigned.Routing.AgentID, assigned.ConversationID
	inboundCopy := copyOf(t, g, streams.StreamInbound, id)
	// Undo everything written after the events: snapshot, message index, threading state.
	ctx := context.Background()
	forgetIndex(t, g)
	for bucket, key := range map[string]string{streams.BucketConversations: convID,
		streams.BucketThreads: "c." + assigned.CustomerID} {
		kv, err := g.JS.KeyValue(ctx, bucket)
		if err != nil {
			t.Fatal(err)
		}
		if err := kv.Delete(ctx, key); err != nil {
			t.Fatal(err)
		}
	}
	g.Stop()
	g = apptest.Start(t, cfg, apptest.Options{InstanceID: "gw-b"}) // nothing cached
	redeliver(t, g, inboundCopy, "retried-decision")
	checkCompleted(t, g, convID, id, 1, 3)
	var snap schema.Conversation
	getJSON(t, g, "/v1/conversations/"+convID, &snap)
	if snap.AgentID != owner {
		t.Fatalf("the snapshot says %q, the published events %q", snap.AgentID, owner)
	}
	apptest.Eventually(t, 10*time.Second, func() error {
		for _, a := range []string{"ann", "ben"} {
			var info router.AgentInfo
			getJSON(t, g, "/v1/agents/"+a, &info)
			holds := slices.Contains(info.Conversations, convID)
			if holds != (a == owner) {
				return fmt.Errorf("%s holds %v; the conversation was assigned to %s", a, info.Conversations, owner)
			}
		}
		return nil
	})
}

// A deployment upgraded from whole message records keyed by id (before the message index)
// still finds those messages by id, and still drops their late copies, until the records
// age out.
func TestRecordsFromBeforeTheIndexStillCount(t *testing.T) {
	g := apptest.Start(t, apptest.DefaultConfig)
	id := g.PostAPI("old1", "legacy@example.com", "from before the upgrade")
	evs := waitFor(t, g, "sb.conv.>", 10*time.Second, atLeast(1, schema.EventMessage))
	inboundCopy := copyOf(t, g, streams.StreamInbound, id)
	old := *ofType(evs, schema.EventMessage)[0].Message
	old.Text = "as the old record has it"
	data, _ := json.Marshal(&old)
	forgetIndex(t, g)
	ctx := context.Background()
	msgs, err := g.JS.KeyValue(ctx, streams.BucketMessages)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := msgs.Put(ctx, id, data); err != nil {
		t.Fatal(err)
	}
	dir := g.DataDir
	g.Stop()
	g = apptest.Start(t, apptest.DefaultConfig, apptest.Options{DataDir: dir})
	var m schema.Message
	getJSON(t, g, "/v1/messages/"+id, &m)
	if m.Text != old.Text || m.ConversationID != old.ConversationID {
		t.Fatalf("GET served %+v, want the old record", m)
	}
	redeliver(t, g, inboundCopy, "late-after-upgrade")
	apptest.Eventually(t, 10*time.Second, func() error {
		if n := stageCount(g, "router", "duplicate"); n != "1" {
			return fmt.Errorf("router duplicates %s", n)
		}
		return nil
	})
	if n := len(streamEvents(t, g, "sb.conv.*.message")); n != 1 {
		t.Fatalf("%d message events: the late copy was applied again", n)
	}
}
