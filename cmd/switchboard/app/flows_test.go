package app_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchboardhq/switchboard/cmd/switchboard/app/apptest"
	"github.com/switchboardhq/switchboard/connectors/twilio/twiliotest"
	"github.com/switchboardhq/switchboard/pipeline/streams"
	"github.com/switchboardhq/switchboard/schema"
)

// flowRules open the "office" hours all week (the shipped triage checks them) and keep the
// conversations' queues.
const flowRules = `
business_hours:
  office: {timezone: UTC, weekly: {mon-sun: ["00:00-23:59"]}}
queues: {general: {skills: [general]}, billing: {skills: [billing]}, technical: {skills: [technical]}}
default_queue: general
`

// flowAgents: nobody serves technical, so a hand-off there waits in the queue.
const flowAgents = `
router:
  agents:
    - {id: ann, skills: [general, billing]}
`

// shippedFlows copies configs/flows.yaml into dir and names it in the router section.
func shippedFlows(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile("../../../configs/flows.yaml")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "flows.yaml")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return "  flows_file: " + path + "\n"
}

// orderAPI is the order-status service a lookup step calls: it checks the Standard Webhooks
// signature by hand (HMAC-SHA256 over id.timestamp.body) and answers by order number.
type orderAPI struct {
	*httptest.Server
	mu    sync.Mutex
	calls []map[string]any
	bad   int
}

const orderSecret = "whsec_" + "b3JkZXItc3RhdHVzLXNlY3JldC1mb3ItdGVzdHM="

