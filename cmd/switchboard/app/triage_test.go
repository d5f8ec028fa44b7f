package app_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/cmd/switchboard/app/apptest"
	"github.com/switchboardhq/switchboard/pipeline/streams"
	"github.com/switchboardhq/switchboard/router/rules"
	"github.com/switchboardhq/switchboard/schema"
)

// Tags, priority and snooze through REST: each change is one event on the stream, the
// snapshot carries them, a rule on tags routes a waiting conversation again, and a snooze
// ends at its time (the JetStream schedule fires), when the customer writes, or by hand.
func TestTagsPriorityAndSnooze(t *testing.T) {
	cfg := routingConfig(t, `
router:
  agents: [{id: ann, skills: [general]}]
`, `
queues: {general: {skills: [general]}, vip: {skills: [general]}}
rules:
  - {name: vip, when: {tags: [vip]}, targets: [{queue: vip, priority: 5}]}
  - {name: rest, targets: [{queue: general}]}
`)
	g := apptest.Start(t, cfg)
	setPresence(t, g, "ann", rules.Away) // conversations wait
	g.PostAPI("tr1", "triage@example.com", "hello")
	conv := waitFor(t, g, "sb.conv.>", 10*time.Second, atLeast(1, schema.EventQueued))[0].ConversationID
	post := func(method, path string, body any) (int, string) {
		t.Helper()
		st, b := g.Do(method, "/v1/conversations/"+conv+path, apptest.Token, body)
		return st, string(b)
	}
	must := func(method, path string, body any) {
		t.Helper()
		if st, b := post(method, path, body); st != 202 {
			t.Fatalf("%s %s: %d %s", method, path, st, b)
		}
	}
	events := func(typ schema.EventType, n int) []*schema.Event {
		t.Helper()
		return ofType(waitFor(t, g, "sb.conv."+conv+".>", 10*time.Second, atLeast(n, typ)), typ)
	}

	// Tags: normalized, added once; the vip rule now matches, so the waiting conversation
	// moves to vip with the rule's priority.
	must("POST", "/tags", map[string]any{"add": []string{" VIP ", "Billing", "vip"}, "reason": "big account"})
	tagged := events(schema.EventTagged, 1)[0]
	if !slices.Equal(tagged.Triage.Tags, []string{"vip", "billing"}) || tagged.Reason != "big account" || !strings.HasPrefix(tagged.Actor, "agent:api;token:test") {
		t.Fatalf("tagged: %+v %+v", tagged, tagged.Triage)
	}
	q := events(schema.EventQueued, 2)[1]
	if q.Routing.Queue != "vip" || q.Routing.Priority != 5 || !strings.Contains(q.Reason, "tags now [vip billing]") {
		t.Fatalf("re-routed on the tags: %+v %q", q.Routing, q.Reason)
	}
	must("POST", "/tags", map[string]any{"add": []string{"vip"}}) // changes nothing: no event
	must("POST", "/tags", map[string]any{"remove": []string{"billing", "never-had"}})
	if u := events(schema.EventUntagged, 1)[0]; !slices.Equal(u.Triage.Tags, []string{"billing"}) {
		t.Fatalf("untagged: %+v", u.Triage)
	}
	if n := len(ofType(streamEvents(t, g, "sb.conv."+conv+".>"), schema.EventTagged)); n != 1 {
		t.Fatalf("%d tagged events; adding a tag it has must record nothing", n)
	}

	// Priority by hand, and the waiting entry follows.
	must("PUT", "/priority", map[string]any{"priority": 50})
	if p := events(schema.EventPriorityChanged, 1)[0]; *p.Triage.Priority != 50 || p.Triage.PreviousPriority != 5 {
		t.Fatalf("priority_changed: %+v", p.Triage)
	}
	var c schema.Conversation
	apptest.Eventually(t, 5*time.Second, func() error {
		getJSON(t, g, "/v1/conversations/"+conv, &c)
		if c.Priority != 50 || !slices.Equal(c.Tags, []string{"vip"}) {
			return fmt.Errorf("snapshot: priority %d tags %v", c.Priority, c.Tags)
		}
		return nil
	})

	// Snooze for a second: the schedule wakes it.
	must("POST", "/snooze", map[string]any{"for": "1s"})
	s := events(schema.EventSnoozed, 1)[0]
	w := events(schema.EventWoken, 1)[0]
	if w.Triage.Wake != schema.WakeTime || !w.Triage.Until.Equal(*s.Triage.Until) || w.At.Before(*s.Triage.Until) {
		t.Fatalf("woken by the timer: %+v, snoozed until %v", w.Triage, s.Triage.Until)
	}
	// Until the customer writes.
	must("POST", "/snooze", map[string]any{"until": time.Now().Add(time.Hour).Format(time.RFC3339)})
	events(schema.EventSnoozed, 2)
	getJSON(t, g, "/v1/conversations/"+conv, &c)
	if c.SnoozedUntil == nil {
		t.Fatal("snoozed_until is not in the snapshot")
	}
	g.PostAPI("tr2", "triage@example.com", "any news?")
	if w := events(schema.EventWoken, 2)[1]; w.Triage.Wake != schema.WakeCustomer {
		t.Fatalf("woken by the customer: %+v", w.Triage)
	}
	// By hand.
	must("POST", "/snooze", map[string]any{"for": "1h"})
	events(schema.EventSnoozed, 3)
	must("POST", "/wake", nil)
	if w := events(schema.EventWoken, 3)[2]; w.Triage.Wake != schema.WakeAgent {
		t.Fatalf("woken by hand: %+v", w.Triage)
	}

	for _, c := range []struct {
		method, path string
		body         any
		status       int
		says         string
	}{
		{"POST", "/tags", map[string]any{"add": []string{"two words"}}, 400, `add[0]`},
		{"POST", "/tags", map[string]any{}, 400, "give tags"},
		{"PUT", "/priority", map[string]any{"priority": 2000}, 400, "0 to 1000"},
		{"POST", "/snooze", map[string]any{"for": "1h", "until": "2030-01-01T00:00:00Z"}, 400, "not both"},
		{"POST", "/snooze", map[string]any{"until": "2020-01-01T00:00:00Z"}, 400, "not in the future"},
		{"POST", "/snooze", map[string]any{"for": "soon"}, 400, "positive duration"},
	} {
		if st, body := post(c.method, c.path, c.body); st != c.status || !strings.Contains(body, c.says) {
			t.Errorf("%s %s %v: %d %s, want %d saying %q", c.method, c.path, c.body, st, body, c.status, c.says)
		}
	}
	if st, body := g.Do("POST", "/v1/conversations/nope/tags", apptest.Token, map[string]any{"add": []string{"x"}}); st != 404 {
		t.Errorf("tags of an unknown conversation: %d %s", st, body)
	}
}

