package webchat

import (
	"net/netip"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/switchboardhq/switchboard/schema"
)

// conn is one browser socket. Its reader goroutine handles frames; writes are queued here and
// done by the shared writers; feed and signal callbacks only queue frames.
type conn struct {
	c       *Connector
	rt      *runtime
	ws      *websocket.Conn
	site    *site
	addr    netip.Addr // the client's address, for the per-IP limits
	limiter bucket

	// Set by hello (reader goroutine), read by callbacks under mu.
	visitor  string
	verified bool
	profile  *schema.Profile
	name     string
	page     string

	mu         sync.Mutex
	queue      []outFrame
	queued     int    // bytes in queue
	scheduled  bool   // queued for a writer
	pingDue    bool   // the writer sends a ping
	closeMsg   []byte // the writer sends this close frame once nothing is being published
	closeSent  bool
	publishing bool // a message is being stored: its ack precedes any close frame
	closed     bool
	killed     string // why the socket was cut (slow, write error)
	reason     string // why the server is closing it (policy), for the disconnect metric
	violations int

	conv       string    // the visitor's current conversation
	convClosed bool      // it was resolved: the next message may open another
	awaiting   time.Time // since when a stored message's conversation is awaited (zero: not)
	stopWatch  func()
	seen       uint64 // the browser has seen events up to here (no delivered status for those)
	lastMsg    string // id of the last message this socket stored
	recent     []recentOut
}

// outFrame is a queued frame; delivered names an agent message to report as delivered once
// the frame is written.
type outFrame struct {
	data      []byte
	delivered string
}

// recentOut is an agent message this socket pushed (read receipts may name it).
type recentOut struct {
	id   string
	seq  uint64
	read bool
}

const maxRecent = 16

func (s *conn) helloed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.visitor != ""
}

func (s *conn) visitorKey() string {
	if s.visitor == "" {
		return ""
	}
	return visitorAddress(s.site.name, s.visitor)
}

// killedFor is why the server ended the socket ("" when the browser did).
func (s *conn) killedFor() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.killed != "" {
		return s.killed
	}
	return s.reason
}

// handle dispatches one frame; false ends the reader.
func (s *conn) handle(data []byte) bool {
	if !s.limiter.take(nowFunc()) {
		return s.rateLimited(data)
	}
	s.mu.Lock()
	s.violations = 0
	closing := s.closeMsg != nil
	s.mu.Unlock()
	if closing {
		return true // draining: not handled, not acknowledged; the widget resends
	}
	f, perr := decodeFrame(data, s.c.lim.maxText)
	if perr != nil {
		s.c.metrics.frames.WithLabelValues("invalid").Inc()
		s.sendError(frameID(data), perr.code, perr.msg, 0)
		return true
	}
	s.c.metrics.frames.WithLabelValues(f.Type).Inc()
	if f.Type == frameHello {
		return s.hello(f)
	}
	if !s.helloed() {
		s.closeWith(websocket.ClosePolicyViolation, "say hello first")
		return false
	}
	switch f.Type {
	case frameMessage:
		s.message(f, data)
	case frameTyping:
		s.typing(f.State)
	case frameRead:
		s.readReceipt(f.MessageID)
	}
	return true
}

func (s *conn) rateLimited(data []byte) bool {
	s.mu.Lock()
	s.violations++
	n := s.violations
	s.mu.Unlock()
	s.c.metrics.frames.WithLabelValues("rate_limited").Inc()
	if n > maxViolations {
		// After the error frames already queued; the reader ignores what follows.
		s.mu.Lock()
		s.reason = "policy"
		s.mu.Unlock()
		s.shutdown(websocket.ClosePolicyViolation, "rate limit exceeded")
		return true
	}
	s.sendError(frameID(data), "rate_limited", "too many frames; slow down", s.limiter.wait(nowFunc()).Milliseconds()+1)
	return true
}

func (s *conn) sendError(id, code, msg string, retryAfterMS int64) {
	s.enqueue(outFrame{data: encode(errorFrame{Type: "error", ID: id, Code: code, Message: msg, RetryAfter: retryAfterMS})})
}
