package webchat_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/switchboardhq/switchboard/cmd/switchboard/app/apptest"
	"github.com/switchboardhq/switchboard/pipeline/streams"
)

// TestSlowClientIsCut: a browser that stops reading is disconnected once its bounded queue is
// full; the gateway neither blocks nor grows.
func TestSlowClientIsCut(t *testing.T) {
	g := apptest.Start(t, strings.Replace(testConfig, "rate:", "send_queue: 4KiB\n    write_timeout: 1s\n    rate:", 1))
	c := connect(t, g, nil)
	c.message("s1", "hi")
	c.expect("ack", 5*time.Second)
	conv := c.expect("conversation", 10*time.Second)["conversation_id"].(string)
	// From now on the client reads nothing; agents' typing indicators pile up.
	agent, _ := json.Marshal(map[string]any{"conversation_id": conv, "actor": "agent:ann", "state": "start"})
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		for i := 0; i < 2000; i++ {
			_ = g.NC.Publish("sb.signal.conv."+conv+".typing", agent)
		}
		_ = g.NC.Flush()
		if metric(t, g, `switchboard_webchat_disconnects_total{reason="slow"}`) >= 1 {
			return
		}
	}
	t.Fatal("the slow client was never disconnected")
}

// metric reads one sample from /metrics (0 when absent).
func metric(t *testing.T, g *apptest.Gateway, series string) float64 {
	t.Helper()
	resp, err := http.Get(g.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			var v float64
			fmt.Sscan(rest, &v)
			return v
		}
	}
	return 0
}

// TestShutdownLosesNothing: while visitors keep writing, the gateway stops. Every socket gets
// close 1012; every acknowledged message is stored; after a restart the widget's resends of
// unacknowledged messages complete the set without duplicates.
func TestShutdownLosesNothing(t *testing.T) {
	dir := t.TempDir()
	g := apptest.Start(t, testConfig, apptest.Options{DataDir: dir})
	const writers = 4
	type result struct {
		token  string
		sent   []string
		acked  map[string]string
		closed int
	}
	results := make(chan result, writers)
	for w := 0; w < writers; w++ {
		c := connect(t, g, nil)
		go func() {
			r := result{token: c.token(), acked: map[string]string{}}
			wrote := make(chan struct{})
			go func() {
				defer close(wrote)
				for i := 0; ; i++ {
					id := fmt.Sprintf("w%d", i)
					if c.ws.WriteJSON(map[string]any{"type": "message", "id": id, "text": id}) != nil {
						return
					}
					r.sent = append(r.sent, id) // written before the close: may or may not be stored
					time.Sleep(2 * time.Millisecond)
				}
			}()
			for {
				f, err := c.next(20 * time.Second)
				if err != nil {
					if ce, ok := err.(*websocket.CloseError); ok {
						r.closed = ce.Code
					}
					_ = c.ws.Close()
					<-wrote
					results <- r
					return
				}
				if f["type"] == "ack" {
					r.acked[f["id"].(string)] = f["message_id"].(string)
				}
			}
		}()
	}
	time.Sleep(500 * time.Millisecond)
	g.Stop()
	var all []result
	for w := 0; w < writers; w++ {
		all = append(all, <-results)
	}
	g2 := apptest.Start(t, testConfig, apptest.Options{DataDir: dir})
	stored := storedIDs(t, g2)
	for _, r := range all {
		if r.closed != 1012 {
			t.Fatalf("socket closed with %d, want 1012 (service restart)", r.closed)
		}
		if len(r.acked) == 0 {
			t.Fatal("no message was acknowledged before the stop")
		}
		for cid, mid := range r.acked {
			if !stored[mid] {
				t.Fatalf("acknowledged message %s (%s) was lost", cid, mid)
			}
		}
		// The widget resends everything it has no ack for; the restarted gateway stores each once.
		c := connect(t, g2, map[string]any{"token": r.token})
		for _, id := range r.sent {
			if _, ok := r.acked[id]; !ok {
				c.message(id, id)
				c.expect("ack", 5*time.Second)
			}
		}
	}
	total := 0
	for _, r := range all {
		total += len(r.sent)
	}
	if n := g2.StreamCount(streams.StreamInbound, "sb.in.webchat.>"); n != uint64(total) {
		t.Fatalf("%d messages stored, want exactly the %d sent", n, total)
	}
}

// storedIDs lists the webchat message ids in SB_INBOUND.
func storedIDs(t *testing.T, g *apptest.Gateway) map[string]bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n := int(g.StreamCount(streams.StreamInbound, "sb.in.webchat.>"))
	out := map[string]bool{}
	if n == 0 {
		return out
	}
	cons, err := g.JS.OrderedConsumer(ctx, streams.StreamInbound, jsFilter("sb.in.webchat.>"))
	if err != nil {
		t.Fatal(err)
	}
	for len(out) < n {
		m, err := cons.Next()
		if err != nil {
			t.Fatal(err)
		}
		var v struct{ ID string }
		_ = json.Unmarshal(m.Data(), &v)
		out[v.ID] = true
	}
	return out
}

