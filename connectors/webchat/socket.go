package webchat

import (
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/zap"

	"github.com/switchboardhq/switchboard/connectors"
)

// Close codes this channel sends.
const (
	closeServiceRestart = 1012            // draining: reconnect (to another instance)
	closeGrace          = 2 * time.Second // wait for the browser's close reply
	maxViolations       = 20              // rate-limited frames in a row before the socket is closed
)

// serveSocket upgrades GET /webchat/{site}/ws. The reader goroutine started here is the only
// goroutine the socket owns.
func (c *Connector) serveSocket(w http.ResponseWriter, r *http.Request) {
	st := c.sites[r.PathValue("site")]
	if st == nil {
		connectors.WriteError(w, connectors.NotFound("no webchat site %q", r.PathValue("site")))
		return
	}
	rt, err := c.runtime(r.Context())
	if err != nil {
		if !errors.Is(err, errDraining) {
			c.log.Error("webchat runtime did not start", zap.Error(err))
		}
		w.Header().Set("Retry-After", "1")
		connectors.WriteError(w, &connectors.HTTPError{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "chat is unavailable, retry"})
		return
	}
	if !st.allowsOrigin(r) {
		c.metrics.refused.WithLabelValues("origin").Inc()
	}
	addr := c.perIP.clientAddr(r)
	if refusal, retry := c.perIP.admit(addr, time.Now()); refusal != ipOK {
		reason, msg := "ip_sockets", "too many chat connections from your address"
		if refusal == ipTooFast {
			reason, msg = "ip_rate", "too many new chat connections from your address; slow down"
		}
		c.metrics.refused.WithLabelValues(reason).Inc()
		connectors.WriteError(w, connectors.RateLimited(retry, "%s", msg))
		return
	}
	ws, err := c.upgrader.Upgrade(w, r, nil)
	if err != nil {
		c.perIP.release(addr)
		return // the upgrader answered (403 for a foreign origin)
	}
	s := &conn{c: c, rt: rt, ws: ws, site: st, addr: addr, limiter: newBucket(c.lim.rate, c.lim.burst, time.Now())}
	rt.hub.add(s)
	c.metrics.connections.Inc()
	go s.read()
}

// read is the socket's reader: it handles frames until the socket fails or closes.
func (s *conn) read() {
	defer s.cleanup()
	defer s.recoverPanic("reader")
	ws := s.ws
	ws.SetReadLimit(int64(s.c.lim.maxFrame))
	_ = ws.SetReadDeadline(time.Now().Add(s.c.lim.hello))
	ws.SetPongHandler(func(string) error { return ws.SetReadDeadline(s.deadline()) })
	for {
		typ, r, err := ws.NextReader()
		if err != nil {
			s.readFailed(err)
			return
		}
		if typ != websocket.TextMessage {
			s.closeWith(websocket.CloseUnsupportedData, "text frames only")
			return
		}
		data, err := io.ReadAll(r)
		if err != nil {
			s.readFailed(err)
			return
		}
		if s.helloed() {
			_ = ws.SetReadDeadline(s.deadline())
		}
		if !s.handle(data) {
			return
		}
	}
}

// recoverPanic turns a bug in this socket's handling into a closed socket and a log line,
// never a crashed gateway.
func (s *conn) recoverPanic(where string) {
	if p := recover(); p != nil {
		s.c.log.Error("webchat socket panic", zap.String("in", where), zap.Any("panic", p), zap.Stack("stack"))
		s.c.metrics.disconnects.WithLabelValues("panic").Inc()
		_ = s.ws.Close()
	}
}

// deadline is when a silent socket is given up: a ping interval plus the pong timeout.
func (s *conn) deadline() time.Time {
	return time.Now().Add(s.c.lim.ping + s.c.lim.pongTimeout)
}

func (s *conn) readFailed(err error) {
	reason := "closed"
	switch {
	case errors.Is(err, websocket.ErrReadLimit):
		reason = "read_limit" // gorilla has sent close 1009
	case s.killedFor() != "":
		reason = s.killedFor()
	case websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway, closeServiceRestart):
	default:
		var ne interface{ Timeout() bool }
		if errors.As(err, &ne) && ne.Timeout() {
			if !s.helloed() { // say why, as the protocol documents (1008), not just hang up
				s.closeWith(websocket.ClosePolicyViolation, "say hello first (within "+s.c.lim.hello.String()+")")
				return
			}
			reason = "timeout"
		} else if !websocket.IsCloseError(err, websocket.CloseNoStatusReceived, websocket.CloseAbnormalClosure) {
			reason = "error"
		}
	}
	s.c.metrics.disconnects.WithLabelValues(reason).Inc()
}

// closeWith sends a close frame directly (the reader is ending) and closes the socket.
func (s *conn) closeWith(code int, text string) {
	_ = s.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, text), time.Now().Add(time.Second))
	s.c.metrics.disconnects.WithLabelValues(closeReason(code)).Inc()
}

func closeReason(code int) string {
	switch code {
	case websocket.ClosePolicyViolation:
		return "policy"
	case websocket.CloseUnsupportedData:
		return "unsupported"
	}
	return "closed"
}

// cleanup runs when the reader ends: the socket leaves every index and is closed.
func (s *conn) cleanup() {
	s.mu.Lock()
	s.closed = true
	stopWatch := s.stopWatch
	s.stopWatch = nil
	visitor, conv := s.visitorKey(), s.conv
	s.queue, s.queued = nil, 0
	s.mu.Unlock()
	if stopWatch != nil {
		stopWatch()
	}
	s.rt.pinger.remove(s)
	s.rt.hub.remove(s, visitor, conv)
	_ = s.ws.Close()
	s.c.perIP.release(s.addr)
	s.c.metrics.connections.Dec()
}
