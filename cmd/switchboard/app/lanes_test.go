package app_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/cmd/switchboard/app/apptest"
	"github.com/switchboardhq/switchboard/router/rules"
	"github.com/switchboardhq/switchboard/schema"
)

// With one partition and eight lanes, every customer's messages meet in one partition and
// several customers are handled at once, while the partition's other work (agents'
// commands, from SB_ROUTE) runs between them. Each conversation must still come out as if
// handled one message at a time: its events numbered without gaps or repeats, the
// customer's messages in the order sent, one assignment, the resolve after it.
func TestLanesKeepEveryConversationInOrder(t *testing.T) {
	cfg := strings.Replace(routingConfig(t, "\nrouter:\n  agents: [{id: ann, skills: [general], capacity: {default: 1000}}]\n",
		"queues: {general: {skills: [general]}}\ndefault_queue: general\n"),
		"pipeline: {partitions: 4}", "pipeline: {partitions: 1, lanes: 8}", 1)
	g := apptest.Start(t, cfg)
	setPresence(t, g, "ann", rules.Available)

	const customers, per, tags = 16, 12, 8
	send := func(from, to int) {
		var wg sync.WaitGroup
		for c := range customers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := from; i < to; i++ {
					g.PostAPI(fmt.Sprintf("l%d-%d", c, i), fmt.Sprintf("lane%d@example.com", c), fmt.Sprint(i))
				}
			}()
		}
		wg.Wait()
	}
	send(0, per/2)
	// Every fourth customer's conversation is resolved while the customers go on writing:
	// the commands and the next messages meet in the partition.
	// The others are tagged, one tag at a time, while their customers write.
	wasResolved, tagged := map[string]bool{}, map[string]bool{}
	waitFor(t, g, "sb.conv.*.assigned", 30*time.Second, func(evs []*schema.Event) error {
		if len(evs) < customers {
			return fmt.Errorf("%d conversations assigned, want %d", len(evs), customers)
		}
		for i, e := range evs {
			if i%4 == 0 {
				wasResolved[e.ConversationID] = true
			} else {
				tagged[e.ConversationID] = true
			}
		}
		return nil
	})
	var commands sync.WaitGroup
	for id := range wasResolved {
		commands.Add(1)
		go func() {
			defer commands.Done()
			if st, body := g.Do("POST", "/v1/conversations/"+id+"/resolve", apptest.Token, nil); st != http.StatusAccepted {
				t.Errorf("resolve %s: %d %s", id, st, body)
			}
		}()
	}
	for id := range tagged {
		commands.Add(1)
		go func() {
			defer commands.Done()
			for i := range tags {
				body := map[string]any{"add": []string{fmt.Sprintf("t%d", i)}}
				if st, b := g.Do("POST", "/v1/conversations/"+id+"/tags", apptest.Token, body); st != http.StatusAccepted {
					t.Errorf("tag %s: %d %s", id, st, b)
				}
			}
		}()
	}
	send(per/2, per)
	commands.Wait()

	evs := waitFor(t, g, "sb.conv.>", 30*time.Second, func(evs []*schema.Event) error {
		n := 0
		for _, e := range evs {
			if e.Type == schema.EventMessage {
				n++
			}
		}
		if n < customers*per {
			return fmt.Errorf("%d message events, want %d", n, customers*per)
		}
		n = 0
		for _, e := range evs {
			if e.Type == schema.EventTagged {
				n++
			}
		}
		if n < len(tagged)*tags {
			return fmt.Errorf("%d tagged events, want %d", n, len(tagged)*tags)
		}
		return nil
	})
	byConv := map[string][]*schema.Event{}
	for _, e := range evs {
		byConv[e.ConversationID] = append(byConv[e.ConversationID], e)
	}
	texts := map[string][]string{} // by sender, in stream order across their conversations
	for _, e := range evs {
		if e.Type == schema.EventMessage {
			texts[e.Message.From.Value] = append(texts[e.Message.From.Value], e.Message.Text)
		}
	}
	for conv, list := range byConv {
		assigned, resolvedAt := 0, -1
		for i, e := range list {
			if e.Seq != uint64(i+1) {
				t.Fatalf("conversation %s: event %d (%s) has seq %d\n%s", conv, i, e.Type, e.Seq, apptest.Sprint(list))
			}
			switch e.Type {
			case schema.EventAssigned:
				assigned++
			case schema.EventResolved:
				resolvedAt = i
			}
		}
		if assigned == 0 {
			t.Fatalf("conversation %s was never assigned\n%s", conv, apptest.Sprint(list))
		}
		if wasResolved[conv] && resolvedAt < 0 {
			t.Fatalf("conversation %s: no resolved event after its resolve\n%s", conv, apptest.Sprint(list))
		}
		if !wasResolved[conv] && resolvedAt >= 0 {
			t.Fatalf("conversation %s was resolved by nobody\n%s", conv, apptest.Sprint(list))
		}
	}
	if len(texts) != customers {
		t.Fatalf("messages from %d customers, want %d", len(texts), customers)
	}
	for from, got := range texts {
		for i, text := range got {
			if text != fmt.Sprint(i) {
				t.Fatalf("%s's messages out of order: %v", from, got)
			}
		}
	}
}
