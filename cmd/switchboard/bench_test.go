package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/switchboardhq/switchboard/pipeline/natstest"
	"github.com/twilio/twilio-go/client"
)

// TestBenchSmoke runs the load generator against an in-process gateway at a small size and
// checks its bookkeeping: every accepted message is stored once and arrives as a conversation
// event, in order per customer, and the raw ceiling is measured.
func TestBenchSmoke(t *testing.T) {
	for _, name := range []string{"api", "twilio"} {
		t.Run(name, func(t *testing.T) { benchSmoke(t, name) })
	}
}

func benchSmoke(t *testing.T, scenario string) {
	o := &benchOptions{Messages: 300, Concurrency: 8, Customers: 20, Size: 100, Partitions: 4,
		Scenario: scenario, DataDir: t.TempDir(), Timeout: 30 * time.Second}
	sc, err := scenarioByName(scenario)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	env, err := setupBench(ctx, o, sc)
	if err != nil {
		t.Fatal(err)
	}
	defer env.close()
	rep, err := benchmark(ctx, o, sc, env)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Accepted != 300 || rep.Events != 300 || rep.Lost != 0 || rep.Stored != 300 {
		t.Fatalf("accepted %d, events %d, lost %d, stored %d; failures %v", rep.Accepted, rep.Events, rep.Lost, rep.Stored, rep.Failures)
	}
	if rep.OrderViolations != 0 || rep.Unrecognized != 0 {
		t.Fatalf("order violations %d, unrecognized %d", rep.OrderViolations, rep.Unrecognized)
	}
	if rep.Raw == nil || rep.Raw.PerSec <= 0 || rep.Ratio <= 0 || rep.EndToEnd.P50 <= 0 {
		t.Fatalf("incomplete report: %+v", rep)
	}
	// The reference gateway took every request of the same generator (signatures and tokens
	// checked), so the ratios compare like with like.
	if ref := rep.Reference; ref == nil || ref.Accepted != 300 || len(ref.Failures) > 0 || ref.PerSec <= 0 || ref.CPUPerMessage <= 0 ||
		rep.RoutedToReference <= 0 || rep.CPUToReference <= 0 || rep.AcceptedToReference <= 0 {
		t.Fatalf("reference: %+v, ratios %.2f %.2f %.2f", rep.Reference, rep.RoutedToReference, rep.CPUToReference, rep.AcceptedToReference)
	}
}

// The reference gateway is a gateway, not a sink: it refuses a wrong token or signature,
// and stores a provider's retry once.
func TestReferenceGatewayVerifiesAndDeduplicates(t *testing.T) {
	s := natstest.StartServer(t)
	nc, err := nats.Connect(s.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx := context.Background()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: refStream, Subjects: []string{"sb.benchref.>"}}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(nil)
	ref := &referenceGateway{js: js, token: "tok", base: "http://" + srv.Listener.Addr().String(),
		twilio: client.NewRequestValidator("tok"), partsOf: 4}
	srv.Config.Handler = ref.mux()
	srv.Start()
	defer srv.Close()
	o := &benchOptions{Token: "tok"}
	status := func(sc scenario, c, seq int, tamper func(*http.Request)) int {
		req, err := sc.Request(o, srv.URL, c, seq, "hello")
		if err != nil {
			t.Fatal(err)
		}
		tamper(req)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	keep := func(*http.Request) {}
	if got := status(apiScenario{}, 1, 0, func(r *http.Request) { r.Header.Set("Authorization", "Bearer nope") }); got != 401 {
		t.Fatalf("wrong token: %d", got)
	}
	if got := status(twilioScenario{}, 1, 0, func(r *http.Request) { r.Header.Set("X-Twilio-Signature", "AAAA") }); got != 403 {
		t.Fatalf("wrong signature: %d", got)
	}
	for range 2 { // the second is a provider's retry
		if a, b := status(apiScenario{}, 1, 0, keep), status(twilioScenario{}, 1, 0, keep); a != 202 || b != 200 {
			t.Fatalf("good requests: %d %d", a, b)
		}
	}
	st, _ := js.Stream(ctx, refStream)
	if info, _ := st.Info(ctx); info.State.Msgs != 2 {
		t.Fatalf("stored %d messages, want 2 (one per channel)", info.State.Msgs)
	}
}

// TestBenchTrackerDetectsDisorder checks the order check itself.
func TestBenchTrackerDetectsDisorder(t *testing.T) {
	o := &benchOptions{Messages: 4, Customers: 1, Concurrency: 1}
	tr := newTracker(o, apiScenario{})
	for _, seq := range []string{"0", "2", "1", "3"} {
		tr.onEvent(natsMsg(`{"message":{"direction":"inbound","text":"` + seq + `\nx","from":{"value":"customer0@bench.example"}}}`))
	}
	if v := tr.violations.Load(); v != 1 {
		t.Fatalf("violations %d, want 1", v)
	}
}

func natsMsg(data string) *nats.Msg { return &nats.Msg{Data: []byte(data)} }
