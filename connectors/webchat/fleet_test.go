package webchat_test

// A fleet of browser stand-ins in a separate process (this test binary re-run with
// WEBCHAT_FLEET set), so that the server's memory is measured without the clients' sockets.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// fleetSpec tells the fleet process what to do.
type fleetSpec struct {
	URL     string `json:"url"` // ws://host:port/path
	Origin  string `json:"origin"`
	Idle    int    `json:"idle"`    // sockets that say hello and then stay silent
	Active  int    `json:"active"`  // sockets that send messages and wait for each ack
	PerConn int    `json:"per"`     // messages per active socket
	Watch   int    `json:"watch"`   // sockets that open a conversation and count agent messages
	Expect  int    `json:"expect"`  // agent messages each watcher waits for
	Timeout int    `json:"timeout"` // seconds
}

// fleetResult is what the fleet reports.
type fleetResult struct {
	Connected int       `json:"connected"`
	Acks      int       `json:"acks"`
	Seconds   float64   `json:"seconds"`
	P50       float64   `json:"p50_ms,omitempty"`
	P99       float64   `json:"p99_ms,omitempty"`
	Convs     []string  `json:"conversations,omitempty"`
	Visitors  []string  `json:"visitors,omitempty"`
	Received  int       `json:"received"`
	LatP50    float64   `json:"lat_p50_ms,omitempty"`
	LatP99    float64   `json:"lat_p99_ms,omitempty"`
	Errors    []string  `json:"errors,omitempty"`
	Start     time.Time `json:"start"`
}

func TestMain(m *testing.M) {
	if spec := os.Getenv("WEBCHAT_FLEET"); spec != "" {
		os.Exit(runFleet(spec))
	}
	os.Exit(m.Run())
}

// raiseFileLimit lifts RLIMIT_NOFILE to its hard limit (10,000 sockets need it).
func raiseFileLimit() uint64 {
	var r syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r) == nil {
		r.Cur = r.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &r)
	}
	return r.Cur
}

// dialer spreads client sockets over 127.0.0.2-127.0.0.61 so 10,000 of them never run out of
// ephemeral ports on one address pair.
func dialer(i int) *websocket.Dialer {
	local := &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+i%60))}
	d := &net.Dialer{LocalAddr: local, Timeout: 10 * time.Second}
	return &websocket.Dialer{NetDialContext: d.DialContext, HandshakeTimeout: 10 * time.Second,
		ReadBufferSize: 512, WriteBufferSize: 512}
}

func hello(d *websocket.Dialer, spec fleetSpec) (*websocket.Conn, map[string]any, error) {
	ws, _, err := d.Dial(spec.URL, http.Header{"Origin": {spec.Origin}})
	if err != nil {
		return nil, nil, err
	}
	if err := ws.WriteJSON(map[string]any{"type": "hello"}); err != nil {
		return nil, nil, err
	}
	if strings.Contains(spec.URL, "/bare") {
		return ws, nil, nil
	}
	var w map[string]any
	_ = ws.SetReadDeadline(time.Now().Add(20 * time.Second))
	err = ws.ReadJSON(&w)
	_ = ws.SetReadDeadline(time.Time{})
	return ws, w, err
}

func runFleet(specJSON string) int {
	raiseFileLimit()
	var spec fleetSpec
	if err := json.Unmarshal([]byte(specJSON), &spec); err != nil {
		fmt.Println(`{"errors":["bad spec"]}`)
		return 2
	}
	res := fleetResult{}
	var conns []*websocket.Conn
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	for i := 0; i < spec.Idle; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			ws, _, err := hello(dialer(i), spec)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if len(res.Errors) < 5 {
					res.Errors = append(res.Errors, err.Error())
				}
				return
			}
			conns = append(conns, ws)
			go func() { // drain pings' pongs and anything else; stays idle otherwise
				for {
					if _, _, err := ws.ReadMessage(); err != nil {
						return
					}
				}
			}()
		}()
	}
	wg.Wait()
	res.Connected = len(conns)
	if spec.Active > 0 {
		ready, _ := json.Marshal(fleetResult{Connected: res.Connected, Errors: res.Errors})
		fmt.Println(string(ready)) // the parent starts its clock now
		time.Sleep(2 * time.Second)
		runActive(spec, &res)
	}
	if spec.Watch > 0 {
		runWatchers(spec, &res)
	}
	out, _ := json.Marshal(res)
	fmt.Println(string(out))
	_, _ = io.Copy(io.Discard, os.Stdin) // hold the sockets until the parent closes stdin
	for _, ws := range conns {
		_ = ws.Close()
	}
	return 0
}

