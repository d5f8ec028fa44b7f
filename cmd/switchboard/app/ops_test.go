package app_test

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/switchboardhq/switchboard/cmd/switchboard/app/apptest"
	"github.com/switchboardhq/switchboard/pipeline/streams"
)

func TestSecretsNeverReachLogsMetricsOrForensics(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	const callbackSecret = "whsec_c2VjcmV0LWNhbGxiYWNrLWtleS0xMjM0NTY3OA=="
	t.Setenv("APPTEST_CALLBACK_SECRET", callbackSecret)
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "no", http.StatusBadRequest)
	}))
	defer failing.Close()
	g := apptest.Start(t, apptest.DefaultConfig+`
      ops:
        token: {env: APPTEST_TOKEN}
        callback: {url: `+failing.URL+`, secret: {env: APPTEST_CALLBACK_SECRET}}
`, apptest.Options{Logger: zap.New(core)})
	// A refused request carrying a real token of another account, a good one, a failing reply.
	g.Do("POST", "/v1/channels/api/nobody/messages", apptest.Token, map[string]any{"external_id": "x", "from": "a@b.c", "text": "t"})
	status, _ := g.Do("POST", "/v1/channels/api/ops/messages", apptest.Token, map[string]any{"external_id": "x", "from": "a@b.c", "text": "t"})
	if status != http.StatusAccepted {
		t.Fatalf("post: %d", status)
	}
	conv := g.Events("sb.conv.*.opened", 1, 10*time.Second)[0].ConversationID
	g.Do("POST", "/v1/conversations/"+conv+"/messages", apptest.Token, map[string]any{"text": "reply"})
	g.Events("sb.conv."+conv+".delivery", 1, 10*time.Second)

	_, metrics := g.Do("GET", "/metrics", "", nil)
	var forensics strings.Builder
	apptest.Eventually(t, 5*time.Second, func() error {
		forensics.Reset()
		for _, d := range g.StreamData(streams.StreamRejected) {
			forensics.Write(d)
		}
		if forensics.Len() == 0 {
			return errNoRecord
		}
		return nil
	})
	var all strings.Builder
	for _, e := range logs.All() {
		data, _ := json.Marshal(e.ContextMap())
		all.WriteString(e.Message + " " + string(data) + "\n")
	}
	for _, secret := range []string{apptest.Token, callbackSecret, "c2VjcmV0LWNhbGxiYWNrLWtleS0xMjM0NTY3OA"} {
		for where, text := range map[string]string{"logs": all.String(), "metrics": string(metrics), "forensics": forensics.String()} {
			if strings.Contains(text, secret) {
				t.Errorf("a secret appears in the %s", where)
			}
		}
	}
	if !strings.Contains(all.String(), "outbound message failed") {
		t.Fatalf("expected the failed reply to be logged; logs:\n%s", all.String())
	}
}

type sentinel string

func (s sentinel) Error() string { return string(s) }

const errNoRecord = sentinel("no forensic record yet")

func TestMetricsExposeThePipeline(t *testing.T) {
	g := apptest.Start(t, apptest.DefaultConfig)
	g.PostAPI("m1", "gina@example.com", "hello")
	g.Do("POST", "/v1/channels/api/demo/messages", "wrong", map[string]any{})
	g.Events("sb.conv.*.message", 1, 10*time.Second)
	var body string
	apptest.Eventually(t, 5*time.Second, func() error {
		_, b := g.Do("GET", "/metrics", "", nil)
		body = string(b)
		for _, want := range []string{
			`switchboard_messages_total{channel="api",outcome="accepted"} 1`,
			`switchboard_http_requests_total{channel="api",code="202",route="POST /v1/channels/api/{account}/messages"} 1`,
			`switchboard_rejected_requests_total{channel="api",code="unauthorized"} 1`,
			`switchboard_publish_duration_seconds_count{stream="SB_INBOUND"} 1`,
			`switchboard_stage_messages_total{outcome="ok",stage="router"} 1`,
			`switchboard_consumer_pending{consumer="router-p0",stream="SB_ROUTE"} 0`,
			`go_goroutines`,
		} {
			if !strings.Contains(body, want) {
				return sentinel("missing " + want)
			}
		}
		return nil
	})
	if status, b := g.Do("GET", "/readyz", "", nil); status != 200 || !strings.Contains(string(b), "ready") {
		t.Fatalf("readyz: %d %s", status, b)
	}
}

// A connection that never sends a request (a client's spare dial, a port scanner) does not
// hold a shutdown up: net/http would wait 5 seconds for it before calling it idle.
func TestShutdownIsNotHeldByAnUnusedConnection(t *testing.T) {
	g := apptest.Start(t, apptest.DefaultConfig)
	conn, err := net.Dial("tcp", strings.TrimPrefix(g.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// The server has accepted it (a request on another connection is served after it).
	if st, _ := g.Do("GET", "/healthz", "", nil); st != http.StatusOK {
		t.Fatalf("healthz %d", st)
	}
	start := time.Now()
	g.Stop()
	if took := time.Since(start); took >= 4500*time.Millisecond {
		t.Fatalf("shutdown took %v with an unused connection open (net/http's 5s wait for new connections)", took)
	}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Read(make([]byte, 1)); err == nil {
		t.Fatal("the unused connection is still open after shutdown")
	}
}
