// Package apptest starts whole Switchboard gateways in process for integration tests: a real
// embedded nats-server with JetStream on a temporary file store, the HTTP server on a random
// loopback port, the real pipeline and router. Nothing is mocked.
package apptest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/switchboardhq/switchboard/cmd/switchboard/app"
	"github.com/switchboardhq/switchboard/pipeline/streams"
	"github.com/switchboardhq/switchboard/schema"
)

// Token is the bearer token of the default config's api account "demo" and REST API.
const Token = "test-token-123"

// DefaultConfig is a minimal config: the api channel with account demo, the REST API, four
// partitions. Tests append channel sections or write their own.
const DefaultConfig = `
log: {level: warn}
pipeline: {partitions: 4}
rest:
  tokens:
    - {name: test, token: {env: APPTEST_TOKEN}}
channels:
  api:
    accounts:
      demo: {token: {env: APPTEST_TOKEN}}
`

// Gateway is a running gateway and a client connection to its NATS.
type Gateway struct {
	T       testing.TB
	App     *app.App
	URL     string // http://127.0.0.1:port
	NC      *nats.Conn
	JS      jetstream.JetStream
	DataDir string
	Config  *app.Config
	stopped bool
	planted map[uint64]bool // stream sequences of events a test made undecodable on purpose
}

// PlantUndecodableEvent stores a payload that is not an event on the conversation's subject
// of SB_CONVERSATIONS (what a misbehaving publisher with stream rights could do) and returns
// its stream sequence. The end-of-test schema check leaves it alone.
func (g *Gateway) PlantUndecodableEvent(conversation string) uint64 {
	g.T.Helper()
	ack, err := g.JS.Publish(context.Background(), streams.ConversationTypeFilter(conversation, schema.EventMessage), []byte("{not an event"))
	if err != nil {
		g.T.Fatal(err)
	}
	if g.planted == nil {
		g.planted = map[uint64]bool{}
	}
	g.planted[ack.Sequence] = true
	return ack.Sequence
}

// Options tune Start.
type Options struct {
	DataDir    string      // reuse a data directory (restart tests); default t.TempDir()
	Logger     *zap.Logger // default: test logger at warn level
	InstanceID string      // default "test"
	// Now is the router's clock (default time.Now): a test replaying a generated history
	// moves it.
	Now func() time.Time
	// ConfigFile is where the YAML is written and read from, so that a config reload
	// (POST /-/reload) reads it again; empty: no file (reloads answer 409).
	ConfigFile string
}

// Start starts a gateway from config YAML (env APPTEST_TOKEN is set to Token). It is stopped
// when the test ends.
func Start(t testing.TB, yaml string, opts ...Options) *Gateway {
	t.Helper()
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	if o.DataDir == "" {
		o.DataDir = t.TempDir()
	}
	if o.InstanceID == "" {
		o.InstanceID = "test"
	}
	if o.Logger == nil {
		o.Logger = zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))
	}
	if os.Getenv("APPTEST_TOKEN") == "" {
		t.Setenv("APPTEST_TOKEN", Token)
	}
	name := "test.yaml"
	if o.ConfigFile != "" {
		if err := os.WriteFile(o.ConfigFile, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		name = o.ConfigFile
	}
	cfg, err := app.ParseConfig(name, []byte(yaml))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	// Generous: a 3-node cluster's first stream and consumer creations can take long on a
	// loaded 2-core machine running the race detector.
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	a, err := app.Start(ctx, app.Options{Config: cfg, HTTPAddr: "127.0.0.1:0", NATSAddr: "127.0.0.1:0",
		DataDir: o.DataDir, Logger: o.Logger, InstanceID: o.InstanceID, Now: o.Now, ConfigPath: o.ConfigFile})
	if err != nil {
		t.Fatalf("start gateway: %v", err)
	}
	g := &Gateway{T: t, App: a, URL: "http://" + a.HTTPAddr(), DataDir: o.DataDir, Config: cfg}
	t.Cleanup(func() {
		// Validate the events while the gateway still runs, unless the test stopped it.
		if !g.stopped && g.NC != nil {
			if err := g.checkEvents(); err != nil && !t.Failed() {
				t.Errorf("gateway %s: %v", g.URL, err)
			}
		}
		g.Stop()
	})
	g.NC, err = nats.Connect(a.NATSURL(), a.NATSLogin().Option())
	if err != nil {
		t.Fatalf("connect to gateway nats: %v", err)
	}
	g.JS, _ = jetstream.New(g.NC)
	return g
}

// NATSFlow is an inline `nats:` mapping that connects another gateway to this one's embedded
// server with its generated login (the password goes through an environment variable).
func (g *Gateway) NATSFlow() string {
	login := g.App.NATSLogin()
	id := schema.NewMessageID(time.Now())
	env := "APPTEST_NATS_PASSWORD_" + strings.ToUpper(id[len(id)-8:])
	os.Setenv(env, login.Password)
	return fmt.Sprintf("{url: %q, user: %q, password: {env: %s}}", g.App.NATSURL(), login.User, env)
}

