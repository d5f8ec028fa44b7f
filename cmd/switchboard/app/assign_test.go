package app_test

import (
	"fmt"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/cmd/switchboard/app/apptest"
	"github.com/switchboardhq/switchboard/router"
	"github.com/switchboardhq/switchboard/router/rules"
	"github.com/switchboardhq/switchboard/schema"
)

// loadOverTime folds routing events in stream order into each agent's open conversations
// and returns the most each agent ever held.
func loadOverTime(evs []*schema.Event) map[string]int {
	owner := map[string]string{}
	held, peak := map[string]int{}, map[string]int{}
	take := func(conv, agent string) {
		if prev := owner[conv]; prev != "" {
			held[prev]--
		}
		owner[conv] = agent
		if agent != "" {
			held[agent]++
			peak[agent] = max(peak[agent], held[agent])
		}
	}
	for _, e := range evs {
		switch e.Type {
		case schema.EventAssigned, schema.EventTransferred, schema.EventQueued:
			take(e.ConversationID, e.Routing.AgentID)
		case schema.EventUnassigned, schema.EventResolved:
			take(e.ConversationID, "")
		}
	}
	return peak
}

// Conversations from many customers, posted at once to two instances, are assigned
// concurrently by every partition of both; no agent ever holds more than their capacity,
// and the rest wait and are served in order as agents free up.
func TestNoAgentOverCapacityUnderConcurrentAssignment(t *testing.T) {
	cfg := routingConfig(t, `
router:
  agents:
    - {id: ann, skills: [general], capacity: {default: 2}}
    - {id: ben, skills: [general], capacity: {default: 2}}
    - {id: cat, skills: [general], capacity: {api: 1}, max_load: 1}
`, "")
	g1 := apptest.Start(t, cfg)
	g2 := second(t, g1, cfg)
	for _, a := range []string{"ann", "ben", "cat"} {
		setPresence(t, g1, a, rules.Available)
	}
	const customers = 30
	var wg sync.WaitGroup
	for i := 0; i < customers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g := []*apptest.Gateway{g1, g2}[i%2]
			g.PostAPI(fmt.Sprintf("c%d", i), fmt.Sprintf("customer%d@example.com", i), "help")
		}()
	}
	wg.Wait()
	evs := waitFor(t, g1, "sb.conv.>", 20*time.Second, atLeast(customers, schema.EventQueued, schema.EventAssigned))
	capacity := map[string]int{"ann": 2, "ben": 2, "cat": 1}
	check := func(evs []*schema.Event) {
		t.Helper()
		for agent, peak := range loadOverTime(evs) {
			if peak > capacity[agent] {
				t.Fatalf("%s held %d conversations, capacity %d", agent, peak, capacity[agent])
			}
		}
		for _, a := range []string{"ann", "ben", "cat"} {
			var info router.AgentInfo
			getJSON(t, g2, "/v1/agents/"+a, &info)
			if len(info.Conversations) > capacity[a] {
				t.Fatalf("%s's load record holds %d: %+v", a, len(info.Conversations), info)
			}
		}
	}
	check(evs)
	if n := len(ofType(evs, schema.EventAssigned)); n != 5 {
		t.Fatalf("%d assigned, want 5 (every slot):\n%s", n, apptest.Sprint(evs))
	}

	// Resolving frees slots: the dispatcher gives them to waiting conversations, oldest first.
	// Age is the queued event's time (the waiting list's queued_at), not its place in the
	// stream: partitions publish concurrently, so stream order can differ under load.
	queued := ofType(evs, schema.EventQueued)
	sort.SliceStable(queued, func(i, j int) bool {
		if !queued[i].At.Equal(queued[j].At) {
			return queued[i].At.Before(queued[j].At)
		}
		return queued[i].ConversationID < queued[j].ConversationID
	})
	queuedOrder := []string{}
	for _, e := range queued {
		queuedOrder = append(queuedOrder, e.ConversationID)
	}
	for _, e := range ofType(evs, schema.EventAssigned) {
		if st, body := g1.Do("POST", "/v1/conversations/"+e.ConversationID+"/resolve", apptest.Token, nil); st != http.StatusAccepted {
			t.Fatalf("resolve: %d %s", st, body)
		}
	}
	evs = waitFor(t, g1, "sb.conv.>", 20*time.Second, atLeast(10, schema.EventAssigned))
	check(evs)
	var second []string
	for _, e := range ofType(evs, schema.EventAssigned)[5:] {
		second = append(second, e.ConversationID)
		if e.Actor != "dispatcher" {
			t.Fatalf("a waiting conversation was assigned by %q", e.Actor)
		}
	}
	for _, id := range second {
		pos := indexOf(queuedOrder, id)
		if pos < 0 || pos >= 5 {
			t.Fatalf("assigned %s, queued #%d; the 5 freed slots go to the 5 oldest waiting (%v)", id, pos, queuedOrder[:5])
		}
	}
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

