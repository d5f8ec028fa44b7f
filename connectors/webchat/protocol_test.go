package webchat_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/switchboardhq/switchboard/cmd/switchboard/app/apptest"
	"github.com/switchboardhq/switchboard/pipeline/streams"
	"github.com/switchboardhq/switchboard/schema"
)

// TestVisitorAgentLoop: a visitor writes, learns its conversation, sees its message on the
// stream, gets an agent's reply pushed, and the reply is marked delivered, then read.
func TestVisitorAgentLoop(t *testing.T) {
	g := apptest.Start(t, testConfig)
	c := connect(t, g, nil)
	if !strings.HasPrefix(c.visitor(), "a") || c.welcome["conversation_id"] != nil {
		t.Fatalf("welcome for a new visitor: %v", c.welcome)
	}
	c.message("c1", "Hello, is my order shipped?")
	ack := c.expect("ack", 5*time.Second)
	if ack["id"] != "c1" || ack["duplicate"] == true {
		t.Fatalf("ack: %v", ack)
	}
	conv := c.expect("conversation", 10*time.Second)["conversation_id"].(string)
	own := c.expectMessage("visitor", 10*time.Second)
	if msgOf(own)["client_id"] != "c1" || msgOf(own)["id"] != ack["message_id"] || own["conversation_id"] != conv {
		t.Fatalf("own message event: %v (ack %v)", own, ack)
	}

	evs := g.Events("sb.conv."+conv+".message", 1, 5*time.Second)
	m := evs[0].Message
	if m.Channel != schema.ChannelWebchat || m.Account != "shop" || m.From.Kind != "visitor" ||
		m.From.Value != "shop:"+c.visitor() || m.Text != "Hello, is my order shipped?" {
		t.Fatalf("stored message: %+v", m)
	}

	status, body := g.Do("POST", "/v1/conversations/"+conv+"/messages", apptest.Token, map[string]any{"text": "Yes, today.", "agent_id": "ann"})
	if status != http.StatusAccepted {
		t.Fatalf("reply: %d %s", status, body)
	}
	var reply struct{ ID string }
	_ = json.Unmarshal(body, &reply)
	agent := c.expectMessage("agent", 10*time.Second)
	if msgOf(agent)["text"] != "Yes, today." || msgOf(agent)["id"] != reply.ID {
		t.Fatalf("agent message: %v", agent)
	}
	waitStatus(t, g, reply.ID, schema.StatusDelivered)
	c.send(map[string]any{"type": "read", "message_id": reply.ID})
	waitStatus(t, g, reply.ID, schema.StatusRead)
}

func waitStatus(t *testing.T, g *apptest.Gateway, id string, want schema.DeliveryStatus) {
	t.Helper()
	apptest.Eventually(t, 15*time.Second, func() error {
		_, body := g.Do("GET", "/v1/messages/"+id, apptest.Token, nil)
		var m schema.Message
		_ = json.Unmarshal(body, &m)
		if m.Status != want {
			return fmt.Errorf("message %s status %q, want %q", id, m.Status, want)
		}
		return nil
	})
}

// TestResumeAndDedupe: a reconnect with the token resumes the visitor, resending a message
// is acknowledged as a duplicate and stored once, and replies sent while away arrive.
func TestResumeAndDedupe(t *testing.T) {
	g := apptest.Start(t, testConfig)
	c := connect(t, g, nil)
	c.message("m-1", "first")
	first := c.expect("ack", 5*time.Second)
	conv := c.expect("conversation", 10*time.Second)["conversation_id"].(string)
	last := c.expectMessage("visitor", 10*time.Second)["seq"].(float64)
	_ = c.ws.Close()

	g.Do("POST", "/v1/conversations/"+conv+"/messages", apptest.Token, map[string]any{"text": "while you were away"})
	g.Events("sb.conv."+conv+".message", 2, 10*time.Second)

	c2 := connect(t, g, map[string]any{"token": c.token(), "conversation_id": conv, "after": last})
	if c2.visitor() != c.visitor() || c2.welcome["conversation_id"] != conv {
		t.Fatalf("resume: %v", c2.welcome)
	}
	missed := c2.expectMessage("agent", 10*time.Second)
	if msgOf(missed)["text"] != "while you were away" {
		t.Fatalf("missed reply: %v", missed)
	}
	c2.message("m-1", "first")
	again := c2.expect("ack", 5*time.Second)
	if again["message_id"] != first["message_id"] || again["duplicate"] != true {
		t.Fatalf("resend: %v, first %v", again, first)
	}
	if n := g.StreamCount(streams.StreamInbound, "sb.in.webchat.>"); n != 1 {
		t.Fatalf("SB_INBOUND holds %d webchat messages, want 1", n)
	}
}

