package streams_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchboardhq/switchboard/pipeline/kernel"
	"github.com/switchboardhq/switchboard/pipeline/natstest"
	"github.com/switchboardhq/switchboard/pipeline/streams"
	"github.com/switchboardhq/switchboard/schema"
)

func conversationStream(t *testing.T) (jetstream.JetStream, context.Context) {
	t.Helper()
	js := natstest.StartJetStream(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: streams.StreamConversations,
		Subjects: []string{streams.FilterConversations, streams.FilterCustomers}}); err != nil {
		t.Fatal(err)
	}
	return js, ctx
}

func publish(t *testing.T, ctx context.Context, js jetstream.JetStream, subject string, data []byte, cause string) uint64 {
	t.Helper()
	ack, err := js.PublishMsg(ctx, &nats.Msg{Subject: subject, Data: data, Header: nats.Header{streams.HeaderCause: {cause}}})
	if err != nil {
		t.Fatal(err)
	}
	return ack.Sequence
}

func event(conv string, seq uint64, typ schema.EventType) (*schema.Event, []byte) {
	ev := &schema.Event{ID: fmt.Sprintf("%s-%d", conv, seq), ConversationID: conv, Seq: seq, Type: typ}
	data, _ := json.Marshal(ev)
	return ev, data
}

// The reader hands out a conversation's events in order with their stream sequence and
// cause, skips other conversations, and surfaces an undecodable event (with its sequence
// and an error) instead of dropping it.
func TestReaderSurfacesEveryEventOfAConversation(t *testing.T) {
	js, ctx := conversationStream(t)
	var want []uint64
	for i := uint64(1); i <= 3; i++ {
		ev, data := event("c1", i, schema.EventMessage)
		want = append(want, publish(t, ctx, js, streams.EventSubject(ev), data, fmt.Sprint("cause-", i)))
		_, other := event("c2", i, schema.EventMessage)
		publish(t, ctx, js, "sb.conv.c2.message", other, "")
	}
	bad := publish(t, ctx, js, "sb.conv.c1.message", []byte("{not json"), "broken")
	want = append(want, bad)
	before := streams.UndecodableTotal()

	r := streams.NewReader(js)
	var got []*streams.Stored
	if err := r.Read(ctx, streams.Query{Filter: streams.ConversationFilter("c1")}, func(s *streams.Stored) error {
		got = append(got, s)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("read %d events, want %d", len(got), len(want))
	}
	for i, s := range got[:3] {
		if s.Seq != want[i] || s.Event == nil || s.Event.Seq != uint64(i+1) || s.Cause != fmt.Sprint("cause-", i+1) || s.Err != nil {
			t.Fatalf("event %d: %+v", i, s)
		}
	}
	last := got[3]
	if last.Event != nil || last.Err == nil || last.Seq != bad || last.Undecodable().StreamSeq != bad {
		t.Fatalf("the undecodable event came back as %+v", last)
	}
	if streams.UndecodableTotal() != before+1 {
		t.Fatalf("undecodable count %d, want %d", streams.UndecodableTotal(), before+1)
	}

	// After a stream sequence: only what follows it.
	var after []uint64
	_ = r.Read(ctx, streams.Query{Filter: streams.ConversationFilter("c1"), After: want[1]}, func(s *streams.Stored) error {
		after = append(after, s.Seq)
		return nil
	})
	if fmt.Sprint(after) != fmt.Sprint(want[2:]) {
		t.Fatalf("after %d: %v, want %v", want[1], after, want[2:])
	}
	// ErrStop ends the read early, without an error.
	n := 0
	if err := r.Read(ctx, streams.Query{Filter: streams.FilterConversations}, func(*streams.Stored) error {
		n++
		return streams.ErrStop
	}); err != nil || n != 1 {
		t.Fatalf("stopped read: %d events, %v", n, err)
	}
	// The last event, and none for a conversation without events.
	if s, err := r.Last(ctx, streams.ConversationFilter("c2")); err != nil || s.Event.Seq != 3 {
		t.Fatalf("last of c2: %+v, %v", s, err)
	}
	if _, err := r.Last(ctx, streams.ConversationFilter("nobody")); !errors.Is(err, kernel.ErrNotFound) {
		t.Fatalf("last of a conversation without events: %v", err)
	}
	if err := r.Read(ctx, streams.Query{Filter: streams.ConversationFilter("nobody")}, func(*streams.Stored) error {
		t.Fatal("an event for a conversation that has none")
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func TestSubjectBuilders(t *testing.T) {
	for got, want := range map[string]string{
		streams.EventSubject(&schema.Event{ConversationID: "c", Type: schema.EventAssigned}):   "sb.conv.c.assigned",
		streams.EventSubject(&schema.Event{CustomerID: "u", Type: schema.EventIdentityLinked}): "sb.customer.u.identity_linked",
		streams.ConversationFilter(""):                               "sb.conv.*.>",
		streams.ConversationTypeFilter("c", schema.EventMessage):     "sb.conv.c.message",
		streams.InboundSubject(schema.ChannelSMS, "main", 3):         "sb.in.sms.main.3",
		streams.InboundPartitionFilter(3):                            "sb.in.*.*.3",
		streams.OutboundChannelFilter(schema.ChannelEmail):           "sb.out.email.>",
		streams.AgentOfPresence("sb.agent.ann.presence"):             "ann",
		streams.AgentOfPresence("sb.agent.too.many.tokens.presence"): "",
		streams.RejectedSubject(""):                                  "sb.rejected.unknown",
	} {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
	if conv, typ, ok := streams.LiveConversation("sb.live.conv.c9.message"); !ok || conv != "c9" || typ != "message" {
		t.Errorf("live subject: %q %q %v", conv, typ, ok)
	}
}

// A read leaves no consumer behind on the server: every consumer left there is checked
// against each new message (the insight projection reads one conversation's history per
// conversation after a restart: a thousand of them doubled the CPU per message).
func TestReadLeavesNoConsumerBehind(t *testing.T) {
	js, ctx := conversationStream(t)
	for i := uint64(1); i <= 3; i++ {
		for _, conv := range []string{"c1", "c2"} {
			ev, data := event(conv, i, schema.EventMessage)
			publish(t, ctx, js, streams.EventSubject(ev), data, fmt.Sprint(conv, "-", i))
		}
	}
	r := streams.NewReader(js)
	for _, q := range []streams.Query{
		{Filter: streams.ConversationFilter("c1")},
		{Filter: streams.ConversationFilter("c2"), After: 2},
		{Filter: streams.FilterConversations},
	} {
		n := 0
		if err := r.Read(ctx, q, func(*streams.Stored) error { n++; return nil }); err != nil || n == 0 {
			t.Fatalf("read %+v: %d events, %v", q, n, err)
		}
	}
	if err := r.Read(ctx, streams.Query{Filter: streams.FilterConversations}, func(*streams.Stored) error { return streams.ErrStop }); err != nil {
		t.Fatal(err)
	}
	st, err := js.Stream(ctx, streams.StreamConversations)
	if err != nil {
		t.Fatal(err)
	}
	// Deleting is one request per read, at its end; a busy machine may take a moment (the
	// server's own inactivity limit, 10 s, would take much longer).
	var left []string
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		left = left[:0]
		for name := range st.ListConsumers(ctx).Info() {
			left = append(left, name.Name)
		}
		if len(left) == 0 || time.Now().After(deadline) {
			break
		}
	}
	if len(left) != 0 {
		t.Fatalf("%d consumers left on the stream after the reads: %v", len(left), left)
	}
}
