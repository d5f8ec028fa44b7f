package webchat

import (
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/zap"

	"github.com/switchboardhq/switchboard/schema"
)

// writerPool is a fixed set of goroutines that write every socket's queued frames, so an idle
// socket needs no writer goroutine of its own. A socket is in the ready list at most once.
type writerPool struct {
	c       *Connector
	mu      sync.Mutex
	cond    *sync.Cond
	ready   []*conn
	stopped bool
	wg      sync.WaitGroup
}

func newWriterPool(c *Connector, n int) *writerPool {
	p := &writerPool{c: c}
	p.cond = sync.NewCond(&p.mu)
	for i := 0; i < n; i++ {
		p.wg.Add(1)
		go p.run()
	}
	return p
}

func (p *writerPool) schedule(s *conn) {
	p.mu.Lock()
	p.ready = append(p.ready, s)
	p.mu.Unlock()
	p.cond.Signal()
}

func (p *writerPool) run() {
	defer p.wg.Done()
	for {
		p.mu.Lock()
		for len(p.ready) == 0 && !p.stopped {
			p.cond.Wait()
		}
		if p.stopped {
			p.mu.Unlock()
			return
		}
		s := p.ready[0]
		p.ready[0] = nil
		p.ready = p.ready[1:]
		p.mu.Unlock()
		p.flush(s)
	}
}

// flush writes one socket's frames; a panic cuts that socket, not the writer.
func (p *writerPool) flush(s *conn) {
	defer s.recoverPanic("writer")
	s.flush()
}

func (p *writerPool) stop() {
	p.mu.Lock()
	p.stopped = true
	p.mu.Unlock()
	p.cond.Broadcast()
	p.wg.Wait()
}

// enqueue queues a frame; a socket with more than send_queue bytes waiting is too slow and is
// cut (a reconnecting browser resumes after the last event it got, so even a huge catch-up
// converges).
func (s *conn) enqueue(f outFrame) {
	s.mu.Lock()
	if s.closed || s.closeSent || s.killed != "" {
		s.mu.Unlock()
		return
	}
	if s.queued+len(f.data) > s.c.lim.sendQueue {
		s.mu.Unlock()
		s.kill("slow")
		return
	}
	s.queue = append(s.queue, f)
	s.queued += len(f.data)
	s.wakeLocked()
	s.mu.Unlock()
}

// wakeLocked schedules the socket for a writer unless it is scheduled. Called with s.mu held.
func (s *conn) wakeLocked() {
	if !s.scheduled {
		s.scheduled = true
		s.rt.writers.schedule(s)
	}
}

// ping asks a writer to ping the socket (called by the ping wheel).
func (s *conn) ping() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.closeSent {
		return
	}
	s.pingDue = true
	s.wakeLocked()
}

// shutdown asks for a close frame after what is queued and after the message being stored.
func (s *conn) shutdown(code int, text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.closeMsg != nil {
		return
	}
	s.closeMsg = websocket.FormatCloseMessage(code, text)
	s.wakeLocked()
}

// kill cuts the socket at once (slow client, failed write); the reader then ends.
func (s *conn) kill(reason string) {
	s.mu.Lock()
	if s.killed != "" || s.closed {
		s.mu.Unlock()
		return
	}
	s.killed = reason
	s.queue, s.queued = nil, 0
	s.mu.Unlock()
	_ = s.ws.Close()
}

// flush writes what is queued (a writer goroutine; one at a time per socket).
func (s *conn) flush() {
	s.mu.Lock()
	frames := s.queue
	s.queue, s.queued = nil, 0
	ping := s.pingDue
	s.pingDue = false
	var closeMsg []byte
	if s.closeMsg != nil && !s.closeSent && !s.publishing {
		closeMsg, s.closeSent = s.closeMsg, true
	}
	dead := s.closed || s.killed != ""
	s.mu.Unlock()
	if !dead {
		s.write(frames, ping, closeMsg)
	}
	s.mu.Lock()
	if len(s.queue) > 0 || s.pingDue || (s.closeMsg != nil && !s.closeSent && !s.publishing) {
		s.rt.writers.schedule(s) // more came meanwhile: back of the line
	} else {
		s.scheduled = false
	}
	s.mu.Unlock()
}

func (s *conn) write(frames []outFrame, ping bool, closeMsg []byte) {
	deadline := time.Now().Add(s.c.lim.writeTimeout)
	_ = s.ws.SetWriteDeadline(deadline)
	for _, f := range frames {
		if err := s.ws.WriteMessage(websocket.TextMessage, f.data); err != nil {
			s.writeFailed(err)
			return
		}
		if f.delivered != "" {
			s.rt.statuses.push(&schema.StatusUpdate{Channel: schema.ChannelWebchat, Account: s.site.name,
				MessageID: f.delivered, Status: schema.StatusDelivered})
		}
	}
	if ping {
		if err := s.ws.WriteControl(websocket.PingMessage, nil, deadline); err != nil {
			s.writeFailed(err)
			return
		}
	}
	if closeMsg != nil {
		if err := s.ws.WriteControl(websocket.CloseMessage, closeMsg, deadline); err != nil {
			s.writeFailed(err)
			return
		}
		// The browser answers with its own close frame, which ends the reader; if it does
		// not, the read deadline does.
		_ = s.ws.NetConn().SetReadDeadline(time.Now().Add(closeGrace))
	}
}

func (s *conn) writeFailed(err error) {
	s.c.log.Debug("webchat write failed", zap.Error(err))
	s.kill("write_failed")
}