// TestUploads: a visitor uploads a file and sends it; the agent side sees the attachment and
// the visitor gets a signed link that serves the bytes. Bad types, lies and other visitors'
// tokens are refused.
func TestUploads(t *testing.T) {
	g := apptest.Start(t, testConfig)
	c := connect(t, g, nil)
	png := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{0}, 100)...)
	up := func(token, ctype string, body []byte) (int, map[string]any) {
		req, _ := http.NewRequest("POST", g.URL+"/webchat/shop/uploads?name=photo.png", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", ctype)
		req.Header.Set("Origin", origin)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&b)
		if resp.Header.Get("Access-Control-Allow-Origin") != origin {
			t.Fatalf("upload answer lacks CORS for the site's origin")
		}
		return resp.StatusCode, b
	}
	if s, _ := up("nope", "image/png", png); s != 401 {
		t.Fatalf("bad token: %d", s)
	}
	if s, _ := up(c.token(), "text/html", []byte("<html>")); s != 415 {
		t.Fatalf("html upload: %d", s)
	}
	if s, _ := up(c.token(), "image/png", []byte("<html><script>alert(1)</script>")); s != 415 {
		t.Fatalf("html posing as png: %d", s)
	}
	if s, _ := up(c.token(), "image/png", bytes.Repeat(png, 200000)); s != 413 {
		t.Fatalf("oversized upload: %d", s)
	}
	s, b := up(c.token(), "image/png", png)
	if s != 201 || b["attachment"] == "" {
		t.Fatalf("upload: %d %v", s, b)
	}
	other := connect(t, g, nil)
	other.send(map[string]any{"type": "message", "id": "steal", "attachments": []string{b["attachment"].(string)}})
	if e := other.expect("error", 5*time.Second); e["code"] != "bad_attachment" || e["id"] != "steal" {
		t.Fatalf("someone else's attachment: %v", e)
	}
	c.send(map[string]any{"type": "message", "id": "pic", "attachments": []string{b["attachment"].(string)}})
	c.expect("ack", 5*time.Second)
	conv := c.expect("conversation", 10*time.Second)["conversation_id"].(string)
	f := c.expectMessage("visitor", 10*time.Second)
	atts, _ := msgOf(f)["attachments"].([]any)
	if len(atts) != 1 {
		t.Fatalf("attachments in event: %v", f)
	}
	link := atts[0].(map[string]any)["url"].(string)
	resp, err := http.Get(g.URL + link)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(got, png) || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("download: %d %d bytes", resp.StatusCode, len(got))
	}
	if resp, _ := http.Get(g.URL + strings.Replace(link, "&s=", "&s=x", 1)); resp.StatusCode != 403 {
		t.Fatalf("tampered link: %d", resp.StatusCode)
	}
	m := g.Events("sb.conv."+conv+".message", 1, 5*time.Second)[0].Message
	if len(m.Attachments) != 1 || m.Attachments[0].Key == "" || m.Attachments[0].ContentType != "image/png" {
		t.Fatalf("stored attachment: %+v", m.Attachments)
	}
}

// socketReaders counts the goroutines the webchat connector started for sockets (their
// readers), and all goroutines of the process.
func socketReaders() (readers, all int) {
	buf := make([]byte, 16<<20)
	buf = buf[:runtime.Stack(buf, true)]
	for _, g := range strings.Split(string(buf), "\n\n") {
		all++
		if strings.Contains(g, "created by github.com/switchboardhq/switchboard/connectors/webchat.(*Connector).serveSocket") {
			readers++
		}
	}
	return readers, all
}

// TestIdleSocketsCostOneGoroutine guards the memory design: an idle socket (after hello) owns
// exactly one goroutine, its reader; writes and pings come from shared goroutines. Counted
// by who started them, so the gateway's other goroutines coming and going on a busy machine
// do not move the figure; the process total must not grow by more than one per socket either.
func TestIdleSocketsCostOneGoroutine(t *testing.T) {
	g := apptest.Start(t, testConfig)
	connect(t, g, nil) // starts the shared writers, pinger and listeners
	time.Sleep(200 * time.Millisecond)
	readers0, all0 := socketReaders()
	const n = 200
	for i := 0; i < n; i++ {
		connect(t, g, nil) // the test's client sockets start no goroutines (nobody reads them)
	}
	apptest.Eventually(t, 15*time.Second, func() error {
		readers, all := socketReaders()
		if readers-readers0 != n || all-all0 > n+10 {
			return fmt.Errorf("%d idle sockets added %d socket goroutines and %d in all, want %d (at most %d in all)",
				n, readers-readers0, all-all0, n, n+10)
		}
		return nil
	})
}

// TestPingPongDeadlines: a browser that answers pings stays; one that stops answering is
// closed after ping_interval + pong_timeout.
func TestPingPongDeadlines(t *testing.T) {
	g := apptest.Start(t, strings.Replace(testConfig, "rate:", "ping_interval: 1s\n    pong_timeout: 1s\n    rate:", 1))
	alive := connect(t, g, nil)
	silent := connect(t, g, nil)
	done := make(chan error, 1)
	go func() { // reading answers pings (gorilla replies with a pong inside ReadMessage)
		for {
			if _, _, err := alive.ws.ReadMessage(); err != nil {
				done <- err
				return
			}
		}
	}()
	apptest.Eventually(t, 10*time.Second, func() error {
		if n := metric(t, g, `switchboard_webchat_disconnects_total{reason="timeout"}`); n < 1 {
			return fmt.Errorf("the silent socket is still open")
		}
		return nil
	})
	select {
	case err := <-done:
		t.Fatalf("the socket answering pings was closed: %v", err)
	default:
	}
	if metric(t, g, "switchboard_webchat_connections") != 1 {
		t.Fatal("want exactly the answering socket left")
	}
	if code := silent.closeCode(5 * time.Second); code != -1 && code != websocket.CloseAbnormalClosure {
		t.Fatalf("silent socket ended with close %d, want a cut connection", code)
	}
}
