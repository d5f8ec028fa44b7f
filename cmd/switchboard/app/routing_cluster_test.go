package app_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/pipeline/streams"
	"github.com/switchboardhq/switchboard/router"
	"github.com/switchboardhq/switchboard/router/rules"
	"github.com/switchboardhq/switchboard/schema"
)

// Two instances route on a 3-node cluster; the leader of the agents' load bucket is killed
// while conversations are being assigned. No agent ever holds
// more than their capacity, every conversation is decided, and every conversation's events
// stay numbered without gaps or repeats.
func TestRoutingSurvivesANodeFailure(t *testing.T) {
	if testing.Short() {
		t.Skip("cluster failover test")
	}
	cluster, gws := clusterGateways(t, "3s", `
router:
  agents:
    - {id: ann, skills: [general], capacity: {default: 3}}
    - {id: ben, skills: [general], capacity: {default: 3}}
    - {id: cat, skills: [general], capacity: {default: 2}}
`)
	for _, a := range []string{"ann", "ben", "cat"} {
		setPresence(t, gws[0], a, rules.Available)
	}
	const customers = 16
	var wg sync.WaitGroup
	half := make(chan struct{})
	var once sync.Once
	for c := 0; c < customers; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 2; i++ {
				postUntilAccepted(t, gws[(c+i)%2], fmt.Sprintf("c%d-%d", c, i), fmt.Sprintf("cl%d@example.com", c), fmt.Sprint(i))
				if c == customers/2 && i == 0 {
					once.Do(func() { close(half) })
				}
			}
		}()
	}
	<-half
	leader := streamLeader(t, gws[0], "KV_"+streams.BucketAgents)
	t.Logf("killing %s, leader of the agents' bucket (and of %s: %v)", leader, streams.StreamConversations,
		streamLeader(t, gws[0], streams.StreamConversations) == leader)
	cluster.Kill(leader)
	wg.Wait()
	evs := waitFor(t, gws[0], "sb.conv.>", 90*time.Second, atLeast(customers*2, schema.EventMessage))
	evs = waitFor(t, gws[0], "sb.conv.>", 30*time.Second, atLeast(customers, schema.EventQueued, schema.EventAssigned))
	capacity := map[string]int{"ann": 3, "ben": 3, "cat": 2}
	for agent, peak := range loadOverTime(evs) {
		if peak > capacity[agent] {
			for _, e := range evs {
				if e.Routing != nil {
					t.Logf("%s #%d %s agent=%s prev=%s actor=%s at=%s reason=%s", e.ConversationID, e.Seq, e.Type, e.Routing.AgentID, e.Routing.PreviousAgent, e.Actor, e.At.Format("15:04:05.000"), e.Reason)
				}
			}
			for _, a := range []string{"ann", "ben", "cat"} {
				var info router.AgentInfo
				getJSON(t, gws[0], "/v1/agents/"+a, &info)
				t.Logf("%s: %v", a, info.Conversations)
			}
			t.Fatalf("%s held %d, capacity %d", agent, peak, capacity[agent])
		}
	}
	seqs := map[string]uint64{}
	decided := map[string]int{}
	for _, e := range evs {
		if e.Seq != seqs[e.ConversationID]+1 {
			t.Fatalf("conversation %s: seq %d after %d", e.ConversationID, e.Seq, seqs[e.ConversationID])
		}
		seqs[e.ConversationID] = e.Seq
		if e.Type == schema.EventQueued || e.Type == schema.EventAssigned {
			decided[e.ConversationID]++
		}
	}
	if len(seqs) != customers || len(decided) != customers {
		t.Fatalf("%d conversations, %d decided; want %d", len(seqs), len(decided), customers)
	}
	if n := len(ofType(evs, schema.EventAssigned)); n != 8 {
		t.Fatalf("%d assigned, want 8 (every slot)", n)
	}
}