// A conversation nobody takes within the first target's timeout moves to the next target.
func TestEscalationAfterTimeoutPicksTheNextTarget(t *testing.T) {
	g := apptest.Start(t, routingConfig(t, `
router:
  agents:
    - {id: ann, skills: [tier1]}
    - {id: ben, skills: [tier2]}
`, `
queues:
  first: {skills: [tier1]}
  second: {skills: [tier2]}
rules:
  - name: support
    targets:
      - {queue: first, priority: 5, timeout: 700ms}
      - {queue: second, priority: 5}
`))
	setPresence(t, g, "ann", rules.Away) // ann could serve tier 1 but is away: it waits there
	setPresence(t, g, "ben", rules.Available)
	g.PostAPI("e1", "esc@example.com", "anyone?")
	evs := waitFor(t, g, "sb.conv.>", 10*time.Second, atLeast(1, schema.EventAssigned))
	q, a := ofType(evs, schema.EventQueued)[0], ofType(evs, schema.EventAssigned)[0]
	if q.Routing.Queue != "first" || q.Routing.Target != 0 || q.Routing.TimeoutAt == nil {
		t.Fatalf("queued %+v", q.Routing)
	}
	if a.Routing.Queue != "second" || a.Routing.Target != 1 || a.Routing.AgentID != "ben" || a.Routing.Rule != "support" {
		t.Fatalf("escalated %+v", a.Routing)
	}
	if waited := a.At.Sub(q.At); waited < 700*time.Millisecond || waited > 5*time.Second {
		t.Fatalf("escalated after %v; the timeout is 700ms", waited)
	}
	if a.Routing.RulesVersion == "" || a.Routing.Reason == "" || a.Seq != q.Seq+1 {
		t.Fatalf("the decision must say why: %+v", a)
	}
}

// An agent who goes offline keeps their conversations for the grace period; after it,
// they are queued again and go to someone available.
func TestOfflineAgentIsRequeuedAfterGrace(t *testing.T) {
	g := apptest.Start(t, routingConfig(t, `
router:
  presence: {offline_grace: 600ms}
  agents:
    - {id: ann, skills: [general]}
    - {id: ben, skills: [general]}
`, ""))
	setPresence(t, g, "ann", rules.Available)
	g.PostAPI("o1", "off1@example.com", "first")
	g.PostAPI("o2", "off2@example.com", "second")
	waitFor(t, g, "sb.conv.>", 10*time.Second, atLeast(2, schema.EventAssigned))

	// Back within the grace period: nothing happens.
	setPresence(t, g, "ann", rules.Offline)
	time.Sleep(200 * time.Millisecond)
	setPresence(t, g, "ann", rules.Available)
	time.Sleep(800 * time.Millisecond)
	if evs := streamEvents(t, g, "sb.conv.>"); len(ofType(evs, schema.EventUnassigned)) != 0 {
		t.Fatalf("re-queued within the grace period:\n%s", apptest.Sprint(evs))
	}

	setPresence(t, g, "ben", rules.Available)
	off := time.Now()
	setPresence(t, g, "ann", rules.Offline)
	evs := waitFor(t, g, "sb.conv.>", 10*time.Second, atLeast(4, schema.EventAssigned))
	un := ofType(evs, schema.EventUnassigned)
	if len(un) != 2 || un[0].Routing.PreviousAgent != "ann" {
		t.Fatalf("unassigned:\n%s", apptest.Sprint(evs))
	}
	if d := un[0].At.Sub(off); d < 600*time.Millisecond {
		t.Fatalf("re-queued %v after going offline, before the grace period", d)
	}
	for _, e := range ofType(evs, schema.EventAssigned)[2:] {
		if e.Routing.AgentID != "ben" || e.Routing.Queue != "default" {
			t.Fatalf("re-assigned %+v", e.Routing)
		}
	}
	agentEventually(t, g, "ann", func(ann router.AgentInfo) error {
		if len(ann.Conversations) != 0 || ann.Presence != rules.Offline {
			return fmt.Errorf("ann: %+v", ann)
		}
		return nil
	})
}

