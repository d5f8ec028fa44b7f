package app_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/cmd/switchboard/app/apptest"
	"github.com/switchboardhq/switchboard/pipeline"
	"github.com/switchboardhq/switchboard/pipeline/streams"
	"github.com/switchboardhq/switchboard/router/rules"
	"github.com/switchboardhq/switchboard/schema"
)

// Email replies thread by In-Reply-To/References: to the customer's inbound mail and to our
// replies (by the Message-ID the email sender reported), even under customer+channel scope
// and after the conversation was resolved. An auto-reply or bounce never reopens it.
func TestEmailRepliesThreadByReferences(t *testing.T) {
	g := apptest.Start(t, apptest.DefaultConfig+`
router:
  threading:
    scope: customer_channel
    reopen: {email: {mode: reopen, window: 1h}}
`)
	publish(t, g, email("e1", "ref@example.com", "first", "in-1@mail.example"))
	conv := g.Events("sb.conv.*.message", 1, 10*time.Second)[0].ConversationID

	// An agent replies; the email sender reports the Message-ID it generated.
	st, body := g.Do("POST", "/v1/conversations/"+conv+"/messages", apptest.Token, map[string]string{"text": "we are on it"})
	if st != http.StatusAccepted {
		t.Fatalf("reply: %d %s", st, body)
	}
	evs := waitFor(t, g, "sb.conv.*.message", 10*time.Second, atLeast(2, schema.EventMessage))
	reply := evs[1].Message
	if reply.Thread == nil || reply.Thread.InReplyTo[0] != "in-1@mail.example" || reply.Subject != "Help" {
		t.Fatalf("the reply carries no threading headers: %+v", reply.Thread)
	}
	ctx := context.Background()
	outbox, _ := g.JS.KeyValue(ctx, streams.BucketOutbox)
	if err := pipeline.IndexExternal(ctx, outbox, schema.ChannelEmail, "support", "out-1@switchboard.example", reply.ID); err != nil {
		t.Fatal(err)
	}
	if st, _ := g.Do("POST", "/v1/conversations/"+conv+"/resolve", apptest.Token, nil); st != http.StatusAccepted {
		t.Fatal("resolve")
	}
	waitFor(t, g, "sb.conv.>", 10*time.Second, atLeast(1, schema.EventResolved))

	// An out-of-office answer to our reply is recorded but reopens nothing.
	ooo := email("e2", "ref@example.com", "I am away", "in-2@mail.example", "out-1@switchboard.example")
	ooo.Kind = schema.KindAutoReply
	publish(t, g, ooo)
	// The customer's real answer to our reply reopens the same conversation.
	publish(t, g, email("e3", "ref@example.com", "thanks, but", "in-3@mail.example", "out-1@switchboard.example"))
	// A reply to their own first mail also lands there.
	publish(t, g, email("e4", "ref@example.com", "and also", "in-4@mail.example", "in-1@mail.example"))
	evs = waitFor(t, g, "sb.conv.>", 10*time.Second, atLeast(5, schema.EventMessage))
	if len(ofType(evs, schema.EventOpened)) != 1 {
		t.Fatalf("replies opened new conversations:\n%s", apptest.Sprint(evs))
	}
	var types []schema.EventType
	for _, e := range evs[len(evs)-4:] {
		types = append(types, e.Type)
	}
	want := []schema.EventType{schema.EventMessage, schema.EventReopened, schema.EventMessage, schema.EventMessage}
	if len(types) != len(want) || types[0] != want[0] || types[1] != want[1] || types[2] != want[2] || types[3] != want[3] {
		t.Fatalf("want auto-reply recorded, then reopened + two messages:\n%s", apptest.Sprint(evs))
	}
	msgs := ofType(evs, schema.EventMessage)
	if r := msgs[3].Reason; r == "" || msgs[2].Message.Kind != schema.KindAutoReply {
		t.Fatalf("threading reasons: %q / %q", msgs[2].Reason, r)
	}
	// Another channel is another conversation under customer_channel scope.
	publish(t, g, &schema.Message{Channel: schema.ChannelWebchat, Account: "site", ExternalID: "w1",
		From: schema.Address{Kind: "email", Value: "ref@example.com"}, Text: "chat"})
	// Wait for the chat's message event itself: its conversation's opened event comes first,
	// and a read between the two would see the email conversation's last message.
	var chat *schema.Event
	waitFor(t, g, "sb.conv.>", 10*time.Second, func(evs []*schema.Event) error {
		for _, e := range ofType(evs, schema.EventMessage) {
			if e.Message.Channel == schema.ChannelWebchat {
				chat = e
				return nil
			}
		}
		return errors.New("no webchat message event yet")
	})
	if chat.ConversationID == conv {
		t.Fatal("customer_channel scope: webchat joined the email conversation")
	}
	// A new mail without references joins the customer's email conversation: the threading
	// state first stored for the chat keeps the email scope's entry, which until then only
	// the customer record (the conversation it was created with) held.
	publish(t, g, email("e9", "ref@example.com", "one more thing", "in-9@mail.example"))
	var more *schema.Event
	waitFor(t, g, "sb.conv.>", 10*time.Second, func(evs []*schema.Event) error {
		for _, e := range ofType(evs, schema.EventMessage) {
			if e.Message.Text == "one more thing" {
				more = e
				return nil
			}
		}
		return errors.New("no event for the last mail yet")
	})
	if more.ConversationID != conv {
		t.Fatalf("the last mail went to %s (%s), want the email conversation %s", more.ConversationID, more.Reason, conv)
	}
}

