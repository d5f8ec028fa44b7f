package connectors

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/switchboardhq/switchboard/pipeline/kernel"
	"github.com/switchboardhq/switchboard/schema"
)

type recordRejections struct {
	mu   sync.Mutex
	list []*Rejection
}

func (r *recordRejections) Reject(rej *Rejection) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.list = append(r.list, rej)
}

func serveOne(t *testing.T, in *Intake, ep Endpoint, req *http.Request) (*httptest.ResponseRecorder, map[string]any) {
	t.Helper()
	rec := httptest.NewRecorder()
	in.Handler(ep).ServeHTTP(rec, req)
	var body map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &body)
	return rec, body
}

func errCode(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

func TestIntakeMapsErrorsToAnswers(t *testing.T) {
	rej := &recordRejections{}
	in := NewIntake(IntakeOptions{MaxBody: 64, Rejections: rej})
	cases := []struct {
		name   string
		err    error
		status int
		code   string
		reject bool
	}{
		{"bad field", BadField("text", "is required"), 400, "invalid_field", false},
		{"unauthorized", Unauthorized("no"), 401, "unauthorized", true},
		{"forbidden", Forbidden("bad_signature", "nope"), 403, "bad_signature", true},
		{"store down", kernel.ErrUnavailable, 503, "unavailable", false},
		{"deadline", context.DeadlineExceeded, 503, "unavailable", false},
		{"bug", errors.New("boom"), 500, "internal", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := len(rej.list)
			ep := Endpoint{Method: "POST", Path: "/x", Channel: schema.ChannelSMS,
				Handle: func(context.Context, *Request) (*Response, error) { return nil, c.err }}
			rec, body := serveOne(t, in, ep, httptest.NewRequest("POST", "/x", strings.NewReader("a=1")))
			if rec.Code != c.status || errCode(body) != c.code {
				t.Fatalf("got %d %v, want %d %s", rec.Code, body, c.status, c.code)
			}
			if got := len(rej.list) > before; got != c.reject {
				t.Fatalf("recorded a rejection: %v, want %v", got, c.reject)
			}
		})
	}
}

func TestIntakeLimitsBodies(t *testing.T) {
	in := NewIntake(IntakeOptions{MaxBody: 16})
	called := false
	ep := Endpoint{Method: "POST", Path: "/x", Handle: func(context.Context, *Request) (*Response, error) {
		called = true
		return nil, nil
	}}
	req := httptest.NewRequest("POST", "/x", strings.NewReader(strings.Repeat("a", 17)))
	rec, body := serveOne(t, in, ep, req)
	if rec.Code != 413 || errCode(body) != "too_large" || called {
		t.Fatalf("declared length: %d %v called=%v", rec.Code, body, called)
	}
	req = httptest.NewRequest("POST", "/x", io.NopCloser(strings.NewReader(strings.Repeat("a", 17))))
	req.ContentLength = -1 // chunked: only the reader notices
	rec, _ = serveOne(t, in, ep, req)
	if rec.Code != 413 || called {
		t.Fatalf("chunked: %d called=%v", rec.Code, called)
	}
}

func TestIntakeRedactsRejectedCredentials(t *testing.T) {
	rej := &recordRejections{}
	in := NewIntake(IntakeOptions{Rejections: rej})
	ep := Endpoint{Method: "POST", Path: "/x", Channel: schema.ChannelTelegram,
		Handle: func(context.Context, *Request) (*Response, error) { return nil, Forbidden("bad_secret", "no") }}
	req := httptest.NewRequest("POST", "/x", strings.NewReader(strings.Repeat("b", 5000)))
	req.Header.Set("Authorization", "Bearer hunter2")
	req.Header.Set("X-Telegram-Bot-Api-Secret-Token", "hunter3")
	req.Header.Set("X-Hub-Signature-256", "sha256=abc")
	serveOne(t, in, ep, req)
	r := rej.list[0]
	data, _ := json.Marshal(r)
	if strings.Contains(string(data), "hunter2") || strings.Contains(string(data), "hunter3") {
		t.Fatalf("credentials leaked into the forensic record: %s", data)
	}
	if r.Header["X-Hub-Signature-256"][0] != "sha256=abc" || len(r.Body) != MaxRejectedBody || r.BodyBytes != 5000 {
		t.Fatalf("record: %+v", r)
	}
}

