package webchat_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchboardhq/switchboard/cmd/switchboard/app/apptest"
)

// testConfig is a gateway with the webchat site "shop" (origin https://shop.example) and a
// verified-identity secret equal to apptest.Token.
const testConfig = `
log: {level: warn}
pipeline: {partitions: 2}
rest:
  tokens:
    - {name: test, token: {env: APPTEST_TOKEN}}
channels:
  webchat:
    rate: {per_second: 200, burst: 200}
    per_ip: {max_sockets: 100000, handshakes_per_second: 100000, handshake_burst: 100000} # every test client is 127.0.0.1
    sites:
      shop:
        allowed_origins: [https://shop.example]
        identity_secret: {env: APPTEST_TOKEN}
        demo: true
`

const origin = "https://shop.example"

// client is a browser stand-in speaking the wire protocol over a real websocket.
type client struct {
	t       testing.TB
	ws      *websocket.Conn
	welcome map[string]any
	backlog []map[string]any // frames read but not yet expected: frames of different kinds may come in any order
}

func dial(t testing.TB, g *apptest.Gateway, site, org string) (*client, *http.Response, error) {
	t.Helper()
	u := strings.Replace(g.URL, "http://", "ws://", 1) + "/webchat/" + site + "/ws"
	h := http.Header{}
	if org != "" {
		h.Set("Origin", org)
	}
	ws, resp, err := websocket.DefaultDialer.Dial(u, h)
	if err != nil {
		return nil, resp, err
	}
	c := &client{t: t, ws: ws}
	t.Cleanup(func() { _ = ws.Close() })
	return c, resp, nil
}

// connect dials the shop site and says hello with the given fields.
func connect(t testing.TB, g *apptest.Gateway, hello map[string]any) *client {
	t.Helper()
	c, _, err := dial(t, g, "shop", origin)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	if hello == nil {
		hello = map[string]any{}
	}
	hello["type"] = "hello"
	c.send(hello)
	c.welcome = c.expect("welcome", 10*time.Second)
	return c
}

func (c *client) token() string   { return c.welcome["token"].(string) }
func (c *client) visitor() string { return c.welcome["visitor_id"].(string) }

func (c *client) send(frame any) {
	c.t.Helper()
	if err := c.ws.WriteJSON(frame); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

// next reads one frame.
func (c *client) next(timeout time.Duration) (map[string]any, error) {
	_ = c.ws.SetReadDeadline(time.Now().Add(timeout))
	_, data, err := c.ws.ReadMessage()
	if err != nil {
		return nil, err
	}
	var f map[string]any
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("frame %q: %w", data, err)
	}
	return f, nil
}

// expect returns the first frame of type typ (and, for events, of one of the given event
// types), from the frames already read or new ones; other frames are kept for later expects.
func (c *client) expect(typ string, timeout time.Duration, events ...string) map[string]any {
	c.t.Helper()
	match := func(f map[string]any) bool {
		if f["type"] != typ {
			return false
		}
		for _, e := range events {
			if f["event"] == e {
				return true
			}
		}
		return len(events) == 0
	}
	for i, f := range c.backlog {
		if match(f) {
			c.backlog = append(c.backlog[:i:i], c.backlog[i+1:]...)
			return f
		}
	}
	deadline := time.Now().Add(timeout)
	for {
		f, err := c.next(time.Until(deadline))
		if err != nil {
			var seen []string
			for _, b := range c.backlog {
				seen = append(seen, fmt.Sprint(b["type"], "/", b["event"]))
			}
			c.t.Fatalf("waiting for %s %v: %v (unclaimed: %v)", typ, events, err, seen)
		}
		if match(f) {
			return f
		}
		c.backlog = append(c.backlog, f)
	}
}

// expectMessage waits for an event frame carrying a message by author.
func (c *client) expectMessage(author string, timeout time.Duration) map[string]any {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	var others []map[string]any
	defer func() { c.backlog = append(others, c.backlog...) }()
	for {
		f := c.expect("event", time.Until(deadline), "message")
		if m, _ := f["message"].(map[string]any); m != nil && m["author"] == author {
			return f
		}
		others = append(others, f)
	}
}

// closeCode reads until the socket closes and returns the close code (-1: no close frame).
func (c *client) closeCode(timeout time.Duration) int {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		_, err := c.next(time.Until(deadline))
		if err == nil {
			continue
		}
		if ce, ok := err.(*websocket.CloseError); ok {
			return ce.Code
		}
		return -1
	}
}

func (c *client) message(id, text string) {
	c.send(map[string]any{"type": "message", "id": id, "text": text})
}

func msgOf(f map[string]any) map[string]any { m, _ := f["message"].(map[string]any); return m }

func jsFilter(subject string) jetstream.OrderedConsumerConfig {
	return jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}}
}