func newOrderAPI(t *testing.T) *orderAPI {
	o := &orderAPI{}
	o.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(orderSecret, "whsec_"))
		mac := hmac.New(sha256.New, key)
		fmt.Fprintf(mac, "%s.%s.%s", r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp"), body)
		want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
		o.mu.Lock()
		defer o.mu.Unlock()
		if r.Header.Get("webhook-signature") != want {
			o.bad++
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var req map[string]any
		_ = json.Unmarshal(body, &req)
		o.calls = append(o.calls, req)
		vars, _ := req["vars"].(map[string]any)
		switch vars["answers.order"] {
		case "123456":
			fmt.Fprint(w, `{"status": "shipped", "eta": "2026-12-05", "carrier": {"name": "DHL"}}`)
		default:
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(o.Close)
	t.Setenv("ORDER_STATUS_URL", o.URL+"/status")
	t.Setenv("ORDER_STATUS_SECRET", orderSecret)
	return o
}

// TestFlowOverSMS runs the shipped triage flow over Twilio SMS: the options come as a
// numbered menu, answers by number and by text; a mistyped email is asked again; the
// hand-off routes to the technical queue with the answers attached (tags and a customer
// attribute set on the way). A second customer's order is looked up (signed request) and
// the flow resolves the conversation itself (contained); a third's lookup fails and takes
// the fallback hand-off. Bot messages are marked automated and never count as a response.
func TestFlowOverSMS(t *testing.T) {
	orders := newOrderAPI(t)
	fake := twiliotest.NewAPI(twSID, twToken)
	t.Cleanup(fake.Close)
	t.Setenv("APPTEST_TWILIO_TOKEN", twToken)
	g := apptest.Start(t, routingConfig(t, twilioSection(fake)+flowAgents+shippedFlows(t), flowRules))
	post := func(sid, from, body string) {
		t.Helper()
		if st, b := twilioPost(t, g, twInbound, twilioForm(sid, from, "+14155550100", body)); st != 200 {
			t.Fatalf("inbound %q: %d %s", body, st, b)
		}
	}
	sent := func(to string, n int) []string {
		t.Helper()
		var out []string
		apptest.Eventually(t, 15*time.Second, func() error {
			out = nil
			for _, c := range createCalls(fake) {
				if c.Get("To") == to {
					out = append(out, c.Get("Body"))
				}
			}
			if len(out) < n {
				return fmt.Errorf("%d messages to %s, want %d: %q", len(out), to, n, out)
			}
			return nil
		})
		return out
	}
	const ann = "+14155552671"
	post("SM10000000000000000000000000000001", ann, "hello")
	got := sent(ann, 2)
	menu := "What can I help you with?\n1. Billing\n2. Technical problem\n3. Where is my order?\n4. Something else"
	if got[0] != `Hi there, this is the Acme assistant. Type "agent" at any time to talk to a person.` || got[1] != menu {
		t.Fatalf("the flow's first messages: %q", got)
	}
	conv := g.Events("sb.conv.*.opened", 1, 15*time.Second)[0].ConversationID
	post("SM10000000000000000000000000000002", ann, "2")
	if got = sent(ann, 3); got[2] != "Which email address is your account under?" {
		t.Fatalf("after 2: %q", got[2])
	}
	post("SM10000000000000000000000000000003", ann, "ann at example")
	if got = sent(ann, 4); got[3] != "Please type the email address of your account, e.g. ann@example.com." {
		t.Fatalf("after a bad email: %q", got[3])
	}
	post("SM10000000000000000000000000000004", ann, "ANN@Example.com")
	h := g.Events("sb.conv."+conv+".flow_handoff", 1, 15*time.Second)[0]
	if h.Flow.Queue != "technical" || h.Flow.Answers["email"] != "ann@example.com" || h.Flow.Answers["menu"] != "technical" || h.Flow.State.Outcome != "handoff" {
		t.Fatalf("hand-off: %+v", h.Flow)
	}
	q := g.Events("sb.conv."+conv+".queued", 1, 15*time.Second)[0]
	if q.Routing.Queue != "technical" || !strings.Contains(q.Reason, "flow triage handed off") || !strings.Contains(q.Reason, "email=ann@example.com") {
		t.Fatalf("queued: %s / %+v", q.Reason, q.Routing)
	}
	c := getConv(t, g, conv)
	if c.Queue != "technical" || !slices.Contains(c.Tags, "technical") || c.Flow == nil || !c.Flow.Done || c.Flow.Outcome != "handoff" {
		t.Fatalf("conversation after the hand-off: queue %q tags %v flow %+v", c.Queue, c.Tags, c.Flow)
	}
	steps := g.Events("sb.conv."+conv+".flow_step", 3, 15*time.Second)
	if s := steps[0].Flow.Steps; len(s) < 3 || s[0].Step != "hello" || s[0].Why != "the flow starts" || s[len(s)-1].Step != "menu" {
		t.Fatalf("the first turn's steps: %+v", s)
	}
	for _, e := range steps {
		if e.Flow.Version == "" || e.Flow.State == nil {
			t.Fatalf("a flow event without version or state: %+v", e.Flow)
		}
	}
	var cust schema.Customer
	apptest.Eventually(t, 10*time.Second, func() error {
		st, raw := g.Do("GET", "/v1/customers/"+c.CustomerID, apptest.Token, nil)
		if st != 200 || json.Unmarshal(raw, &cust) != nil || cust.Attributes["email"] != "ann@example.com" {
			return fmt.Errorf("customer: %d %s", st, raw)
		}
		return nil
	})
	for _, e := range g.Events("sb.conv."+conv+".message", 1, 5*time.Second) {
		if m := e.Message; m.Direction == schema.Outbound && (!m.Automated() || e.Actor != "flow") {
			t.Fatalf("a bot message not marked automated: %+v (actor %q)", m, e.Actor)
		}
	}
	if c.SLA != nil && c.SLA.Clocks != nil {
		for _, clk := range c.SLA.Clocks {
			if clk.Metric == "first_response" && clk.StoppedAt != nil {
				t.Fatalf("a bot message stopped the first-response clock: %+v", clk)
			}
		}
	}

	// An order lookup, contained.
	const bob = "+14155550111"
	post("SM20000000000000000000000000000001", bob, "hi")
	sent(bob, 2)
	post("SM20000000000000000000000000000002", bob, "where is my order?")
	if got = sent(bob, 3); got[2] != "Your order number? (6 digits)" {
		t.Fatalf("bob after the option: %q", got[2])
	}
	post("SM20000000000000000000000000000003", bob, "123456")
	if got = sent(bob, 4); got[3] != "Order 123456 is on its way: it should arrive by 2026-12-05." {
		t.Fatalf("bob's order: %q", got)
	}
	post("SM20000000000000000000000000000004", bob, "Yes")
	if got = sent(bob, 6); got[5] != "Glad I could help! Write again any time." {
		t.Fatalf("bob's end: %q", got)
	}
	conv2 := g.Events("sb.conv.*.opened", 2, 15*time.Second)[1].ConversationID
	res := g.Events("sb.conv."+conv2+".resolved", 1, 15*time.Second)[0]
	if res.Actor != "flow" || !strings.Contains(res.Reason, "contained by flow triage") {
		t.Fatalf("resolved: %q by %q", res.Reason, res.Actor)
	}
	if done := g.Events("sb.conv."+conv2+".flow_completed", 1, 5*time.Second)[0]; done.Flow.Outcome != "resolved" {
		t.Fatalf("flow_completed: %+v", done.Flow)
	}
	orders.mu.Lock()
	if len(orders.calls) != 1 || orders.bad != 0 || orders.calls[0]["conversation_id"] != conv2 || orders.calls[0]["step"] != "order_lookup" {
		t.Fatalf("lookups: %+v (bad signatures %d)", orders.calls, orders.bad)
	}
	orders.mu.Unlock()
	if c := getConv(t, g, conv2); c.Status != schema.ConversationResolved || c.Queue != "" || c.AgentID != "" || c.Flow.Vars["lookup.order.carrier.name"] != "DHL" {
		t.Fatalf("contained conversation: %s queue %q agent %q vars %v", c.Status, c.Queue, c.AgentID, c.Flow.Vars)
	}

	// A lookup that fails takes the fallback.
	const cem = "+14155550122"
	post("SM30000000000000000000000000000001", cem, "hi")
	sent(cem, 2)
	post("SM30000000000000000000000000000002", cem, "3")
	sent(cem, 3)
	post("SM30000000000000000000000000000003", cem, "999999")
	if got = sent(cem, 4); got[3] != "I could not look up order 999999 just now; let me get a colleague." {
		t.Fatalf("cem: %q", got)
	}
	conv3 := g.Events("sb.conv.*.opened", 3, 15*time.Second)[2].ConversationID
	h3 := g.Events("sb.conv."+conv3+".flow_handoff", 1, 15*time.Second)[0]
	if h3.Flow.Queue != "general" || !strings.Contains(h3.Reason, "lookup failed") && !strings.Contains(strings.Join(stepWhys(h3), " "), "503") {
		t.Fatalf("cem's hand-off: %q %+v", h3.Reason, h3.Flow)
	}
	if q := g.Events("sb.conv."+conv3+".queued", 1, 15*time.Second)[0]; q.Routing.Queue != "general" || !strings.Contains(q.Reason, "order 999999: the lookup failed") {
		t.Fatalf("cem queued: %q %+v", q.Reason, q.Routing)
	}
	_, raw := g.Do("GET", "/metrics", "", nil)
	metrics := string(raw)
	for _, want := range []string{`switchboard_flow_entries_total{flow="triage"} 3`, `switchboard_flow_outcomes_total{flow="triage",outcome="resolved",step="done"} 1`,
		`switchboard_flow_outcomes_total{flow="triage",outcome="handoff",step="to_tech"} 1`, `switchboard_flows_last_reload_successful 1`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func stepWhys(e *schema.Event) []string {
	var out []string
	for _, s := range e.Flow.Steps {
		out = append(out, s.Why)
	}
	return out
}

const apiFlows = `
defaults: {api: ask}
flows:
  ask:
    start: menu
    handoff_queue: general
    steps:
      menu:
        ask: "Billing or technical?"
        options: [{label: Billing, value: billing, next: email}, {label: Technical, value: technical, next: email}]
        timeout: 2s
        on_timeout: gone
      email: {ask: "Your email?", validate: email, save: email, next: out}
      out: {handoff: {queue: general}}
      gone: {resolve: "No answer: closing."}
`

// apiFlowGateway runs flowsYAML over the API channel (its bot messages fail to deliver: no
// callback; the flow does not mind).
func apiFlowGateway(t *testing.T, flowsYAML string) (*apptest.Gateway, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "flows.yaml")
	if err := os.WriteFile(path, []byte(flowsYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	g := apptest.Start(t, routingConfig(t, "\nrouter:\n  agents: [{id: ann, skills: [general]}]\n  reload_interval: 100ms\n  flows_file: "+path+"\n",
		"queues: {general: {skills: [general]}}\ndefault_queue: general\n"))
	return g, path
}

// An agent who replies stops the flow (flow_completed, stopped); the customer's next words
// are for the agent, not answers. A question nobody answers times out on its JetStream
// timer, once, and takes its on_timeout branch.
func TestFlowStopsForAnAgentAndTimesOut(t *testing.T) {
	g, _ := apiFlowGateway(t, apiFlows)
	g.PostAPI("st-1", "stop@example.com", "hello")
	conv := g.Events("sb.conv.*.flow_step", 1, 10*time.Second)[0].ConversationID
	if st, body := g.Do("POST", "/v1/conversations/"+conv+"/messages", apptest.Token, map[string]any{"text": "Hi, Ann here: how can I help?"}); st != 202 {
		t.Fatalf("reply: %d %s", st, body)
	}
	done := g.Events("sb.conv."+conv+".flow_completed", 1, 10*time.Second)[0]
	if done.Flow.Outcome != "stopped" || !strings.Contains(done.Reason, "an agent replied") || done.Flow.State.Step != "menu" {
		t.Fatalf("stopped: %q %+v", done.Reason, done.Flow)
	}
	g.PostAPI("st-2", "stop@example.com", "2")
	time.Sleep(2500 * time.Millisecond) // past the menu's timeout: its timer must find the flow stopped
	if n := g.StreamCount("SB_CONVERSATIONS", "sb.conv."+conv+".flow_*"); n != 2 {
		t.Fatalf("%d flow events after the agent stepped in, want the start and the stop", n)
	}
	if c := getConv(t, g, conv); c.Status != schema.ConversationOpen || c.Flow.Outcome != "stopped" {
		t.Fatalf("conversation %s, flow %+v", c.Status, c.Flow)
	}

	// Nobody answers: the timer resolves it, once.
	g.PostAPI("to-1", "timeout@example.com", "hello")
	steps := g.Events("sb.conv.*.flow_step", 2, 10*time.Second)
	conv2 := steps[1].ConversationID
	start := steps[1].At
	end := g.Events("sb.conv."+conv2+".flow_completed", 1, 15*time.Second)[0]
	if end.Flow.Outcome != "resolved" || end.Flow.Steps[0].Why != "no answer within 2s" || end.At.Sub(start) < 2*time.Second {
		t.Fatalf("timeout: %+v at %v (started %v)", end.Flow, end.At, start)
	}
	if r := g.Events("sb.conv."+conv2+".resolved", 1, 5*time.Second)[0]; !strings.Contains(r.Reason, "No answer: closing.") {
		t.Fatalf("resolved %q", r.Reason)
	}
	time.Sleep(500 * time.Millisecond)
	if n := g.StreamCount("SB_CONVERSATIONS", "sb.conv."+conv2+".resolved"); n != 1 {
		t.Fatalf("%d resolutions", n)
	}
	_, raw := g.Do("GET", "/metrics", "", nil)
	for _, want := range []string{`switchboard_flow_outcomes_total{flow="ask",outcome="stopped",step="menu"} 1`, `switchboard_flow_outcomes_total{flow="ask",outcome="timeout",step="menu"} 1`} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// The flows file reloads like the rules: a new version is in force for the next turn (a
// conversation mid-flow goes on from its step); a bad file keeps the old flows and says so.
func TestFlowsFileReloads(t *testing.T) {
	g, path := apiFlowGateway(t, apiFlows)
	g.PostAPI("rl-1", "reload@example.com", "hello")
	conv := g.Events("sb.conv.*.flow_step", 1, 10*time.Second)[0].ConversationID
	v1 := getConv(t, g, conv).Flow.Version
	if err := os.WriteFile(path, []byte(strings.Replace(apiFlows, `"Your email?"`, `"Which email address, please?"`, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	g.PostAPI("rl-2", "reload@example.com", "billing")
	ev := g.Events("sb.conv."+conv+".flow_step", 2, 10*time.Second)[1]
	if ev.Flow.Version == v1 || ev.Flow.State.Step != "email" {
		t.Fatalf("after the reload: %+v (version before %s)", ev.Flow, v1)
	}
	msgs := g.Events("sb.conv."+conv+".message", 4, 10*time.Second)
	if m := msgs[3].Message; m.Text != "Which email address, please?" {
		t.Fatalf("the new text is not in force: %q", m.Text)
	}
	if err := os.WriteFile(path, []byte("flows:\n  ask:\n    start: nowhere\n    steps: {a: {say: hi, next: a}}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	apptest.Eventually(t, 10*time.Second, func() error {
		_, raw := g.Do("GET", "/metrics", "", nil)
		if !strings.Contains(string(raw), "switchboard_flows_last_reload_successful 0") {
			return fmt.Errorf("the bad file is not reported")
		}
		return nil
	})
	g.PostAPI("rl-3", "reload@example.com", "ann@example.com")
	if h := g.Events("sb.conv."+conv+".flow_handoff", 1, 10*time.Second)[0]; h.Flow.Answers["email"] != "ann@example.com" {
		t.Fatalf("with a bad file on disk: %+v", h.Flow)
	}
}

// A flow turn costs at most one stored write beyond the bot's own message: the turn's
// writes (the customer's message, the flow event, the bot's message) against a plain
// message plus what an agent's reply costs without the REST path's own two (the command on
// SB_ROUTE and the snapshot a command checkpoints).
func TestStoredWritesPerFlowTurn(t *testing.T) {
	g, _ := apiFlowGateway(t, strings.Replace(apiFlows, "defaults: {api: ask}", "defaults: {api: ask}\n", 1))
	g.PostAPI("wf-0", "flowwrites@example.com", "hello")
	conv := g.Events("sb.conv.*.flow_step", 1, 10*time.Second)[0].ConversationID
	time.Sleep(300 * time.Millisecond)
	turn, whereTurn := writesOf(t, g, func() { g.PostAPI("wf-1", "flowwrites@example.com", "1") }) // one bot message: "Your email?"
	if s := g.Events("sb.conv."+conv+".flow_step", 2, 5*time.Second)[1]; s.Flow.State.Step != "email" {
		t.Fatalf("turn: %+v", s.Flow)
	}
	// The same without flows: a message in an agent's conversation, and an agent's reply.
	if st, _ := g.Do("POST", "/v1/conversations/"+conv+"/messages", apptest.Token, map[string]any{"text": "Ann here"}); st != 202 {
		t.Fatal("reply")
	}
	g.Events("sb.conv."+conv+".flow_completed", 1, 5*time.Second)
	time.Sleep(300 * time.Millisecond)
	plain, wherePlain := writesOf(t, g, func() { g.PostAPI("wf-2", "flowwrites@example.com", "thanks") })
	reply, whereReply := writesOf(t, g, func() {
		if st, _ := g.Do("POST", "/v1/conversations/"+conv+"/messages", apptest.Token, map[string]any{"text": "You are welcome"}); st != 202 {
			t.Fatal("reply")
		}
	})
	t.Logf("a flow turn with one bot message: %d stored writes (%s)", turn, whereTurn)
	t.Logf("a plain message: %d (%s); an agent's reply: %d (%s)", plain, wherePlain, reply, whereReply)
	if bot := reply - 2; turn > plain+bot+1 {
		t.Fatalf("a flow turn costs %d writes, more than a message (%d) + the bot's message (%d) + 1", turn, plain, bot)
	}
}

// A crash between two events of one flow turn: the customer's answer and the flow step
// reached the stream, the bot's next question did not, and nothing sent it. The answer,
// delivered again after the restart, finds its first two events and publishes the missing
// question before anything sends it: every bot message sent is on the stream, once, and
// found by id. (Before, the rebuilt snapshot counted the turn as done and the question went
// out with no event: GET /v1/messages/{id} and its delivery statuses knew nothing of it.)
func TestFlowTurnInterruptedBetweenItsEvents(t *testing.T) {
	flowsYAML := strings.Replace(apiFlows, "        timeout: 2s\n        on_timeout: gone\n", "", 1)
	path := filepath.Join(t.TempDir(), "flows.yaml")
	if err := os.WriteFile(path, []byte(flowsYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := routingConfig(t, "\nrouter:\n  agents: [{id: ann, skills: [general]}]\n  flows_file: "+path+"\n",
		"queues: {general: {skills: [general]}}\ndefault_queue: general\n")
	g := apptest.Start(t, cfg)
	g.PostAPI("ib-0", "interrupted@example.com", "hello")
	conv := g.Events("sb.conv.*.flow_step", 1, 10*time.Second)[0].ConversationID
	ctx := context.Background()
	convs, err := g.JS.KeyValue(ctx, streams.BucketConversations)
	if err != nil {
		t.Fatal(err)
	}
	// A flow's conversation is not routed yet: it may have no stored snapshot (the router
	// folds it from its events), which is then how the crash leaves it.
	snap, err := convs.Get(ctx, conv)
	if err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Fatal(err)
	}
	answer := g.PostAPI("ib-1", "interrupted@example.com", "1")
	step := g.Events("sb.conv."+conv+".flow_step", 2, 10*time.Second)[1]
	var question []*schema.Message
	apptest.Eventually(t, 10*time.Second, func() error { // the question is published after the step
		if question = botMessages(t, g, conv); len(question) != 2 {
			return fmt.Errorf("%d bot messages", len(question))
		}
		return nil
	})
	if question[1].Text != "Your email?" {
		t.Fatalf("bot messages %+v", question)
	}
	inbound := copyOf(t, g, streams.StreamInbound, answer)

	// The crash: everything of the conversation after the flow step is gone, the snapshot and
	// the message index are as they were before the answer.
	st, err := g.JS.Stream(ctx, streams.StreamConversations)
	if err != nil {
		t.Fatal(err)
	}
	stepMsg, err := st.GetLastMsgForSubject(ctx, "sb.conv."+conv+".flow_step")
	if err != nil || stepMsg.Header.Get(streams.HeaderCause) != answer {
		t.Fatalf("the step %+v is not the answer's: %v", step, err)
	}
	for seq := stepMsg.Sequence + 1; ; seq++ {
		m, err := st.GetMsg(ctx, seq, jetstream.WithGetMsgSubject("sb.conv."+conv+".>"))
		if err != nil {
			break
		}
		if err := st.DeleteMsg(ctx, m.Sequence); err != nil {
			t.Fatal(err)
		}
		seq = m.Sequence
	}
	forgetIndex(t, g)
	dir := g.DataDir
	g.Stop()                                                 // stores the snapshot the router holds: put back as it was below
	g = apptest.Start(t, cfg, apptest.Options{DataDir: dir}) // the duplicate window forgets the deleted ids
	convs, _ = g.JS.KeyValue(ctx, streams.BucketConversations)
	if snap != nil {
		_, err = convs.Put(ctx, conv, snap.Value())
	} else {
		err = convs.Purge(ctx, conv)
	}
	if err != nil {
		t.Fatal(err)
	}
	redeliver(t, g, inbound, "after-the-crash")

	var again []*schema.Message
	apptest.Eventually(t, 10*time.Second, func() error {
		if again = botMessages(t, g, conv); len(again) != 2 {
			return fmt.Errorf("%d bot messages on the stream", len(again))
		}
		return nil
	})
	if again[1].ID != question[1].ID || again[1].Text != "Your email?" {
		t.Fatalf("the question came back as %+v, want %+v", again[1], question[1])
	}
	var m schema.Message
	getJSON(t, g, "/v1/messages/"+again[1].ID, &m)
	if m.ConversationID != conv || m.Text != "Your email?" {
		t.Fatalf("GET the question: %+v", m)
	}
	if c := getConv(t, g, conv); c.Flow == nil || c.Flow.Step != "email" || !c.Flow.Waiting {
		t.Fatalf("flow after the recovery: %+v", c.Flow)
	}
}

// botMessages are the flow's messages on the conversation's stream, in order.
func botMessages(t *testing.T, g *apptest.Gateway, conv string) []*schema.Message {
	t.Helper()
	var out []*schema.Message
	for _, e := range ofType(streamEvents(t, g, "sb.conv."+conv+".message"), schema.EventMessage) {
		if e.Message.Direction == schema.Outbound {
			out = append(out, e.Message)
		}
	}
	return out
}