// GET /v1/conversations through the gateway: filters on what the stream says (tags,
// agent, queue, channel, status, snooze, time), both orders, and cursor paging that visits
// each conversation once; bad parameters are 400s.
func TestListingConversations(t *testing.T) {
	cfg := routingConfig(t, `
router:
  agents: [{id: ann, skills: [general]}]
`, `
queues: {general: {skills: [general]}}
default_queue: general
`)
	g := apptest.Start(t, cfg)
	start := time.Now().UTC().Add(-time.Second)
	var convs []string
	for i := range 5 {
		g.PostAPI(fmt.Sprintf("ls%d", i), fmt.Sprintf("lister%d@example.com", i), "hello")
		convs = append(convs, ofType(waitFor(t, g, "sb.conv.>", 10*time.Second, atLeast(i+1, schema.EventOpened)), schema.EventOpened)[i].ConversationID)
	}
	setPresence(t, g, "ann", rules.Available) // the dispatcher assigns the oldest waiting ones
	waitFor(t, g, "sb.conv.>", 10*time.Second, atLeast(5, schema.EventAssigned))
	if st, b := g.Do("POST", "/v1/conversations/"+convs[1]+"/tags", apptest.Token, map[string]any{"add": []string{"refund"}}); st != 202 {
		t.Fatalf("tag: %d %s", st, b)
	}
	if st, b := g.Do("POST", "/v1/conversations/"+convs[3]+"/resolve", apptest.Token, nil); st != 202 {
		t.Fatalf("resolve: %d %s", st, b)
	}
	waitFor(t, g, "sb.conv.>", 10*time.Second, atLeast(1, schema.EventResolved))
	list := func(query string) ([]string, string) {
		t.Helper()
		var out struct {
			Conversations []schema.Conversation `json:"conversations"`
			Next          string                `json:"next_cursor"`
		}
		getJSON(t, g, "/v1/conversations?"+query, &out)
		ids := make([]string, len(out.Conversations))
		for i, c := range out.Conversations {
			ids[i] = c.ID
		}
		return ids, out.Next
	}
	eventually := func(query string, want []string) {
		t.Helper()
		apptest.Eventually(t, 5*time.Second, func() error {
			if got, _ := list(query); !slices.Equal(got, want) {
				return fmt.Errorf("?%s: %v, want %v", query, got, want)
			}
			return nil
		})
	}
	eventually("tag=REFUND", []string{convs[1]})
	eventually("status=resolved", []string{convs[3]})
	// Assigned in waiting order (0 to 4), then 1 tagged and 3 resolved: updated in that order.
	eventually("agent=ann&status=open&channel=api&order=oldest", []string{convs[0], convs[2], convs[4], convs[1]})
	eventually("queue=general&status=open", []string{convs[1], convs[4], convs[2], convs[0]})
	eventually("tag=none", []string{})
	eventually("updated_since="+time.Now().UTC().Add(time.Hour).Format(time.RFC3339), []string{})
	if got, _ := list("updated_since=" + start.Format(time.RFC3339)); len(got) != 5 {
		t.Fatalf("updated since the start: %v", got)
	}

	// Paging one at a time visits each once, in order.
	all, _ := list("")
	var paged []string
	cursor := ""
	for range 10 {
		ids, next := list("limit=2&cursor=" + cursor)
		paged = append(paged, ids...)
		if next == "" {
			break
		}
		cursor = next
	}
	if len(all) != 5 || !slices.Equal(paged, all) {
		t.Fatalf("paged %v, all %v", paged, all)
	}
	for _, q := range []string{"cursor=zzz", "status=waiting", "order=up", "snoozed=maybe", "updated_since=yesterday", "limit=0", "tag=a%20b"} {
		if st, body := g.Do("GET", "/v1/conversations?"+q, apptest.Token, nil); st != 400 {
			t.Errorf("?%s: %d %s, want 400", q, st, body)
		}
	}
}

