package webchat_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/switchboardhq/switchboard/cmd/switchboard/app/apptest"
)

const perIPLimits = "per_ip: {max_sockets: 100000, handshakes_per_second: 100000, handshake_burst: 100000}"

// TestSocketsPerAddressAreCapped: one address may hold max_sockets sockets; the next
// handshake gets 429 with Retry-After (counted), and a slot frees when a socket closes.
func TestSocketsPerAddressAreCapped(t *testing.T) {
	g := apptest.Start(t, strings.Replace(testConfig, perIPLimits, "per_ip: {max_sockets: 5, handshakes_per_second: 1000, handshake_burst: 1000}", 1))
	var open []*client
	for i := 0; i < 5; i++ {
		open = append(open, connect(t, g, nil))
	}
	_, resp, err := dial(t, g, "shop", origin)
	if err == nil || resp == nil || resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("sixth socket: %v %v, want 429 with Retry-After", err, resp)
	}
	if n := metric(t, g, `switchboard_webchat_refused_total{reason="ip_sockets"}`); n != 1 {
		t.Fatalf("refusals counted: %v", n)
	}
	_ = open[0].ws.Close()
	apptest.Eventually(t, 10*time.Second, func() error {
		_, _, err := dial(t, g, "shop", origin)
		return err
	})
}

// TestHandshakesPerAddressAreRateLimited: a burst of handshakes from one address beyond the
// bucket is refused with 429 at once; others' sockets are not affected by it.
func TestHandshakesPerAddressAreRateLimited(t *testing.T) {
	g := apptest.Start(t, strings.Replace(testConfig, perIPLimits, "per_ip: {max_sockets: 1000, handshakes_per_second: 1, handshake_burst: 20}", 1))
	accepted, refused := 0, 0
	for i := 0; i < 200; i++ {
		c, resp, err := dial(t, g, "shop", origin)
		switch {
		case err == nil:
			accepted++
			_ = c.ws.Close()
		case resp != nil && resp.StatusCode == http.StatusTooManyRequests:
			refused++
		default:
			t.Fatalf("dial %d: %v", i, err)
		}
	}
	if accepted < 20 || accepted > 25 || refused != 200-accepted {
		t.Fatalf("accepted %d, refused %d of 200 handshakes with a burst of 20", accepted, refused)
	}
	if n := metric(t, g, `switchboard_webchat_refused_total{reason="ip_rate"}`); int(n) != refused {
		t.Fatalf("refusals counted: %v, want %d", n, refused)
	}
}

// TestSocketWithoutHelloGetsPolicyClose: a socket that says nothing is closed with 1008 and
// a reason, as the protocol documents, not cut without a close frame.
func TestSocketWithoutHelloGetsPolicyClose(t *testing.T) {
	g := apptest.Start(t, strings.Replace(testConfig, "rate:", "hello_timeout: 500ms\n    rate:", 1))
	c, _, err := dial(t, g, "shop", origin)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, _, err = c.ws.ReadMessage()
	ce, ok := err.(*websocket.CloseError)
	if !ok || ce.Code != websocket.ClosePolicyViolation || !strings.Contains(ce.Text, "hello") {
		t.Fatalf("silent socket ended with %v, want close 1008 naming hello", err)
	}
}