// runActive: each active socket sends PerConn messages, each after the previous ack.
func runActive(spec fleetSpec, res *fleetResult) {
	var mu sync.Mutex
	var lat []float64
	var wg sync.WaitGroup
	start := time.Now()
	for a := 0; a < spec.Active; a++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ws, _, err := hello(dialer(a+7), spec)
			if err != nil {
				mu.Lock()
				res.Errors = append(res.Errors, err.Error())
				mu.Unlock()
				return
			}
			defer ws.Close()
			mine := make([]float64, 0, spec.PerConn)
			for i := 0; i < spec.PerConn; i++ {
				t0 := time.Now()
				if ws.WriteJSON(map[string]any{"type": "message", "id": fmt.Sprintf("m%d", i), "text": "load test message"}) != nil {
					return
				}
				for {
					var f map[string]any
					if ws.ReadJSON(&f) != nil {
						return
					}
					if f["type"] == "ack" {
						break
					}
					if f["type"] == "error" {
						mu.Lock()
						res.Errors = append(res.Errors, fmt.Sprint(f))
						mu.Unlock()
						return
					}
				}
				mine = append(mine, float64(time.Since(t0).Microseconds())/1000)
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.Seconds = time.Since(start).Seconds()
	res.Acks = len(lat)
	res.P50, res.P99 = percentile(lat, 50), percentile(lat, 99)
}

func percentile(v []float64, p float64) float64 {
	if len(v) == 0 {
		return 0
	}
	sort.Float64s(v)
	return v[min(len(v)-1, int(float64(len(v))*p/100))]
}

// runWatchers opens conversations, reports them, then counts agent messages until each
// watcher has Expect of them.
func runWatchers(spec fleetSpec, res *fleetResult) {
	type watcher struct {
		ws            *websocket.Conn
		conv, visitor string
	}
	ws := make([]watcher, spec.Watch)
	var wg sync.WaitGroup
	var mu sync.Mutex
	for i := range ws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, w, err := hello(dialer(i+13), spec)
			if err != nil {
				return
			}
			visitor, _ := w["visitor_id"].(string)
			_ = c.WriteJSON(map[string]any{"type": "message", "id": "open", "text": "please answer"})
			_ = c.SetReadDeadline(time.Now().Add(time.Duration(spec.Timeout) * time.Second))
			for {
				var f map[string]any
				if c.ReadJSON(&f) != nil {
					return
				}
				if f["type"] == "conversation" {
					mu.Lock()
					ws[i] = watcher{ws: c, conv: f["conversation_id"].(string), visitor: visitor}
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, w := range ws {
		if w.conv != "" {
			res.Convs = append(res.Convs, w.conv)
			res.Visitors = append(res.Visitors, w.visitor)
		}
	}
	// Tell the parent the conversations, then wait for its events.
	out, _ := json.Marshal(res)
	fmt.Println(string(out))
	res.Convs, res.Visitors = nil, nil
	var lat []float64
	received := 0
	start := time.Now()
	for _, w := range ws {
		if w.ws == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			got := 0
			for got < spec.Expect {
				var f struct {
					Type    string
					Message struct {
						Author, Text string
					}
				}
				if w.ws.ReadJSON(&f) != nil {
					return
				}
				if f.Type == "event" && f.Message.Author == "agent" {
					got++
					var sent int64
					fmt.Sscan(f.Message.Text, &sent)
					mu.Lock()
					if received == 0 {
						start = time.Now()
					}
					received++
					lat = append(lat, float64(time.Now().UnixNano()-sent)/1e6)
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	res.Received = received
	res.Seconds = time.Since(start).Seconds()
	res.LatP50, res.LatP99 = percentile(lat, 50), percentile(lat, 99)
}

// fleet runs a fleet process against spec and returns it, its result reader and a stop func.
type fleet struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Scanner
}

func startFleet(tb testing.TB, spec fleetSpec) *fleet {
	tb.Helper()
	data, _ := json.Marshal(spec)
	cmd := exec.CommandContext(context.Background(), os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "WEBCHAT_FLEET="+string(data))
	cmd.Stderr = os.Stderr
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	f := &fleet{cmd: cmd, stdin: stdin, out: bufio.NewScanner(stdout)}
	f.out.Buffer(make([]byte, 1<<20), 64<<20)
	tb.Cleanup(f.stop)
	return f
}

// result reads the fleet's next JSON line.
func (f *fleet) result(tb testing.TB) fleetResult {
	tb.Helper()
	for f.out.Scan() {
		var r fleetResult
		if json.Unmarshal(f.out.Bytes(), &r) == nil {
			return r
		}
	}
	tb.Fatalf("fleet ended without a result: %v", f.out.Err())
	return fleetResult{}
}

func (f *fleet) stop() {
	if f.stdin != nil {
		_ = f.stdin.Close()
		f.stdin = nil
		done := make(chan struct{})
		go func() { _ = f.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = f.cmd.Process.Kill()
			<-done
		}
	}
}
