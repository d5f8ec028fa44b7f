package app_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/cmd/switchboard/app/apptest"
	"github.com/switchboardhq/switchboard/router/rules"
	"github.com/switchboardhq/switchboard/router/webhooks"
	"github.com/switchboardhq/switchboard/schema"
)

// received is one request the Node receiver logged.
type received struct {
	Path     string `json:"path"`
	ID       string `json:"id"`
	Verified []bool `json:"verified"`
	Status   int    `json:"status"`
	Body     string `json:"body"`
}

// receiver is testdata/webhooks/receiver.js running under Node: it verifies each delivery with
// the Standard Webhooks reference library (npm standardwebhooks), not with our Go code.
type receiver struct {
	URL string
	mu  sync.Mutex
	got []received
}

func startReceiver(t *testing.T, secrets []string, fails string) *receiver {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("SWITCHBOARD_REQUIRE_INTEROP") == "1" {
			t.Fatal("node is not installed but SWITCHBOARD_REQUIRE_INTEROP=1")
		}
		t.Skip("node is not installed: the webhook receiver runs the Standard Webhooks reference library")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, node, filepath.Join("testdata", "webhooks", "receiver.js"))
	cmd.Env = append(os.Environ(), "WEBHOOK_SECRETS="+strings.Join(secrets, " "), "FAIL_PATHS="+fails)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	r := &receiver{}
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	if !sc.Scan() {
		t.Fatal("the receiver did not start")
	}
	var hello struct{ Listening int }
	if err := json.Unmarshal(sc.Bytes(), &hello); err != nil || hello.Listening == 0 {
		t.Fatalf("receiver: %q", sc.Text())
	}
	r.URL = fmt.Sprintf("http://127.0.0.1:%d", hello.Listening)
	go func() {
		for sc.Scan() {
			var g received
			if json.Unmarshal(sc.Bytes(), &g) == nil {
				r.mu.Lock()
				r.got = append(r.got, g)
				r.mu.Unlock()
			}
		}
	}()
	return r
}

// at is what path received, and the accepted (200) part of it.
func (r *receiver) at(path string) (all, accepted []received) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, g := range r.got {
		if g.Path == path {
			all = append(all, g)
			if g.Status == 200 {
				accepted = append(accepted, g)
			}
		}
	}
	return all, accepted
}

func whsec(t *testing.T) string {
	key := make([]byte, 24)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	return "whsec_" + base64.StdEncoding.EncodeToString(key)
}

