package app_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/cmd/switchboard/app/apptest"
	"github.com/switchboardhq/switchboard/pipeline/natstest"
)

// postTimed posts one API message from stall@example.com and returns the status,
// Retry-After and how long it took.
func postTimed(g *apptest.Gateway, ext string) (int, string, time.Duration) {
	return postFrom(g, ext, "stall@example.com")
}

// postFrom is postTimed for any sender.
func postFrom(g *apptest.Gateway, ext, from string) (int, string, time.Duration) {
	body := fmt.Sprintf(`{"external_id":%q,"from":%q,"text":"hi"}`, ext, from)
	req, _ := http.NewRequest("POST", g.URL+"/v1/channels/api/demo/messages", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+apptest.Token)
	req.Header.Set("Content-Type", "application/json")
	start := time.Now()
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return 0, "", time.Since(start)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Retry-After"), time.Since(start)
}

// TestNATSStallIsRefusedAtOnce: while JetStream does not answer (a stalled server), requests
// in flight get 503 within the handoff budget (~5 s, not handler_timeout) and new ones are
// refused at once with Retry-After; as soon as JetStream answers again, messages are taken,
// and a refused message retried with the same id is stored once.
func TestNATSStallIsRefusedAtOnce(t *testing.T) {
	srv := natstest.StartServer(t)
	proxy := natstest.StartProxy(t, srv.Addr().String())
	g := apptest.Start(t, apptest.DefaultConfig+"nats: {url: "+proxy.URL()+"}\nhttp: {handler_timeout: 10s}\n")
	if st, _, _ := postTimed(g, "before"); st != http.StatusAccepted {
		t.Fatalf("before the stall: %d", st)
	}

	proxy.Pause()
	var wg sync.WaitGroup
	type answer struct {
		status int
		retry  string
		took   time.Duration
	}
	inflight := make([]answer, 4)
	for i := range inflight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, ra, took := postTimed(g, fmt.Sprint("stalled-", i))
			inflight[i] = answer{st, ra, took}
		}()
	}
	wg.Wait()
	for i, a := range inflight {
		if a.status != http.StatusServiceUnavailable || a.took > 7*time.Second {
			t.Fatalf("in-flight request %d: %d after %v, want 503 within the ~5s handoff budget", i, a.status, a.took)
		}
	}
	for i := 0; i < 5; i++ { // the circuit is open: new requests are refused at once
		st, ra, took := postTimed(g, fmt.Sprint("new-", i))
		if st != http.StatusServiceUnavailable || ra == "" || took > time.Second+500*time.Millisecond {
			t.Fatalf("new request %d during the stall: %d (Retry-After %q) after %v, want 503 at once", i, st, ra, took)
		}
	}

	proxy.Resume()
	apptest.Eventually(t, 15*time.Second, func() error {
		if st, _, _ := postTimed(g, "after"); st != http.StatusAccepted {
			return fmt.Errorf("after the stall: %d", st)
		}
		return nil
	})
	for i := range inflight { // the provider retries what it was refused: each lands once
		if st, _, _ := postTimed(g, fmt.Sprint("stalled-", i)); st != http.StatusAccepted {
			t.Fatalf("retry of stalled-%d: %d", i, st)
		}
	}
	evs := g.Events("sb.conv.*.message", 6, 20*time.Second)
	seen := map[string]int{}
	for _, e := range evs {
		seen[e.Message.ExternalID]++
	}
	for ext, n := range seen {
		if n != 1 {
			t.Fatalf("%s stored %d times", ext, n)
		}
	}
	_, metrics := g.Do("GET", "/metrics", "", nil)
	if !strings.Contains(string(metrics), "switchboard_publish_circuit_open 0") || !strings.Contains(string(metrics), "switchboard_publish_refused_total") {
		t.Fatal("circuit metrics missing or still open")
	}
}

// TestNATSOutageIsRefusedAtOnce: when the connection to NATS is gone (a killed server), new
// requests get 503 with Retry-After at once; once NATS is back the gateway reconnects and
// takes messages again.
func TestNATSOutageIsRefusedAtOnce(t *testing.T) {
	srv := natstest.StartServer(t)
	proxy := natstest.StartProxy(t, srv.Addr().String())
	g := apptest.Start(t, apptest.DefaultConfig+"nats: {url: "+proxy.URL()+"}\n")
	if st, _, _ := postTimed(g, "before"); st != http.StatusAccepted {
		t.Fatalf("before the outage: %d", st)
	}
	proxy.Cut()
	apptest.Eventually(t, 5*time.Second, func() error { // the client notices the cut
		if st, _, _ := postTimed(g, "probe"); st != http.StatusServiceUnavailable {
			return fmt.Errorf("during the outage: %d", st)
		}
		return nil
	})
	for i := 0; i < 5; i++ {
		st, ra, took := postTimed(g, fmt.Sprint("down-", i))
		if st != http.StatusServiceUnavailable || ra == "" || took > time.Second {
			t.Fatalf("request %d during the outage: %d (Retry-After %q) after %v, want 503 at once", i, st, ra, took)
		}
	}
	proxy.Resume()
	apptest.Eventually(t, 20*time.Second, func() error {
		if st, _, _ := postTimed(g, "after"); st != http.StatusAccepted {
			return fmt.Errorf("after the outage: %d", st)
		}
		return nil
	})
}
