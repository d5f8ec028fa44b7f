package app_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/cmd/switchboard/app/apptest"
	"github.com/switchboardhq/switchboard/pipeline/streams"
)

// TestOneSenderCannotFloodTheAccount: 200 parallel posts from one sender get the per-sender
// burst through and 429 with Retry-After for the rest (counted, nothing stored for them),
// while another sender of the same account is still served.
func TestOneSenderCannotFloodTheAccount(t *testing.T) {
	g := apptest.Start(t, apptest.DefaultConfig+"http: {rate_limits: {per_sender: {per_second: 1, burst: 20}}}\n")
	const n = 200
	var mu sync.Mutex
	codes := map[int]int{}
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status, retryAfter, _ := postFrom(g, fmt.Sprint("flood-", i), "noisy@example.com")
			if status == 0 {
				t.Error("request failed")
				return
			}
			if status == http.StatusTooManyRequests && retryAfter == "" {
				t.Error("429 without Retry-After")
			}
			mu.Lock()
			codes[status]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if codes[http.StatusAccepted] < 20 || codes[http.StatusAccepted] > 25 || codes[http.StatusTooManyRequests] != n-codes[http.StatusAccepted] {
		t.Fatalf("answers %v, want the burst of 20 (a few more for refill) accepted and the rest 429", codes)
	}
	g.PostAPI("quiet-1", "quiet@example.com", "I am served") // another sender of the account
	apptest.Eventually(t, 10*time.Second, func() error {
		if got := g.StreamCount(streams.StreamInbound, ""); got != uint64(codes[http.StatusAccepted]+1) {
			return fmt.Errorf("stored %d, want %d", got, codes[http.StatusAccepted]+1)
		}
		return nil
	})
	_, metrics := g.Do("GET", "/metrics", "", nil)
	want := fmt.Sprintf(`switchboard_rate_limited_total{channel="api",scope="sender"} %d`, codes[http.StatusTooManyRequests])
	if !strings.Contains(string(metrics), want) {
		t.Fatalf("metrics lack %q", want)
	}
}