// Stop shuts the gateway down (idempotent).
func (g *Gateway) Stop() {
	if g.stopped {
		return
	}
	g.stopped = true
	if g.NC != nil {
		g.NC.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := g.App.Stop(ctx); err != nil {
		g.T.Errorf("stop gateway: %v", err)
		g.T.Logf("goroutines in switchboard code:\n%s", OwnGoroutines())
	}
}

// OwnGoroutines returns the stacks of the goroutines with a frame in switchboard's own code
// (not this package's), for a test that finds something still running.
func OwnGoroutines() string {
	var buf bytes.Buffer
	_ = pprof.Lookup("goroutine").WriteTo(&buf, 2)
	var own []string
	for _, g := range strings.Split(buf.String(), "\n\n") {
		if strings.Contains(g, "switchboardhq/switchboard/") && !strings.Contains(g, "/apptest.") &&
			!strings.Contains(g, "testing.tRunner") {
			own = append(own, g)
		}
	}
	return strings.Join(own, "\n\n")
}

// Do sends an HTTP request with a JSON body (nil: none) and returns status and body.
func (g *Gateway) Do(method, path, token string, body any, header ...string) (int, []byte) {
	g.T.Helper()
	var sent []byte
	switch b := body.(type) {
	case nil:
	case string:
		sent = []byte(b)
	case []byte:
		sent = b
	default:
		sent, _ = json.Marshal(b)
	}
	req, err := http.NewRequest(method, g.URL+path, bytes.NewReader(sent))
	if err != nil {
		g.T.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		g.T.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	// Every exchange of the e2e tests agrees with the OpenAPI document (docs/openapi.json).
	for _, p := range CheckAgainstOpenAPI(req, sent, resp, data) {
		g.T.Errorf("OpenAPI: %s", p)
	}
	return resp.StatusCode, data
}

// PostAPI posts a message to the api channel's account demo and returns the message id.
func (g *Gateway) PostAPI(externalID, from, text string) string {
	g.T.Helper()
	status, body := g.Do("POST", "/v1/channels/api/demo/messages", Token,
		map[string]any{"external_id": externalID, "from": from, "text": text})
	if status != http.StatusAccepted {
		g.T.Fatalf("post %s: %d %s", externalID, status, body)
	}
	var r struct{ ID string }
	_ = json.Unmarshal(body, &r)
	return r.ID
}

// Events reads every event on SB_CONVERSATIONS matching filter (e.g. "sb.conv.>") until n
// have arrived or the timeout passes; it fails the test on timeout. Like a robust helpdesk, it
// resumes after the last stream sequence it saw when its consumer breaks (a node failover).
func (g *Gateway) Events(filter string, n int, timeout time.Duration) []*schema.Event {
	g.T.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var out []*schema.Event
	var next uint64 // stream sequence to resume from
	var lastErr error
	for len(out) < n && ctx.Err() == nil {
		cfg := jetstream.OrderedConsumerConfig{FilterSubjects: []string{filter}}
		if next > 0 {
			cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, next
		}
		cctx, ccancel := context.WithTimeout(ctx, 5*time.Second)
		cons, err := g.JS.OrderedConsumer(cctx, streams.StreamConversations, cfg)
		ccancel()
		if err != nil {
			lastErr = err
			time.Sleep(200 * time.Millisecond)
			continue
		}
		for len(out) < n && ctx.Err() == nil {
			batch, err := cons.Fetch(n-len(out), jetstream.FetchMaxWait(250*time.Millisecond))
			if err != nil {
				lastErr = err
				break
			}
			for m := range batch.Messages() {
				var ev schema.Event
				if err := json.Unmarshal(m.Data(), &ev); err != nil {
					g.T.Fatalf("undecodable event on %s: %v", m.Subject(), err)
				}
				if md, err := m.Metadata(); err == nil {
					next = md.Sequence.Stream + 1
				}
				out = append(out, &ev)
			}
			if batch.Error() != nil && !errors.Is(batch.Error(), nats.ErrTimeout) {
				lastErr = batch.Error()
				break
			}
		}
	}
	if len(out) < n {
		g.T.Fatalf("timed out after %v waiting for %d events on %s; got %d (last error: %v)", timeout, n, filter, len(out), lastErr)
	}
	return out
}

// StreamCount returns how many messages a stream holds (optionally on one subject filter).
func (g *Gateway) StreamCount(stream, filter string) uint64 {
	g.T.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := g.JS.Stream(ctx, stream)
	if err != nil {
		g.T.Fatalf("stream %s: %v", stream, err)
	}
	if filter == "" {
		info, err := st.Info(ctx)
		if err != nil {
			g.T.Fatal(err)
		}
		return info.State.Msgs
	}
	info, err := st.Info(ctx, jetstream.WithSubjectFilter(filter))
	if err != nil {
		g.T.Fatal(err)
	}
	var total uint64
	for _, n := range info.State.Subjects {
		total += n
	}
	return total
}

// Eventually polls f every 50ms until it returns nil or timeout passes.
func Eventually(t testing.TB, timeout time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %v", timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Sprint renders events for failure messages.
func Sprint(evs []*schema.Event) string {
	var b strings.Builder
	for _, e := range evs {
		fmt.Fprintf(&b, "%s #%d %s\n", e.ConversationID, e.Seq, e.Type)
	}
	return b.String()
}

// StreamData returns the payloads of every message in a stream (small streams only).
func (g *Gateway) StreamData(stream string) [][]byte {
	g.T.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cons, err := g.JS.OrderedConsumer(ctx, stream, jetstream.OrderedConsumerConfig{})
	if err != nil {
		g.T.Fatal(err)
	}
	var out [][]byte
	for {
		batch, err := cons.Fetch(256, jetstream.FetchMaxWait(300*time.Millisecond))
		if err != nil {
			g.T.Fatal(err)
		}
		n := 0
		for m := range batch.Messages() {
			n++
			out = append(out, m.Data())
		}
		if n == 0 {
			return out
		}
	}
}