// A heartbeat keeps an agent available; without one they turn offline.
func TestMissedHeartbeatsTurnAnAgentOffline(t *testing.T) {
	g := apptest.Start(t, routingConfig(t, `
router:
  presence: {heartbeat_timeout: 2s, offline_grace: 300ms}
  agents: [{id: ann, skills: [general]}]
`, ""))
	setPresence(t, g, "ann", rules.Available)
	g.PostAPI("h1", "hb@example.com", "hello")
	waitFor(t, g, "sb.conv.>", 10*time.Second, atLeast(1, schema.EventAssigned))
	for i := 0; i < 4; i++ { // well inside the 2s timeout even on a busy machine
		time.Sleep(300 * time.Millisecond)
		if st, _ := g.Do("POST", "/v1/agents/ann/heartbeat", apptest.Token, nil); st != 200 {
			t.Fatalf("heartbeat: %d", st)
		}
	}
	if evs := streamEvents(t, g, "sb.conv.>"); len(ofType(evs, schema.EventUnassigned)) != 0 {
		t.Fatal("re-queued while heartbeats arrive")
	}
	// The unassignment and the re-queueing are two events: wait for both (reading right after
	// the first once caught the second not yet stored, in CI).
	evs := waitFor(t, g, "sb.conv.>", 10*time.Second, func(evs []*schema.Event) error {
		if err := atLeast(1, schema.EventUnassigned)(evs); err != nil {
			return err
		}
		return atLeast(1, schema.EventQueued)(evs)
	})
	if q := ofType(evs, schema.EventQueued); len(q) != 1 || q[0].Routing.Queue != "default" {
		t.Fatalf("after missed heartbeats:\n%s", apptest.Sprint(evs))
	}
}

// A conversation waiting longer than its queue's max_wait moves to the overflow queue, keeps
// its age, and is served there; resolving and reopening record the rules version too.
func TestOverflowAfterMaxWait(t *testing.T) {
	g := apptest.Start(t, routingConfig(t, `
router:
  agents:
    - {id: ann, skills: [first]}
    - {id: ben, skills: [second]}
`, `
queues:
  first: {skills: [first], max_wait: 600ms, overflow: second}
  second: {skills: [second]}
rules: [{name: all, targets: [{queue: first, priority: 7}]}]
`))
	setPresence(t, g, "ben", rules.Available) // nobody serves "first"
	g.PostAPI("ov1", "overflow@example.com", "waiting")
	evs := waitFor(t, g, "sb.conv.>", 10*time.Second, atLeast(1, schema.EventAssigned))
	queued := ofType(evs, schema.EventQueued)
	a := ofType(evs, schema.EventAssigned)[0]
	if len(queued) != 1 || queued[0].Routing.Queue != "first" || a.Routing.Queue != "second" || a.Routing.AgentID != "ben" ||
		a.Routing.Priority != 7 || !strings.Contains(a.Reason, "max_wait") {
		t.Fatalf("overflow:\n%s%+v", apptest.Sprint(evs), a.Routing)
	}
	if waited := a.At.Sub(queued[0].At); waited < 600*time.Millisecond {
		t.Fatalf("overflowed after %v", waited)
	}
	conv := a.ConversationID
	if st, _ := g.Do("POST", "/v1/conversations/"+conv+"/resolve", apptest.Token, nil); st != 202 {
		t.Fatal("resolve")
	}
	r := waitFor(t, g, "sb.conv.>", 10*time.Second, atLeast(1, schema.EventResolved))
	res := ofType(r, schema.EventResolved)[0]
	if res.Routing == nil || res.Routing.RulesVersion != a.Routing.RulesVersion || res.Routing.AgentID != "ben" {
		t.Fatalf("resolved event routing %+v", res.Routing)
	}
	agentEventually(t, g, "ben", func(ben router.AgentInfo) error {
		if len(ben.Conversations) != 0 {
			return fmt.Errorf("ben still holds %v after the resolve", ben.Conversations)
		}
		return nil
	})
}