// The webhook check: a subscription to everything gets every event on the stream, in
// stream order (so in order per conversation), each signed with both secrets of a rotation and
// verified by the Standard Webhooks reference library; its receiver refuses the first six
// attempts (long enough to mark the subscription failing, which an event says, and then
// recovered) and still gets everything after it recovers. A filtered subscription gets only the
// resolved events of the billing queue (signed with the new secret alone: the old one does not
// verify). A receiver that is always down holds its subscription at the first event (nothing
// skipped), marked failing. The delivery log shows the attempts.
func TestWebhooksDeliverTheStreamInOrder(t *testing.T) {
	oldKey, newKey := whsec(t), whsec(t)
	recv := startReceiver(t, []string{oldKey, newKey}, "/all=6 /down=-1")
	t.Setenv("HOOK_OLD", oldKey)
	t.Setenv("HOOK_NEW", newKey)
	g := apptest.Start(t, routingConfig(t, `
webhooks:
  retry: {initial: 50ms, max_interval: 200ms, failing_after: 300ms}
  subscriptions:
    - {id: all, url: "`+recv.URL+`/all", secrets: [{env: HOOK_OLD}, {env: HOOK_NEW}], start: all}
    - {id: billing-resolved, url: "`+recv.URL+`/resolved", secrets: [{env: HOOK_NEW}], events: [resolved], queues: [billing], start: all}
    - {id: down, url: "`+recv.URL+`/down", secrets: [{env: HOOK_NEW}], start: all}
router:
  agents:
    - {id: ann, skills: [general, billing], capacity: {default: 10}}
`, `
queues: {general: {skills: [general]}, billing: {skills: [billing]}}
rules:
  - {name: money, when: {keywords: [invoice]}, targets: [{queue: billing}]}
  - {name: rest, targets: [{queue: general}]}
`))
	setPresence(t, g, "ann", rules.Available)
	for i, text := range []string{"invoice please", "hello", "invoice wrong", "where is my order"} {
		g.PostAPI(fmt.Sprintf("w%d", i), fmt.Sprintf("hook%d@example.com", i), text)
	}
	for _, a := range ofType(waitFor(t, g, "sb.conv.>", 10*time.Second, atLeast(4, schema.EventAssigned)), schema.EventAssigned) {
		if st, b := g.Do("POST", "/v1/conversations/"+a.ConversationID+"/resolve", apptest.Token, nil); st != 202 {
			t.Fatalf("resolve: %d %s", st, b)
		}
	}
	waitFor(t, g, "sb.conv.>", 10*time.Second, atLeast(4, schema.EventResolved))
	// all failed for longer than failing_after and recovered; down is failing: three events.
	system := waitFor(t, g, "sb.system.>", 10*time.Second, func(evs []*schema.Event) error {
		if len(evs) < 3 {
			return fmt.Errorf("%d system events", len(evs))
		}
		return nil
	})
	stream := streamEvents(t, g, ">")
	seen := map[string]bool{}
	for _, e := range system {
		w := e.Webhook
		if w == nil || w.EventID != stream[0].ID || w.Seq != 1 || w.Since.IsZero() {
			t.Fatalf("system event %s: %+v, want the first event held", e.Type, w)
		}
		seen[string(e.Type)+" "+w.Subscription] = true
	}
	if !seen["webhook_failing all"] || !seen["webhook_recovered all"] || !seen["webhook_failing down"] || len(system) != 3 {
		t.Errorf("system events: %v", seen)
	}
	var allAccepted []received
	apptest.Eventually(t, 20*time.Second, func() error {
		if _, allAccepted = recv.at("/all"); len(allAccepted) < len(stream) {
			return fmt.Errorf("/all has %d of %d events", len(allAccepted), len(stream))
		}
		return nil
	})
	allTried, _ := recv.at("/all")
	if len(allAccepted) != len(stream) || len(allTried) != len(stream)+6 {
		t.Fatalf("/all: %d accepted of %d tried, the stream has %d (6 refused attempts expected)", len(allAccepted), len(allTried), len(stream))
	}
	for i, ev := range stream {
		got := allAccepted[i]
		var body schema.Event
		if err := json.Unmarshal([]byte(got.Body), &body); err != nil || got.ID != ev.ID || body.ID != ev.ID || body.Type != ev.Type {
			t.Fatalf("delivery %d: %s (%v), the stream has %s %s", i, got.ID, err, ev.ID, ev.Type)
		}
		if len(got.Verified) != 2 || !got.Verified[0] || !got.Verified[1] {
			t.Errorf("delivery %d (%s) verified with the old and new secrets: %v", i, ev.Type, got.Verified)
		}
	}
	for _, a := range allTried[:6] {
		if a.ID != stream[0].ID || a.Status != 503 {
			t.Errorf("refused attempt %+v: want the first event %s, 503", a, stream[0].ID)
		}
	}

	// The filtered subscription: the billing conversations' resolutions only.
	billing := map[string]bool{}
	var wantResolved []string
	for _, ev := range stream {
		if ev.Routing != nil && ev.Routing.Queue == "billing" {
			billing[ev.ConversationID] = true
		}
		if ev.Type == schema.EventResolved && billing[ev.ConversationID] {
			wantResolved = append(wantResolved, ev.ID)
		}
	}
	apptest.Eventually(t, 10*time.Second, func() error {
		if _, acc := recv.at("/resolved"); len(acc) != len(wantResolved) {
			return fmt.Errorf("/resolved got %d, want %d", len(acc), len(wantResolved))
		}
		return nil
	})
	_, resolved := recv.at("/resolved")
	for i, r := range resolved {
		if r.ID != wantResolved[i] || len(r.Verified) != 2 || r.Verified[0] || !r.Verified[1] {
			t.Errorf("/resolved %d: %s verified %v; want %s, the new secret only", i, r.ID, r.Verified, wantResolved[i])
		}
	}
	if len(wantResolved) != 2 {
		t.Errorf("%d billing resolutions, want 2", len(wantResolved))
	}

	// State: all is caught up; down holds the first event, failing, nothing skipped.
	var list struct {
		Subscriptions []struct {
			ID       string         `json:"id"`
			State    string         `json:"state"`
			Progress webhooks.State `json:"progress"`
		} `json:"subscriptions"`
	}
	last := g.StreamCount("SB_CONVERSATIONS", "")
	apptest.Eventually(t, 10*time.Second, func() error {
		getJSON(t, g, "/v1/webhooks", &list)
		for _, s := range list.Subscriptions {
			switch {
			case s.ID == "all" && (s.State != "active" || s.Progress.Position != last || s.Progress.Delivered != int64(len(stream))):
				return fmt.Errorf("all: %+v, want active at %d with %d delivered", s, last, len(stream))
			case s.ID == "down" && (s.State != "failing" || s.Progress.Position != 0 || s.Progress.LastError != "the receiver answered 503"):
				return fmt.Errorf("down: %+v, want failing at 0", s)
			}
		}
		if len(list.Subscriptions) != 3 {
			return fmt.Errorf("%d subscriptions", len(list.Subscriptions))
		}
		return nil
	})
	downTried, _ := recv.at("/down")
	for _, d := range downTried {
		if d.ID != stream[0].ID {
			t.Fatalf("the failing subscription moved past its first event: %s", d.ID)
		}
	}

	// The delivery log: newest first; the first event took seven attempts.
	var log struct{ Deliveries []webhooks.Delivery }
	getJSON(t, g, fmt.Sprintf("/v1/webhooks/all/deliveries?limit=%d", len(stream)+5), &log)
	if len(log.Deliveries) != len(stream) {
		t.Fatalf("%d delivery records, want %d", len(log.Deliveries), len(stream))
	}
	first := log.Deliveries[len(log.Deliveries)-1]
	if first.ID != stream[0].ID || first.Attempts != 7 || first.Status != webhooks.StatusDelivered || first.ResponseCode != 200 || log.Deliveries[0].Seq != last {
		t.Errorf("the first delivery %+v (7 attempts, delivered, 200), the newest at seq %d (want %d)", first, log.Deliveries[0].Seq, last)
	}
	if st, _ := g.Do("GET", "/v1/webhooks/nosuch/deliveries", apptest.Token, nil); st != 404 {
		t.Errorf("deliveries of an unknown subscription: %d", st)
	}
	webhookRedeliveryAndReplay(t, g, recv, stream, log.Deliveries, len(wantResolved))
}

