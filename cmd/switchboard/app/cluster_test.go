package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/cmd/switchboard/app/apptest"
	"github.com/switchboardhq/switchboard/pipeline/natstest"
	"github.com/switchboardhq/switchboard/pipeline/streams"
)

// Two gateway instances share a 3-node JetStream cluster with replicated streams; the leader of
// SB_INBOUND is killed while both take traffic. Every message a client saw accepted must be
// routed exactly once, in order per sender.
func TestTwoInstancesSurviveANodeFailureUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("cluster failover test")
	}
	cluster, gws := clusterGateways(t, "4s", "")
	const senders, per = 8, 40
	var mu sync.Mutex
	accepted := map[string]bool{}
	var wg sync.WaitGroup
	half := make(chan struct{})
	var halfOnce sync.Once
	for s := 0; s < senders; s++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < per; i++ {
				g := gws[(s+i)%2] // alternate instances, as a load balancer would
				id := postUntilAccepted(t, g, fmt.Sprintf("s%d-%d", s, i), fmt.Sprintf("sender%d@example.com", s), strconv.Itoa(i))
				mu.Lock()
				accepted[id] = true
				if len(accepted) == senders*per/3 {
					halfOnce.Do(func() { close(half) })
				}
				mu.Unlock()
			}
		}()
	}
	<-half
	leader := streamLeader(t, gws[0], streams.StreamInbound)
	t.Logf("killing %s, leader of %s, after %d accepted", leader, streams.StreamInbound, senders*per/3)
	cluster.Kill(leader)
	wg.Wait()

	// Every accepted message routed once, in order per sender.
	evs := gws[0].Events("sb.conv.*.message", senders*per, 90*time.Second)
	seen := map[string]int{}
	last := map[string]int{}
	for _, e := range evs {
		seen[e.Message.ID]++
		n, _ := strconv.Atoi(e.Message.Text)
		if prev, ok := last[e.Message.From.Value]; ok && n <= prev {
			for _, x := range evs {
				if x.Message.From.Value == e.Message.From.Value {
					t.Logf("%s seq=%d text=%s msg=%s evt=%s at=%s", x.ConversationID, x.Seq, x.Message.Text, x.Message.ID, x.ID, x.At.Format("15:04:05.000"))
				}
			}
			t.Fatalf("sender %s: message %d after %d", e.Message.From.Value, n, prev)
		}
		last[e.Message.From.Value] = n
	}
	for id := range accepted {
		if seen[id] != 1 {
			t.Fatalf("accepted message %s routed %d times", id, seen[id])
		}
	}
}

// postUntilAccepted retries like a provider does: the same external id until a 202.
// clusterGateways starts a 3-node JetStream cluster with streams replicated 3 times and two
// gateway instances (gw-a, gw-b) on it, with the given lease TTL and extra config.
func clusterGateways(t *testing.T, leaseTTL, extra string) (*natstest.Cluster, []*apptest.Gateway) {
	t.Helper()
	cluster := natstest.StartCluster(t, 3)
	cfg := fmt.Sprintf(`
log: {level: error}
# A graceful stop during an election waits for it (in-flight API requests, the message in
# hand): on a loaded machine that can take longer than the default 10 s.
http: {shutdown_grace: 30s}
nats: {url: %q, replicas: 3}
pipeline: {partitions: 4, lease_ttl: %s}
rest: {tokens: [{name: t, token: {env: APPTEST_TOKEN}}]}
channels: {api: {accounts: {demo: {token: {env: APPTEST_TOKEN}}}}}
`, cluster.URLs(), leaseTTL) + extra
	return cluster, []*apptest.Gateway{
		apptest.Start(t, cfg, apptest.Options{InstanceID: "gw-a"}),
		apptest.Start(t, cfg, apptest.Options{InstanceID: "gw-b"}),
	}
}

func postUntilAccepted(t *testing.T, g *apptest.Gateway, ext, from, text string) string {
	body, _ := json.Marshal(map[string]string{"external_id": ext, "from": from, "text": text})
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		req, _ := http.NewRequest("POST", g.URL+"/v1/channels/api/demo/messages", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+apptest.Token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			var r struct{ ID string }
			_ = json.NewDecoder(resp.Body).Decode(&r)
			resp.Body.Close()
			if resp.StatusCode == http.StatusAccepted {
				return r.ID
			}
			if resp.StatusCode != http.StatusServiceUnavailable {
				t.Errorf("post %s: status %d", ext, resp.StatusCode)
				return ""
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Errorf("post %s: never accepted", ext)
	return ""
}

func streamLeader(t *testing.T, g *apptest.Gateway, stream string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := g.JS.Stream(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil || info.Cluster == nil || info.Cluster.Leader == "" || len(info.Cluster.Replicas) != 2 {
		t.Fatalf("stream %s is not replicated on 3 nodes: %v %+v", stream, err, info.Cluster)
	}
	return info.Cluster.Leader
}