// TestTabsStayInSync: two tabs of one visitor see each other's messages, replies and reads.
func TestTabsStayInSync(t *testing.T) {
	g := apptest.Start(t, testConfig)
	a := connect(t, g, nil)
	b := connect(t, g, map[string]any{"token": a.token()})
	if a.visitor() != b.visitor() {
		t.Fatal("same token, different visitors")
	}
	a.message("x1", "from tab A")
	a.expect("ack", 5*time.Second)
	conv := b.expect("conversation", 10*time.Second)["conversation_id"].(string)
	if got := msgOf(b.expectMessage("visitor", 10*time.Second)); got["text"] != "from tab A" {
		t.Fatalf("tab B got %v", got)
	}
	_, body := g.Do("POST", "/v1/conversations/"+conv+"/messages", apptest.Token, map[string]any{"text": "hi both"})
	var reply struct{ ID string }
	_ = json.Unmarshal(body, &reply)
	a.expectMessage("agent", 10*time.Second)
	b.expectMessage("agent", 10*time.Second)
	a.send(map[string]any{"type": "read", "message_id": reply.ID})
	if r := b.expect("read", 5*time.Second); r["message_id"] != reply.ID {
		t.Fatalf("read sync: %v", r)
	}
}

// TestAuth: foreign origins are refused, forged or foreign tokens get a fresh visitor, a bad
// identity closes the socket, a good one makes a verified visitor, and naming another
// visitor's conversation shows nothing of it.
func TestAuth(t *testing.T) {
	g := apptest.Start(t, testConfig)
	if _, resp, err := dial(t, g, "shop", "https://evil.example"); err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("foreign origin: err %v resp %v", err, resp)
	}
	if _, resp, err := dial(t, g, "shop", ""); err == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("no origin: err %v", err)
	}
	if _, resp, err := dial(t, g, "nosuch", origin); err == nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown site: err %v", err)
	}

	victim := connect(t, g, nil)
	victim.message("v1", "my secret address is 1 Main St")
	victim.expect("ack", 5*time.Second)
	conv := victim.expect("conversation", 10*time.Second)["conversation_id"].(string)

	tok := victim.token()
	forged := tok[:len(tok)-2] + "xx"
	for _, bad := range []string{forged, "shop." + victim.visitor() + ".1.sig", "other" + tok[4:]} {
		c := connect(t, g, map[string]any{"token": bad, "conversation_id": conv})
		if c.visitor() == victim.visitor() || c.welcome["conversation_id"] != nil {
			t.Fatalf("token %q resumed the victim: %v", bad, c.welcome)
		}
		if f, err := c.next(700 * time.Millisecond); err == nil {
			t.Fatalf("intruder received %v", f)
		}
	}

	c, _, _ := dial(t, g, "shop", origin)
	c.send(map[string]any{"type": "hello", "identity": map[string]any{"user_id": "u-42", "user_hash": "00ff"}})
	if code := c.closeCode(5 * time.Second); code != websocket.ClosePolicyViolation {
		t.Fatalf("bad identity: close %d", code)
	}
	id := map[string]any{"user_id": "u-42", "user_hash": hmacHex(apptest.Token, "u-42"), "name": "Ana",
		"email": "ana@example.com", "email_hash": hmacHex(apptest.Token, "ana@example.com")}
	v := connect(t, g, map[string]any{"identity": id})
	v2 := connect(t, g, map[string]any{"identity": id})
	if v.welcome["verified"] != true || v.visitor() != v2.visitor() || !strings.HasPrefix(v.visitor(), "u") {
		t.Fatalf("verified visitors: %v / %v", v.welcome, v2.welcome)
	}
	signedOut := connect(t, g, map[string]any{"token": v.token()})
	if signedOut.visitor() == v.visitor() {
		t.Fatal("a verified visitor's token without its identity resumed it")
	}
	v.message("p1", "hello as Ana")
	v.expect("ack", 5*time.Second)
	pconv := v.expect("conversation", 10*time.Second)["conversation_id"].(string)
	m := g.Events("sb.conv."+pconv+".message", 1, 5*time.Second)[0].Message
	if m.Profile == nil || !m.Profile.Verified || m.Profile.ExternalID != "u-42" || m.Profile.Email != "ana@example.com" {
		t.Fatalf("verified profile: %+v", m.Profile)
	}
}