// webhookRedeliveryAndReplay: one delivery posted again by hand; a subscription replayed from
// a sequence and from a time gets its events again, in order.
func webhookRedeliveryAndReplay(t *testing.T, g *apptest.Gateway, recv *receiver, stream []*schema.Event, log []webhooks.Delivery, resolved int) {
	second := log[len(log)-2]
	st, body := g.Do("POST", fmt.Sprintf("/v1/webhooks/all/deliveries/%d/redeliver", second.Seq), apptest.Token, nil)
	var rec webhooks.Delivery
	_ = json.Unmarshal(body, &rec)
	if st != 200 || rec.ID != stream[1].ID || !rec.Redelivered || rec.Attempts != second.Attempts+1 || rec.Status != webhooks.StatusDelivered {
		t.Fatalf("redeliver: %d %s", st, body)
	}
	if _, acc := recv.at("/all"); acc[len(acc)-1].ID != stream[1].ID || len(acc) != len(stream)+1 {
		t.Errorf("the receiver did not get the redelivery: %d accepted, last %s", len(acc), acc[len(acc)-1].ID)
	}
	if st, _ := g.Do("POST", "/v1/webhooks/all/deliveries/999999/redeliver", apptest.Token, nil); st != 404 {
		t.Errorf("redeliver an unknown delivery: %d", st)
	}
	_, before := recv.at("/resolved")
	for i, req := range []map[string]any{{"from_seq": 1}, {"since": time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)}} {
		if st, body := g.Do("POST", "/v1/webhooks/billing-resolved/replay", apptest.Token, req); st != 202 {
			t.Fatalf("replay %v: %d %s", req, st, body)
		}
		want := len(before) + (i+1)*resolved
		apptest.Eventually(t, 10*time.Second, func() error {
			if _, acc := recv.at("/resolved"); len(acc) != want {
				return fmt.Errorf("/resolved has %d after replay %d, want %d", len(acc), i+1, want)
			}
			return nil
		})
	}
	_, after := recv.at("/resolved")
	for i := range after {
		if after[i].ID != before[i%len(before)].ID {
			t.Errorf("replayed delivery %d is %s, want %s (the same events in the same order)", i, after[i].ID, before[i%len(before)].ID)
		}
	}
	if st, body := g.Do("POST", "/v1/webhooks/billing-resolved/replay", apptest.Token, map[string]any{}); st != 400 || !strings.Contains(string(body), "from_seq") {
		t.Errorf("replay without a position: %d %s", st, body)
	}
}