func TestIntakeAnswers503WhenOverloaded(t *testing.T) {
	in := NewIntake(IntakeOptions{MaxInFlight: 2})
	release := make(chan struct{})
	entered := make(chan struct{}, 2)
	ep := Endpoint{Method: "POST", Path: "/x", Handle: func(context.Context, *Request) (*Response, error) {
		entered <- struct{}{}
		<-release
		return Text(200, "text/plain", "ok"), nil
	}}
	var wg sync.WaitGroup
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); serveOne(t, in, ep, httptest.NewRequest("POST", "/x", nil)) }()
	}
	<-entered
	<-entered
	start := time.Now()
	rec, body := serveOne(t, in, ep, httptest.NewRequest("POST", "/x", nil))
	if rec.Code != 503 || errCode(body) != "unavailable" || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("third request: %d %v", rec.Code, body)
	}
	if time.Since(start) > time.Second {
		t.Fatal("an overloaded intake must answer at once, not queue")
	}
	close(release)
	wg.Wait()
}

func TestIntakeDrainWaitsForInFlightAndRefusesNew(t *testing.T) {
	in := NewIntake(IntakeOptions{})
	release := make(chan struct{})
	entered := make(chan struct{})
	ep := Endpoint{Method: "POST", Path: "/x", Handle: func(context.Context, *Request) (*Response, error) {
		close(entered)
		<-release
		return JSON(202, map[string]string{"id": "1"}), nil
	}}
	done := make(chan int)
	go func() {
		rec, _ := serveOne(t, in, ep, httptest.NewRequest("POST", "/x", nil))
		done <- rec.Code
	}()
	<-entered
	drained := make(chan error)
	go func() { drained <- in.Drain(context.Background()) }()
	for !in.Draining() {
		time.Sleep(time.Millisecond)
	}
	if rec, _ := serveOne(t, in, ep, httptest.NewRequest("POST", "/x", nil)); rec.Code != 503 {
		t.Fatalf("new request while draining: %d", rec.Code)
	}
	select {
	case <-drained:
		t.Fatal("Drain returned while a request was in flight")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if code := <-done; code != 202 {
		t.Fatalf("in-flight request answered %d", code)
	}
	if err := <-drained; err != nil {
		t.Fatal(err)
	}
}

func TestIntakeRecoversPanics(t *testing.T) {
	in := NewIntake(IntakeOptions{})
	ep := Endpoint{Method: "POST", Path: "/x", Handle: func(context.Context, *Request) (*Response, error) {
		panic("malformed payload")
	}}
	rec, body := serveOne(t, in, ep, httptest.NewRequest("POST", "/x", nil))
	if rec.Code != 500 || errCode(body) != "internal" {
		t.Fatalf("%d %v", rec.Code, body)
	}
}

func TestIntakeRebuildsPublicURL(t *testing.T) {
	var got string
	ep := Endpoint{Method: "POST", Path: "/hook", Handle: func(_ context.Context, r *Request) (*Response, error) {
		got = r.PublicURL
		return nil, nil
	}}
	in := NewIntake(IntakeOptions{PublicURL: "https://gw.example.com/base/"})
	serveOne(t, in, ep, httptest.NewRequest("POST", "http://10.0.0.5:8080/hook?a=1&b=2", nil))
	if got != "https://gw.example.com/base/hook?a=1&b=2" {
		t.Fatalf("public URL %q", got)
	}
}

// A client that sends its headers and then trickles (or stalls) its body is cut off at the
// handler deadline with 408, so it cannot hold an in-flight slot for long.
func TestIntakeCutsOffSlowBodies(t *testing.T) {
	in := NewIntake(IntakeOptions{Timeout: 300 * time.Millisecond, MaxInFlight: 1})
	ep := Endpoint{Method: "POST", Path: "/hook", Handle: func(context.Context, *Request) (*Response, error) {
		return Text(200, "text/plain", "ok"), nil
	}}
	mux := http.NewServeMux()
	in.Mount(mux, ep)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second)) // fail rather than hang
	start := time.Now()
	fmt.Fprintf(conn, "POST /hook HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly-a-little")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestTimeout || time.Since(start) > 5*time.Second {
		t.Fatalf("stalled body: %d after %v, want 408 at the deadline", resp.StatusCode, time.Since(start))
	}
	// The slot is free again: a normal request is served.
	r, err := http.Post(srv.URL+"/hook", "text/plain", strings.NewReader("hi"))
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != 200 {
		t.Fatalf("after the slow client: %d", r.StatusCode)
	}
}

func FuzzDecodeJSONRefusesInvalidUTF8(f *testing.F) {
	f.Add([]byte("{\"text\":\"caf\xe9\"}"))
	f.Add([]byte(`{"a":[{"b":"ok"}]}`))
	f.Add([]byte("{\"a\":[1,{\"\xff\":2}]}"))
	f.Fuzz(func(t *testing.T, body []byte) {
		var v any
		err := DecodeJSON(body, &v)
		if !utf8.Valid(body) {
			var he *HTTPError
			if !errors.As(err, &he) || he.Status != 400 || he.Field == "" {
				t.Fatalf("invalid UTF-8 %q: %v", body, err)
			}
		}
	})
}