// TestLimits: the rate limit answers rate_limited and then closes 1008; an oversized frame
// closes 1009; malformed frames get errors without harm.
func TestLimits(t *testing.T) {
	g := apptest.Start(t, strings.Replace(testConfig, "{per_second: 200, burst: 200}", "{per_second: 1, burst: 3}", 1)+"    max_frame: 2KiB\n")
	c := connect(t, g, nil)
	c.send(map[string]any{"type": "nonsense"})
	if e := c.expect("error", 5*time.Second); e["code"] != "bad_frame" {
		t.Fatalf("bad frame: %v", e)
	}
	limited := false
	for i := 0; i < 40; i++ {
		if err := c.ws.WriteJSON(map[string]any{"type": "typing", "state": "start"}); err != nil {
			break
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	code := 0
	for time.Now().Before(deadline) {
		f, err := c.next(time.Until(deadline))
		if err != nil {
			if ce, ok := err.(*websocket.CloseError); ok {
				code = ce.Code
			}
			break
		}
		if f["type"] == "error" && f["code"] == "rate_limited" && f["retry_after_ms"].(float64) > 0 {
			limited = true
		}
	}
	if !limited || code != websocket.ClosePolicyViolation {
		t.Fatalf("rate limit: limited=%v close=%d", limited, code)
	}

	big := connect(t, g, nil)
	_ = big.ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"message","id":"b","text":"`+strings.Repeat("x", 4096)+`"}`))
	if code := big.closeCode(5 * time.Second); code != websocket.CloseMessageTooBig {
		t.Fatalf("oversized frame: close %d, want 1009", code)
	}
}

// TestTypingBothWays: the visitor's typing reaches helpdesks on the signal subject; an agent's
// typing (REST API) reaches the visitor's socket.
func TestTypingBothWays(t *testing.T) {
	g := apptest.Start(t, testConfig)
	c := connect(t, g, nil)
	c.message("t1", "hello")
	c.expect("ack", 5*time.Second)
	conv := c.expect("conversation", 10*time.Second)["conversation_id"].(string)
	sub, err := g.NC.SubscribeSync("sb.signal.conv." + conv + ".typing")
	if err != nil {
		t.Fatal(err)
	}
	_ = g.NC.Flush()
	c.send(map[string]any{"type": "typing", "state": "start"})
	m, err := sub.NextMsg(5 * time.Second)
	if err != nil {
		t.Fatalf("visitor typing signal: %v", err)
	}
	var sig struct{ Actor, State, Channel string }
	_ = json.Unmarshal(m.Data, &sig)
	if sig.Actor != "customer" || sig.State != "start" || sig.Channel != "webchat" {
		t.Fatalf("signal %s", m.Data)
	}
	if status, body := g.Do("POST", "/v1/conversations/"+conv+"/typing", apptest.Token, map[string]any{"agent_id": "ann", "state": "start"}); status != 202 {
		t.Fatalf("typing: %d %s", status, body)
	}
	if f := c.expect("typing", 5*time.Second); f["actor"] != "agent" || f["state"] != "start" {
		t.Fatalf("typing frame %v", f)
	}
	if status, _ := g.Do("POST", "/v1/conversations/"+conv+"/typing", apptest.Token, map[string]any{"state": "maybe"}); status != 400 {
		t.Fatalf("bad state: %d", status)
	}
}

// TestLongHistoryReplays: a page reload replays a whole long conversation in one burst; the
// burst is not mistaken for a slow client.
func TestLongHistoryReplays(t *testing.T) {
	g := apptest.Start(t, testConfig)
	c := connect(t, g, nil)
	const n = 150
	for i := 0; i < n; i++ {
		c.message(fmt.Sprintf("h%d", i), fmt.Sprintf("line %d of a long story", i))
		c.expect("ack", 5*time.Second)
	}
	conv := c.expect("conversation", 10*time.Second)["conversation_id"].(string)
	g.Events("sb.conv."+conv+".message", n, 30*time.Second)
	reload := connect(t, g, map[string]any{"token": c.token()})
	for i := 0; i < n; i++ {
		if m := msgOf(reload.expectMessage("visitor", 10*time.Second)); m["client_id"] != fmt.Sprintf("h%d", i) {
			t.Fatalf("replay %d: %v", i, m)
		}
	}
}

// TestDeliveryStatusesArriveInOrder: a visitor who reads a reply the moment it arrives races
// the delivered status; the helpdesk must still see sent, delivered and read, once each and in
// that order (a skipped step comes as an implied status right before the one that implied it).
func TestDeliveryStatusesArriveInOrder(t *testing.T) {
	g := apptest.Start(t, testConfig)
	c := connect(t, g, nil)
	c.message("o1", "hi")
	conv := c.expect("conversation", 10*time.Second)["conversation_id"].(string)
	for i := 0; i < 3; i++ {
		status, body := g.Do("POST", "/v1/conversations/"+conv+"/messages", apptest.Token, map[string]any{"text": fmt.Sprint("reply ", i)})
		if status != http.StatusAccepted {
			t.Fatalf("reply: %d %s", status, body)
		}
		var reply struct{ ID string }
		_ = json.Unmarshal(body, &reply)
		c.expectMessage("agent", 10*time.Second)
		c.send(map[string]any{"type": "read", "message_id": reply.ID}) // at once
		waitStatus(t, g, reply.ID, schema.StatusRead)
	}
	time.Sleep(500 * time.Millisecond) // a straggling status would land by now
	perMessage := map[string][]string{}
	for _, e := range g.Events("sb.conv."+conv+".delivery", 9, 10*time.Second) {
		perMessage[e.Delivery.MessageID] = append(perMessage[e.Delivery.MessageID], string(e.Delivery.Status))
	}
	if len(perMessage) != 3 {
		t.Fatalf("delivery events for %d messages, want 3: %v", len(perMessage), perMessage)
	}
	for id, got := range perMessage {
		if strings.Join(got, ",") != "sent,delivered,read" {
			t.Errorf("message %s: statuses %v, want sent,delivered,read", id, got)
		}
	}
}
