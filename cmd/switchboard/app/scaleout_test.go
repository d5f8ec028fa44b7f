package app_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/cmd/switchboard/app/apptest"
	"github.com/switchboardhq/switchboard/pipeline"
	"github.com/switchboardhq/switchboard/schema"
)

// Two instances share the partitions (one pinned processor per partition); when one stops
// mid-traffic the other takes its partitions over. Every customer's messages stay in
// order, and every conversation's events are numbered without gaps or repeats.
func TestTwoInstancesKeepEachCustomerInOrderAcrossAFailover(t *testing.T) {
	cfg := apptest.DefaultConfig
	g1 := apptest.Start(t, cfg)
	g2 := second(t, g1, cfg)
	const senders, per = 8, 12
	post := func(g *apptest.Gateway, s, i int) {
		g.PostAPI(fmt.Sprintf("s%d-%d", s, i), fmt.Sprintf("order%d@example.com", s), fmt.Sprint(i))
	}
	send := func(from, to int) {
		var wg sync.WaitGroup
		for s := 0; s < senders; s++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := from; i < to; i++ {
					post(g1, s, i)
				}
			}()
		}
		wg.Wait()
	}
	send(0, per/2)
	waitFor(t, g1, "sb.conv.*.message", 20*time.Second, atLeast(senders*per/2, schema.EventMessage))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for p := 0; p < g1.Config.Pipeline.Partitions; p++ {
		cons, err := g1.JS.Consumer(ctx, pipeline.StreamRoute, fmt.Sprintf("router-p%d", p))
		if err != nil {
			t.Fatal(err)
		}
		info, err := cons.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.Delivered.Consumer > 0 && (len(info.PriorityGroups) != 1 || info.PriorityGroups[0].PinnedClientID == "") {
			t.Fatalf("partition %d delivered messages without one pinned processor: %+v", p, info.PriorityGroups)
		}
	}
	g2.Stop()
	send(per/2, per)
	evs := waitFor(t, g1, "sb.conv.>", 30*time.Second, atLeast(senders*per, schema.EventMessage))
	byConv := map[string][]*schema.Event{}
	for _, e := range evs {
		byConv[e.ConversationID] = append(byConv[e.ConversationID], e)
	}
	if len(byConv) != senders {
		t.Fatalf("%d conversations, want %d", len(byConv), senders)
	}
	for conv, list := range byConv {
		i := 0
		for k, e := range list {
			if e.Seq != uint64(k+1) {
				t.Fatalf("conversation %s: event %d has seq %d", conv, k, e.Seq)
			}
			if e.Type == schema.EventMessage {
				if e.Message.Text != fmt.Sprint(i) {
					t.Fatalf("conversation %s: message %d is %q", conv, i, e.Message.Text)
				}
				i++
			}
		}
		if i != per {
			t.Fatalf("conversation %s has %d messages, want %d", conv, i, per)
		}
	}
}