// A reply within the reopen window reopens; after it (or on a channel whose policy is new)
// a new conversation starts, and says why.
func TestReopenWindowAndNewConversationPolicy(t *testing.T) {
	g := apptest.Start(t, apptest.DefaultConfig+`
router:
  threading:
    reopen: {default: {mode: reopen, window: 1s}, sms: {mode: new}}
`)
	resolve := func(conv string) {
		t.Helper()
		if st, _ := g.Do("POST", "/v1/conversations/"+conv+"/resolve", apptest.Token, nil); st != http.StatusAccepted {
			t.Fatal("resolve")
		}
	}
	last := func(n int) []*schema.Event {
		t.Helper()
		evs := waitFor(t, g, "sb.conv.>", 10*time.Second, func(evs []*schema.Event) error {
			if len(evs) < n {
				return fmt.Errorf("%d events, want %d", len(evs), n)
			}
			return nil
		})
		return evs[n-2 : n]
	}
	publish(t, g, sms("s1", "+14155550111", "one"))
	conv := last(2)[1].ConversationID
	resolve(conv)
	last(3)
	publish(t, g, sms("s2", "+14155550111", "two"))
	if evs := last(5); evs[0].Type != schema.EventOpened || evs[0].ConversationID == conv || !strings.Contains(evs[0].Reason, "sms policy starts a new one") {
		t.Fatalf("sms policy is new: %+v", evs[0])
	}

	publish(t, g, email("m1", "w@example.com", "mail", "w-1@mail.example"))
	conv = last(7)[1].ConversationID
	resolve(conv)
	last(8)
	publish(t, g, email("m2", "w@example.com", "within the window", "w-2@mail.example"))
	if evs := last(10); evs[0].Type != schema.EventReopened || evs[0].ConversationID != conv {
		t.Fatalf("within the window it reopens: %+v", evs[0])
	}
	resolve(conv)
	last(11)
	time.Sleep(1100 * time.Millisecond)
	publish(t, g, email("m3", "w@example.com", "after the window", "w-3@mail.example"))
	evs := last(13)
	if evs[0].Type != schema.EventOpened || evs[0].ConversationID == conv || !strings.Contains(evs[0].Reason, "after the email reopen window of 1s") {
		t.Fatalf("after the window a new conversation: %+v", evs[0])
	}
}

// TestReopenKeepsOrResetsTheAgent: keep_agent_on_reopen (and a channel's keep_agent) decide
// whether a reopened conversation goes straight back to its agent or is routed afresh.
func TestReopenKeepsOrResetsTheAgent(t *testing.T) {
	for _, tc := range []struct {
		name, threading string
		keep            bool
	}{
		{"default keeps", "reopen: {default: {mode: reopen}}", true},
		{"global off", "keep_agent_on_reopen: false\n    reopen: {default: {mode: reopen}}", false},
		{"channel off", "reopen: {default: {mode: reopen}, api: {mode: reopen, keep_agent: false}}", false},
		{"channel on, global off", "keep_agent_on_reopen: false\n    reopen: {api: {mode: reopen, keep_agent: true}}", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := apptest.Start(t, routingConfig(t, "router:\n  threading:\n    "+tc.threading+
				"\n  agents:\n    - {id: ann, skills: [general]}\n    - {id: ben, skills: [general]}\n", ""))
			setPresence(t, g, "ann", rules.Available)
			g.PostAPI("k1", "kim@example.com", "first question")
			first := g.Events("sb.conv.*.assigned", 1, 10*time.Second)[0]
			conv := first.ConversationID
			if st, body := g.Do("POST", "/v1/conversations/"+conv+"/resolve", apptest.Token, map[string]string{}); st != 202 && st != 200 {
				t.Fatalf("resolve: %d %s", st, body)
			}
			g.Events("sb.conv."+conv+".resolved", 1, 10*time.Second)
			g.PostAPI("k2", "kim@example.com", "one more thing")
			g.Events("sb.conv."+conv+".reopened", 1, 10*time.Second)
			again := g.Events("sb.conv."+conv+".assigned", 2, 10*time.Second)[1]
			if kept := again.Routing.Strategy == "keep"; kept != tc.keep {
				t.Fatalf("after reopen: strategy %q (%s), want keep=%v", again.Routing.Strategy, again.Routing.Reason, tc.keep)
			}
		})
	}
}