// agentEventually waits until the agent's view satisfies check: holds are released right
// after the events are recorded, and the agents' view follows a moment later.
func agentEventually(t *testing.T, g *apptest.Gateway, id string, check func(router.AgentInfo) error) {
	t.Helper()
	apptest.Eventually(t, 5*time.Second, func() error {
		var info router.AgentInfo
		getJSON(t, g, "/v1/agents/"+id, &info)
		return check(info)
	})
}

// Changing the configuration under waiting and assigned conversations: a waiting
// conversation whose queue disappears from the rules is routed by the new rules, and an agent
// removed from the roster loses their conversations to the queue.
func TestRosterAndRulesChangesReroute(t *testing.T) {
	rulesYAML := `
queues: {old: {skills: [general]}, other: {skills: [general]}}
rules: [{name: all, targets: [{queue: old}]}]
`
	cfg := routingConfig(t, `
router:
  reload_interval: 100ms
  agents: [{id: ann, skills: [general]}, {id: ben, skills: [general], capacity: {default: 1}}]
`, rulesYAML)
	path := strings.TrimSpace(cfg[strings.LastIndex(cfg, "rules_file:")+len("rules_file:"):])
	g := apptest.Start(t, cfg)
	setPresence(t, g, "ann", rules.Available)
	g.PostAPI("rr1", "held@example.com", "assigned to ann")
	waitFor(t, g, "sb.conv.>", 10*time.Second, atLeast(1, schema.EventAssigned))
	setPresence(t, g, "ann", rules.Away)
	g.PostAPI("rr2", "waits@example.com", "waiting in old")
	waitFor(t, g, "sb.conv.>", 10*time.Second, atLeast(1, schema.EventQueued))

	if err := os.WriteFile(path, []byte(strings.ReplaceAll(rulesYAML, "old", "new")), 0o600); err != nil {
		t.Fatal(err)
	}
	evs := waitFor(t, g, "sb.conv.>", 10*time.Second, atLeast(2, schema.EventQueued))
	if q := ofType(evs, schema.EventQueued)[1]; q.Routing.Queue != "new" || !strings.Contains(q.Reason, "queue old no longer exists") {
		t.Fatalf("rerouted: %+v", q.Routing)
	}

	dir := g.DataDir
	g.Stop()
	cfg = strings.Replace(cfg, "{id: ann, skills: [general]}, ", "", 1)
	g = apptest.Start(t, cfg, apptest.Options{DataDir: dir})
	setPresence(t, g, "ben", rules.Available)
	evs = waitFor(t, g, "sb.conv.>", 15*time.Second, atLeast(1, schema.EventUnassigned))
	if u := ofType(evs, schema.EventUnassigned)[0]; u.Routing.PreviousAgent != "ann" || !strings.Contains(u.Reason, "no longer in the roster") {
		t.Fatalf("unassigned: %+v", u)
	}
	waitFor(t, g, "sb.conv.>", 10*time.Second, atLeast(2, schema.EventAssigned))
}
