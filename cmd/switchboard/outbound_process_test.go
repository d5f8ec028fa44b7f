package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/cmd/switchboard/app/apptest"
)

// hangingSink is an API account's callback whose first request never gets an answer (the
// provider hangs while the gateway is killed); later ones are answered at once.
type hangingSink struct {
	mu        sync.Mutex
	requests  int
	delivered map[string]time.Time // webhook-id → first answered delivery
	hung      chan struct{}        // closed once the first request is hanging
	release   chan struct{}
}

func (s *hangingSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	s.mu.Lock()
	s.requests++
	first := s.requests == 1
	s.mu.Unlock()
	if first {
		close(s.hung)
		select {
		case <-s.release:
		case <-r.Context().Done():
		}
		return
	}
	s.mu.Lock()
	if _, ok := s.delivered[r.Header.Get("webhook-id")]; !ok {
		s.delivered[r.Header.Get("webhook-id")] = time.Now()
	}
	s.mu.Unlock()
}

// TestKill9MidSendRedeliversAtOnce: the gateway is killed while a reply's send hangs at the
// provider. Restarted on the same data directory, its sender takes the reply back at once
// (the consumer is reset to its acknowledgement floor, since the run that held it is known to
// be dead) instead of waiting out the outbound AckWait (the send timeout + 10s = 40s): the
// reply reaches the provider, under the same webhook-id, well before that.
func TestKill9MidSendRedeliversAtOnce(t *testing.T) {
	t.Setenv("PROC_CALLBACK_SECRET", "whsec_c2VjcmV0LWZvci10aGUta2lsbC10ZXN0")
	sink := &hangingSink{delivered: map[string]time.Time{}, hung: make(chan struct{}), release: make(chan struct{})}
	srv := httptest.NewServer(sink)
	t.Cleanup(func() { close(sink.release); srv.Close() })
	config := strings.Replace(processConfig, "demo: {token: {env: PROC_TOKEN}}",
		"demo: {token: {env: PROC_TOKEN}, callback: {url: "+srv.URL+", secret: {env: PROC_CALLBACK_SECRET}}}", 1)
	dataDir := filepath.Join(t.TempDir(), "data")
	g := startProcessWith(t, dataDir, config)
	g.post(t, "hang-1", "hang@example.com")
	conv := waitEvents(t, g, 1, "sb.conv.*.message")[0].ConversationID
	g.command(t, "/v1/conversations/"+conv+"/messages", `{"text":"On its way."}`)
	select {
	case <-sink.hung:
	case <-time.After(20 * time.Second):
		t.Fatal("the reply never reached the provider")
	}
	if err := g.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-g.exited

	start := time.Now()
	g = startProcessWith(t, dataDir, config)
	var took time.Duration
	apptest.Eventually(t, 30*time.Second, func() error {
		sink.mu.Lock()
		defer sink.mu.Unlock()
		for _, at := range sink.delivered {
			took = at.Sub(start)
			return nil
		}
		return fmt.Errorf("the reply was not delivered again (%d requests)", sink.requests)
	})
	t.Logf("the reply reached the provider again %v after the restart began", took.Round(time.Millisecond))
	if took > 25*time.Second {
		t.Fatalf("redelivered after %v: the outbound AckWait (40s) was waited out", took)
	}
	r2, err := http.Get(g.httpURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(r2.Body)
	r2.Body.Close()
	resets := 0
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, "switchboard_consumer_resets_total "); ok {
			resets, _ = strconv.Atoi(v)
		}
	}
	if resets < 1 {
		t.Fatalf("no consumer was reset (switchboard_consumer_resets_total %d):\n%s", resets, g.log())
	}
}
