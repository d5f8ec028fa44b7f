package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/schema"
)

const killFlows = `
defaults: {api: intake}
flows:
  intake:
    start: menu
    handoff_queue: general
    steps:
      menu:
        ask: "Billing or technical?"
        options: [{label: Billing, value: billing, next: email}, {label: Technical, value: technical, next: email}]
      email: {ask: "Your email?", validate: email, save: email, next: thanks}
      thanks: {say: "Thanks, {{answers.email}}: a colleague takes over.", next: out}
      out: {handoff: {queue: general}}
`

// callbackSink is the API account's callback: the deliveries of each message id (a
// redelivery after a crash carries the same webhook-id) and their texts in order.
type callbackSink struct {
	mu    sync.Mutex
	byID  map[string]int
	texts []string
}

func (s *callbackSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var d struct{ Data schema.Message }
	_ = json.Unmarshal(body, &d)
	s.mu.Lock()
	defer s.mu.Unlock()
	id := r.Header.Get("webhook-id")
	if s.byID[id]++; s.byID[id] == 1 {
		s.texts = append(s.texts, d.Data.Text)
	}
}

func (s *callbackSink) waitTexts(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	t0 := time.Now()
	defer func() { t.Logf("%d bot messages delivered after %v", n, time.Since(t0).Round(time.Millisecond)) }()
	for {
		s.mu.Lock()
		got := slices.Clone(s.texts)
		s.mu.Unlock()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d bot messages delivered, want %d: %q", len(got), n, got)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestFlowResumesAcrossKill9: the gateway is killed with SIGKILL right after accepting a
// customer's answer in the middle of a flow (the turn in flight or not); restarted on the
// same data directory it goes on from the durable flow state: every bot message is in the stream once and
// delivered once (by message id), none is lost, and the hand-off carries the answers.
func TestFlowResumesAcrossKill9(t *testing.T) {
	t.Setenv("PROC_CALLBACK_SECRET", "whsec_c2VjcmV0LWZvci10aGUta2lsbC10ZXN0")
	sink := &callbackSink{byID: map[string]int{}}
	srv := httptest.NewServer(sink)
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	flowsPath := filepath.Join(dir, "flows.yaml")
	rulesPath := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(flowsPath, []byte(killFlows), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(rulesPath, []byte("queues: {general: {skills: [general]}}\ndefault_queue: general\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	config := strings.Replace(processConfig, "demo: {token: {env: PROC_TOKEN}}",
		"demo: {token: {env: PROC_TOKEN}, callback: {url: "+srv.URL+", secret: {env: PROC_CALLBACK_SECRET}}}", 1) +
		"router:\n  rules_file: " + rulesPath + "\n  flows_file: " + flowsPath + "\n  agents: [{id: ann, skills: [general]}]\n"
	dataDir := filepath.Join(dir, "data")
	g := startProcessWith(t, dataDir, config)
	say := func(g *gateway, ext, text string) {
		t.Helper()
		body := fmt.Sprintf(`{"external_id":%q,"from":"flow@example.com","text":%q}`, ext, text)
		req, _ := http.NewRequest("POST", g.httpURL+"/v1/channels/api/demo/messages", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer proc-token-1")
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != http.StatusAccepted {
			t.Fatalf("post %q: %v %v", text, resp, err)
		}
		resp.Body.Close()
	}
	kill := func(g *gateway) {
		t.Helper()
		if err := g.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-g.exited
	}
	say(g, "k1", "hello")
	if got := sink.waitTexts(t, 1); got[0] != "Billing or technical?\n1. Billing\n2. Technical" {
		t.Fatalf("first question %q", got)
	}
	say(g, "k2", "2")
	kill(g) // the answer is accepted; its turn may or may not have run
	g = startProcessWith(t, dataDir, config)
	if got := sink.waitTexts(t, 2); got[1] != "Your email?" {
		t.Fatalf("after the restart %q", got)
	}
	say(g, "k3", "kim@example.com")
	got := sink.waitTexts(t, 3)
	waitEvents(t, g, 1, "sb.conv.*.flow_handoff")
	time.Sleep(1500 * time.Millisecond) // a repeated message would come now
	sink.mu.Lock()
	texts, byID := slices.Clone(sink.texts), sink.byID
	sink.mu.Unlock()
	want := []string{"Billing or technical?\n1. Billing\n2. Technical", "Your email?", "Thanks, kim@example.com: a colleague takes over."}
	if !slices.Equal(texts, want) {
		t.Fatalf("delivered %q, want %q (%v)", texts, want, got)
	}
	var bot []string
	for _, e := range eventsOf(t, g, "sb.conv.*.message") {
		if e.Message.Direction == schema.Outbound {
			bot = append(bot, e.Message.ID)
			if byID[e.Message.ID] == 0 {
				t.Errorf("bot message %s (%q) in the stream was never delivered", e.Message.ID, e.Message.Text)
			}
		}
	}
	if len(bot) != 3 || len(byID) != 3 {
		for _, e := range eventsOf(t, g, "sb.conv.>") {
			line := fmt.Sprintf("event %d %s %s", e.Seq, e.Type, e.ID)
			if e.Message != nil {
				line += fmt.Sprintf(" message %s %s %q", e.Message.ID, e.Message.Direction, e.Message.Text)
			}
			t.Log(line)
		}
		t.Fatalf("%d bot messages in the stream (%v), %d delivered ids (%v), want 3 each:\n%s", len(bot), bot, len(byID), byID, g.log())
	}
	h := waitEvents(t, g, 1, "sb.conv.*.flow_handoff")[0].Flow
	steps := eventsOf(t, g, "sb.conv.*.flow_step")
	if h.Answers["email"] != "kim@example.com" || h.Answers["menu"] != "technical" || len(steps) != 2 {
		t.Fatalf("hand-off %+v after %d flow_step events", h, len(steps))
	}
	for id, n := range byID {
		if n > 1 {
			t.Logf("message %s delivered %d times with the same webhook-id (the API channel's at-least-once callback after a crash)", id, n)
		}
	}
}
