package webchat

import (
	"sync"
	"time"
)

// pinger is a timer wheel with one slot per second of the ping interval: each tick asks the
// sockets of one slot for a ping, so every socket is pinged once per interval by a single
// goroutine instead of a ticker each.
type pinger struct {
	mu    sync.Mutex
	slots []map[*conn]struct{}
	at    map[*conn]int
	next  int
	done  chan struct{}
	wg    sync.WaitGroup
}

func newPinger(interval time.Duration) *pinger {
	n := max(int(interval/time.Second), 1)
	p := &pinger{slots: make([]map[*conn]struct{}, n), at: map[*conn]int{}, done: make(chan struct{})}
	for i := range p.slots {
		p.slots[i] = map[*conn]struct{}{}
	}
	p.wg.Add(1)
	go p.run()
	return p
}

// add puts s in the slot that comes round last, so its first ping is a full interval away.
func (p *pinger) add(s *conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.at[s]; ok {
		return
	}
	slot := (p.next + len(p.slots) - 1) % len(p.slots)
	p.slots[slot][s] = struct{}{}
	p.at[s] = slot
}

func (p *pinger) remove(s *conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if slot, ok := p.at[s]; ok {
		delete(p.slots[slot], s)
		delete(p.at, s)
	}
}

func (p *pinger) run() {
	defer p.wg.Done()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-p.done:
			return
		case <-t.C:
			p.tick()
		}
	}
}

func (p *pinger) tick() {
	p.mu.Lock()
	slot := p.slots[p.next]
	due := make([]*conn, 0, len(slot))
	for s := range slot {
		due = append(due, s)
	}
	p.next = (p.next + 1) % len(p.slots)
	p.mu.Unlock()
	for _, s := range due {
		s.ping()
	}
}

func (p *pinger) stop() {
	close(p.done)
	p.wg.Wait()
}