// Subscriptions managed through REST: created (a bad one refused naming the field), rotated
// to two secrets and then to the new one alone (the reference library verifies each phase),
// removed (nothing more is delivered); one declared in the config cannot be changed there.
func TestWebhooksManagedThroughREST(t *testing.T) {
	oldKey, newKey := whsec(t), whsec(t)
	recv := startReceiver(t, []string{oldKey, newKey}, "")
	t.Setenv("HOOK_NEW", newKey)
	g := apptest.Start(t, apptest.DefaultConfig+`
webhooks:
  subscriptions:
    - {id: declared, url: "`+recv.URL+`/declared", secrets: [{env: HOOK_NEW}], events: [resolved]}
`)
	for _, c := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"id": "x", "url": "ftp://example.com", "secrets": []string{oldKey}}, "url"},
		{map[string]any{"id": "x", "url": recv.URL, "secrets": []string{"hunter2"}}, "secrets[0]"},
		{map[string]any{"id": "x", "url": recv.URL, "events": []string{"opend"}}, "events[0]"},
		{map[string]any{"id": "a b", "url": recv.URL}, "id"},
	} {
		if st, body := g.Do("POST", "/v1/webhooks", apptest.Token, c.body); st != 400 || !strings.Contains(string(body), `"field":"`+c.field+`"`) {
			t.Errorf("POST %v: %d %s, want 400 naming %s", c.body, st, body, c.field)
		}
	}
	if st, body := g.Do("POST", "/v1/webhooks", apptest.Token, map[string]any{"id": "desk", "url": recv.URL + "/desk", "secrets": []string{oldKey}}); st != 201 {
		t.Fatalf("create: %d %s", st, body)
	}
	if st, _ := g.Do("POST", "/v1/webhooks", apptest.Token, map[string]any{"id": "desk", "url": recv.URL + "/desk"}); st != 409 {
		t.Errorf("create twice: %d", st)
	}
	st, body := g.Do("POST", "/v1/webhooks", apptest.Token, map[string]any{"id": "generated", "url": recv.URL + "/generated"})
	var gen struct{ Secret string }
	_ = json.Unmarshal(body, &gen)
	if key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(gen.Secret, "whsec_")); st != 201 || err != nil || len(key) != 32 {
		t.Errorf("create without secrets: %d %s (a generated whsec_ secret of 32 bytes)", st, body)
	}
	for _, path := range []string{"/v1/webhooks/declared"} {
		if st, body := g.Do("PUT", path, apptest.Token, map[string]any{"url": recv.URL}); st != 409 || !strings.Contains(string(body), "declared in the config file") {
			t.Errorf("PUT %s: %d %s", path, st, body)
		}
		if st, _ := g.Do("DELETE", path, apptest.Token, nil); st != 409 {
			t.Errorf("DELETE %s: %d", path, st)
		}
	}
	// Each phase: a message, and its deliveries verified with the secrets of that phase (a
	// change takes effect within a second: until then a message may still go out the old way,
	// so the phase posts again until one does).
	n := 0
	phase := func(i int, want []bool) {
		t.Helper()
		apptest.Eventually(t, 10*time.Second, func() error {
			_, before := recv.at("/desk")
			n++
			g.PostAPI(fmt.Sprintf("m%d", n), fmt.Sprintf("rotation%d@example.com", n), "hello")
			var got []received
			deadline := time.Now().Add(5 * time.Second)
			for _, got = recv.at("/desk"); len(got) < len(before)+2 && time.Now().Before(deadline); _, got = recv.at("/desk") {
				time.Sleep(20 * time.Millisecond) // opened, message
			}
			if len(got) < len(before)+2 {
				return fmt.Errorf("phase %d: %d deliveries", i, len(got)-len(before))
			}
			for _, r := range got[len(before):] {
				if fmt.Sprint(r.Verified) != fmt.Sprint(want) {
					return fmt.Errorf("phase %d: %s verified %v with (old, new), want %v", i, r.ID, r.Verified, want)
				}
			}
			return nil
		})
	}
	phase(0, []bool{true, false})
	if st, body := g.Do("PUT", "/v1/webhooks/desk", apptest.Token, map[string]any{"url": recv.URL + "/desk", "secrets": []string{oldKey, newKey}}); st != 200 {
		t.Fatalf("rotate: %d %s", st, body)
	}
	phase(1, []bool{true, true})
	if st, body := g.Do("PUT", "/v1/webhooks/desk", apptest.Token, map[string]any{"url": recv.URL + "/desk", "secrets": []string{newKey}}); st != 200 {
		t.Fatalf("finish the rotation: %d %s", st, body)
	}
	phase(2, []bool{false, true})
	var list struct {
		Subscriptions []struct{ ID, Source string }
	}
	getJSON(t, g, "/v1/webhooks", &list)
	if fmt.Sprint(list.Subscriptions) != "[{declared config} {desk api} {generated api}]" {
		t.Errorf("list: %v", list.Subscriptions)
	}
	if st, _ := g.Do("DELETE", "/v1/webhooks/desk", apptest.Token, nil); st != 204 {
		t.Fatalf("delete: %d", st)
	}
	if st, _ := g.Do("GET", "/v1/webhooks/desk", apptest.Token, nil); st != 404 {
		t.Errorf("GET a deleted subscription: %d", st)
	}
	_, before := recv.at("/desk")
	g.PostAPI("after", "after@example.com", "still there?")
	waitFor(t, g, "sb.conv.>", 10*time.Second, func(evs []*schema.Event) error {
		for _, e := range evs {
			if e.Message != nil && e.Message.Text == "still there?" {
				return nil
			}
		}
		return fmt.Errorf("the last message is not on the stream yet")
	})
	time.Sleep(1500 * time.Millisecond)
	if _, after := recv.at("/desk"); len(after) != len(before) {
		t.Errorf("a deleted subscription got %d more deliveries", len(after)-len(before))
	}
}