// A clean stop checkpoints the listing: the restarted gateway lists the same conversations
// (from the checkpoint, plus what is stored after it) without reading the stream from the start.
func TestListingSurvivesACleanRestart(t *testing.T) {
	g := apptest.Start(t, apptest.DefaultConfig)
	for _, who := range []string{"ann", "ben", "cat"} {
		g.PostAPI("lr-"+who, who+"@example.com", "hello from "+who)
	}
	evs := waitFor(t, g, "sb.conv.>", 10*time.Second, atLeast(3, schema.EventOpened))
	tagged := ofType(evs, schema.EventOpened)[1].ConversationID
	if st, b := g.Do("POST", "/v1/conversations/"+tagged+"/tags", apptest.Token, map[string]any{"add": []string{"vip"}}); st != 202 {
		t.Fatalf("tag: %d %s", st, b)
	}
	waitFor(t, g, "sb.conv.>", 10*time.Second, atLeast(1, schema.EventTagged))
	list := func(query string) []string {
		t.Helper()
		var out struct {
			Conversations []schema.Conversation `json:"conversations"`
		}
		getJSON(t, g, "/v1/conversations?"+query, &out)
		ids := make([]string, len(out.Conversations))
		for i, c := range out.Conversations {
			ids[i] = c.ID
		}
		return ids
	}
	var before []string
	apptest.Eventually(t, 5*time.Second, func() error {
		if before = list(""); len(before) != 3 || !slices.Equal(list("tag=vip"), []string{tagged}) {
			return fmt.Errorf("listed %v, tagged %v", before, list("tag=vip"))
		}
		return nil
	})

	dir := g.DataDir
	g.Stop()
	g = apptest.Start(t, apptest.DefaultConfig, apptest.Options{DataDir: dir})
	kv, err := g.JS.KeyValue(context.Background(), streams.BucketState)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Get(context.Background(), "listing.head"); err != nil {
		t.Fatalf("no listing checkpoint after a clean stop: %v", err)
	}
	if got := list(""); !slices.Equal(got, before) || !slices.Equal(list("tag=vip"), []string{tagged}) {
		t.Fatalf("after the restart: %v (vip %v), before it %v", got, list("tag=vip"), before)
	}
	g.PostAPI("lr-dan", "dan@example.com", "hello after the restart")
	apptest.Eventually(t, 10*time.Second, func() error {
		if got := list(""); len(got) != 4 || !slices.Equal(got[1:], before) {
			return fmt.Errorf("listed %v after a new conversation, before the restart %v", got, before)
		}
		return nil
	})
}
