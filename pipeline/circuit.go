package pipeline

import (
	"sync"
	"time"

	"github.com/nats-io/nats.go"
)

// handoffBudget bounds how long one message may wait for JetStream in all (attempts and
// pauses): a provider is answered within it, 503 if the message is not durable by then.
// Twilio gives up at 15 s; Meta and Telegram retry slow answers.
const handoffBudget = 5 * time.Second

// probeEvery is how often an open circuit asks JetStream whether it answers again.
const probeEvery = 500 * time.Millisecond

// circuit refuses publishes at once while JetStream is known to be unreachable: the
// connection is not connected, or a publish timed out and none has succeeded since. While it
// is open no request waits: a prober asks JetStream every probeEvery and closes it as soon
// as JetStream answers (so does any publish that succeeds).
type circuit struct {
	conn    *nats.Conn
	metrics *Metrics

	mu      sync.Mutex
	open    bool
	probing bool
}

// allow reports whether a publish may be tried now.
func (c *circuit) allow(time.Time) bool {
	if c.conn != nil && c.conn.Status() != nats.CONNECTED {
		c.trip()
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return !c.open
}

// trip opens the circuit (a publish timed out, or the connection is down).
func (c *circuit) trip() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.open {
		c.open = true
		c.metrics.CircuitOpen.Set(1)
	}
	if !c.probing && c.conn != nil {
		c.probing = true
		go c.probe()
	}
}

// probe asks JetStream until it answers, then closes the circuit. It ends with the
// connection.
func (c *circuit) probe() {
	defer func() { c.mu.Lock(); c.probing = false; c.mu.Unlock() }()
	for !c.conn.IsClosed() {
		start := time.Now()
		if c.conn.Status() == nats.CONNECTED {
			if _, err := c.conn.Request("$JS.API.INFO", nil, probeEvery); err == nil {
				c.succeeded()
				return
			}
		}
		time.Sleep(probeEvery - time.Since(start)) // a fast refusal must not spin
	}
}

// succeeded closes the circuit.
func (c *circuit) succeeded() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.open {
		c.open = false
		c.metrics.CircuitOpen.Set(0)
	}
}
