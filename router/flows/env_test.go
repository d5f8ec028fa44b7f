package flows

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/schema"
)

const envFlows = `
defaults: {sms: a, whatsapp/acme: b}
flows:
  a:
    start: route
    steps:
      route:
        branch:
          - {expr: 'customer.attributes.tier == "vip" && message.channel == "sms"', next: vip}
          - {expr: 'answers.topic == "x" || "urgent" in conversation.tags', next: urgent}
          - {next: look}
      vip: {resolve: "vip"}
      urgent: {resolve: "urgent"}
      look:
        lookup: {url: "http://127.0.0.1:1/never", timeout: 300ms, save: order}
        next: found
        on_failure: failed
      found: {say: "status {{lookup.order.status}}, {{lookup.order.items}} items, gift {{lookup.order.gift}}", next: wait}
      failed: {say: "lookup failed", next: wait}
      wait: {ask: "more?", next: bye}
      bye: {resolve: "bye"}
  b:
    start: x
    steps: {x: {resolve: "b"}}
`

func envFile(t *testing.T) *File {
	t.Helper()
	f, err := Parse("env.yaml", []byte(envFlows))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// Branches in the routing language see the message, the customer, the conversation's tags
// and the answers; defaults go by channel and account.
func TestExprBranchesAndDefaults(t *testing.T) {
	f := envFile(t)
	fl := f.Flows["a"]
	vip := &schema.Customer{Attributes: map[string]string{"tier": "vip"}}
	sms := &schema.Message{Channel: schema.ChannelSMS, Text: "hi"}
	if st, out := fl.StartIn(In{Now: now, Message: sms, Customer: vip}, nil); out.Resolved != "vip" || st.Outcome != OutcomeResolved {
		t.Fatalf("vip: %+v %+v", st, out)
	}
	if _, out := fl.StartIn(In{Now: now, Message: sms, Tags: []string{"urgent"}}, nil); out.Resolved != "urgent" || !strings.Contains(out.Steps[0].Why, `"urgent" in conversation.tags`) {
		t.Fatalf("tags: %+v", out)
	}
	if _, out := fl.StartIn(In{Now: now}, map[string]string{"answers.topic": "x"}); out.Resolved != "urgent" {
		t.Fatalf("answers: %+v", out)
	}
	for _, c := range []struct{ ch, acct, want string }{{"sms", "", "a"}, {"sms", "any", "a"}, {"whatsapp", "acme", "b"}, {"whatsapp", "other", ""}, {"email", "", ""}} {
		if got := f.Default(c.ch, c.acct); got != c.want {
			t.Errorf("default for %s/%s: %q, want %q", c.ch, c.acct, got, c.want)
		}
	}
	if _, err := Parse("bad.yaml", []byte("flows:\n  a:\n    start: s\n    steps:\n      s:\n        branch:\n          - {expr: 'answers.x +', next: t}\n          - {next: t}\n      t: {resolve: x}\n")); err == nil ||
		!strings.Contains(err.Error(), "bad.yaml:7:") || !strings.Contains(err.Error(), "branch[0].expr") {
		t.Fatalf("a bad expression: %v", err)
	}
}

// The HTTP lookup: the answer's fields flatten into lookup.<save>.*; a slow service times out
// into on_failure, as do an error status, an answer that is not an object, a huge answer,
// and an unset URL variable.
func TestHTTPLookup(t *testing.T) {
	var mode atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req map[string]any
		_ = json.NewDecoder(r.Body).Decode(&req)
		switch mode.Load() {
		case "ok":
			if req["step"] != "look" || req["conversation_id"] != "cnv_1" || r.Header.Get("webhook-signature") != "" {
				http.Error(w, "unexpected request", 400)
				return
			}
			fmt.Fprint(w, `{"status": "shipped", "items": 3, "gift": false, "track": {"carrier": "DHL"}, "notes": null}`)
		case "slow":
			time.Sleep(time.Second)
		case "500":
			http.Error(w, "boom", 500)
		case "array":
			fmt.Fprint(w, `[1, 2]`)
		case "huge":
			fmt.Fprintf(w, `{"x": "%s"}`, strings.Repeat("a", MaxLookupResponse))
		}
	}))
	defer srv.Close()
	f := envFile(t)
	f.Bind(&Env{Lookup: HTTPLookup(srv.Client())})
	fl := f.Flows["a"]
	fl.steps["look"].lookup.URL = srv.URL
	run := func() (State, Output) {
		return fl.StartIn(In{Ctx: context.Background(), Now: now, Conversation: "cnv_1"}, nil)
	}
	mode.Store("ok")
	st, out := run()
	if texts(out)[0] != "status shipped, 3 items, gift false" || st.Vars["lookup.order.track.carrier"] != "DHL" || st.Step != "wait" {
		t.Fatalf("ok: %q %v", texts(out), st.Vars)
	}
	for _, m := range []struct{ mode, why string }{{"slow", "no answer within 300ms"}, {"500", "500 Internal Server Error"}, {"array", "not a JSON object"}, {"huge", "larger than"}} {
		mode.Store(m.mode)
		st, out := run()
		if texts(out)[0] != "lookup failed" || !strings.Contains(out.Steps[1].Why, m.why) {
			t.Errorf("%s: %q, why %q", m.mode, texts(out), out.Steps[1].Why)
		}
		_ = st
	}
	fl.steps["look"].lookup.URL = "${FLOWS_TEST_UNSET_URL}"
	if _, out := run(); !strings.Contains(out.Steps[1].Why, "is not an http or https URL") {
		t.Errorf("unset URL variable: %q", out.Steps[1].Why)
	}
}

func FuzzFlatten(f *testing.F) {
	f.Add([]byte(`{"a": {"b": [1, {"c": null}]}, "d": 1.5e300, "e": true}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var obj map[string]any
		if json.Unmarshal(data, &obj) != nil {
			return
		}
		out := map[string]string{}
		flatten("", obj, out)
		for k := range out {
			top, _, _ := strings.Cut(k, ".")
			if _, ok := obj[top]; !ok && !strings.Contains(k, ".") {
				t.Fatalf("%s: key %q is not from the answer", data, k)
			}
		}
	})
}
