package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/switchboardhq/switchboard/pipeline/kernel"
	"go.uber.org/zap"
)

// consume pulls partition p of one source and handles its messages one at a time until ctx
// ends (shutdown, lost lease, another source failing) or the subscription fails.
func (r *Partitioned) consume(ctx context.Context, lost <-chan struct{}, src Source, p int, log *zap.Logger) error {
	cons, err := r.JS.Consumer(ctx, src.Stream, src.consumerName(p))
	if err != nil {
		return err
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(r.Batch))
	if err != nil {
		return err
	}
	// When ctx ends the iterator drains: messages already buffered come out of Next and are
	// handed back (Nak) for immediate redelivery instead of waiting out AckWait. The drain
	// ends with a round trip to the server; while the connection is failing over (the node it
	// was on just died) that waits out the client's 30-second drain timeout, so it gets
	// drainGrace and the messages still buffered then are left to the next holder's consumer
	// reset (or AckWait).
	nctx, giveUp := context.WithCancel(context.Background())
	defer giveUp()
	stop := context.AfterFunc(ctx, func() {
		it.Drain()
		time.AfterFunc(drainGrace, giveUp)
	})
	defer stop()
	defer it.Stop()
	if src.Lanes > 1 {
		return r.consumeLanes(ctx, nctx, lost, it, src, p, log)
	}
	var back handback
	for {
		msg, err := r.next(ctx, nctx, it, &back)
		if msg == nil {
			return err
		}
		r.process(ctx, lost, p, msg, log)
	}
}

// next returns the iterator's next message, or nil once ctx ended and the iterator drained
// (err nil) or the subscription failed. What arrives after ctx ended is handed back.
func (r *Partitioned) next(ctx, nctx context.Context, it jetstream.MessagesContext, back *handback) (jetstream.Msg, error) {
	for {
		msg, err := it.Next(jetstream.NextContext(nctx))
		if err != nil {
			if ctx.Err() != nil && (errors.Is(err, jetstream.ErrMsgIteratorClosed) || nctx.Err() != nil) {
				return nil, nil
			}
			return nil, err
		}
		if ctx.Err() == nil {
			return msg, nil
		}
		back.give(r.JS, msg)
	}
}

// ErrDeliveryGap stops a partition whose lanes saw a gap in the consumer's delivery
// sequence: a message was delivered and never reached this subscription (a node died while
// sending it, another client pulled from the consumer). Its key's later messages must not
// overtake it, so the partition starts over: its lease is released and taken again, and
// the consumer is reset to redeliver from its acknowledgement floor, in order.
var ErrDeliveryGap = errors.New("a delivery never arrived")

// consumeLanes is consume for a source with lanes. One loop takes the messages in stream
// order and hands each to the lane of its key (key mod Lanes); each lane handles its
// messages one at a time, in the order it got them, so the messages of one key keep their
// order while those of different keys run at the same time. A message without a key waits
// until every lane is idle and is handled alone. When ctx ends, each lane finishes the
// message in hand and hands the rest back.
func (r *Partitioned) consumeLanes(ctx, nctx context.Context, lost <-chan struct{}, it jetstream.MessagesContext,
	src Source, p int, log *zap.Logger) error {
	lctx, stopLanes := context.WithCancel(ctx)
	var busy, done sync.WaitGroup // busy: messages handed to lanes and not finished
	// Each queue can take every message the consumer hands out at once, so a lane stuck on
	// one message (retried in place, a slow download) holds up only its own keys until the
	// consumer's MaxAckPending is full of them. Messages waiting in a queue are kept alive
	// like the one in hand, so a slow lane's backlog is not redelivered behind its back.
	queues := make([]chan jetstream.Msg, src.Lanes)
	waiting := &laneWaiting{m: map[jetstream.Msg]struct{}{}}
	for i := range queues {
		q := make(chan jetstream.Msg, r.maxAckPending(src))
		queues[i] = q
		done.Add(1)
		go func() {
			defer done.Done()
			var back handback
			for msg := range q {
				waiting.remove(msg)
				if lctx.Err() != nil {
					back.give(r.JS, msg)
				} else {
					r.process(ctx, lost, p, msg, log)
				}
				busy.Done()
			}
		}()
	}
	stopAlive := waiting.keepAlive(r.ackWait())
	defer func() {
		stopLanes()
		for _, q := range queues {
			close(q)
		}
		done.Wait()
		stopAlive()
	}()
	var back handback
	var last uint64 // the consumer sequence of the last delivery
	for {
		msg, err := r.next(ctx, nctx, it, &back)
		if msg == nil {
			return err
		}
		if md, err := msg.Metadata(); err == nil {
			if last != 0 && md.Sequence.Consumer != last+1 {
				stopLanes()
				back.give(r.JS, msg)
				r.Metrics.Stage.WithLabelValues(r.Stage, "gap").Inc()
				return fmt.Errorf("%w: delivery %d came after %d", ErrDeliveryGap, md.Sequence.Consumer, last)
			}
			last = md.Sequence.Consumer
		}
		key, ok := uint64(0), false
		if src.Lane != nil {
			key, ok = src.Lane(msg)
		}
		if !ok {
			busy.Wait()
			r.process(ctx, lost, p, msg, log)
			continue
		}
		busy.Add(1)
		waiting.add(msg)
		select {
		case queues[key%uint64(len(queues))] <- msg:
		case <-ctx.Done():
			waiting.remove(msg)
			busy.Done()
			back.give(r.JS, msg)
		}
	}
}

// laneWaiting are the messages waiting in lane queues.
type laneWaiting struct {
	mu sync.Mutex
	m  map[jetstream.Msg]struct{}
}

func (w *laneWaiting) add(m jetstream.Msg) {
	w.mu.Lock()
	w.m[m] = struct{}{}
	w.mu.Unlock()
}

func (w *laneWaiting) remove(m jetstream.Msg) {
	w.mu.Lock()
	delete(w.m, m)
	w.mu.Unlock()
}

// keepAlive tells the server every third of ackWait that the waiting messages are being
// worked on; it returns the stop.
func (w *laneWaiting) keepAlive(ackWait time.Duration) func() {
	return every(ackWait/3, func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		for m := range w.m {
			_ = m.InProgress()
		}
	})
}

// every runs f every interval in its own goroutine ([kernel.Every]) until the returned stop.
func every(interval time.Duration, f func()) func() {
	ctx, stop := context.WithCancel(context.Background())
	go kernel.Every(ctx, interval, f)
	return stop
}

// process handles one message to completion: ack, later, dead letter, or left unacked for
// redelivery. A shutdown lets the message in hand finish (bounded); a lost lease abandons it
// at once, since another instance may take the partition.
func (r *Partitioned) process(ctx context.Context, lost <-chan struct{}, p int, msg jetstream.Msg, log *zap.Logger) {
	hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*r.ackWait())
	defer cancel()
	go func() {
		select {
		case <-lost:
			cancel()
		case <-hctx.Done():
		}
	}()
	defer keepAlive(msg, r.ackWait())()
	inHand := r.Metrics.InHand.WithLabelValues(r.Stage)
	inHand.Inc()
	defer inHand.Dec()
	for attempt := 1; ; attempt++ {
		// Each attempt has its own deadline: a call stuck on a JetStream leader that just died
		// is retried (every write is idempotent) instead of waiting out the whole budget.
		actx, acancel := context.WithTimeout(hctx, attemptTimeout)
		start := time.Now()
		err := r.Handle(actx, p, msg)
		acancel()
		r.Metrics.StageLatency.WithLabelValues(r.Stage).Observe(time.Since(start).Seconds())
		if hctx.Err() != nil && kernel.IsClosed(lost) {
			return // abandoned: the next holder gets it again
		}
		var later *LaterError
		switch {
		case err == nil:
			_ = msg.Ack()
			r.Metrics.Stage.WithLabelValues(r.Stage, "ok").Inc()
			return
		case errors.As(err, &later):
			if md, mdErr := msg.Metadata(); mdErr == nil && int(md.NumDelivered) >= r.MaxAttempts {
				r.deadLetter(ctx, msg, err, log)
				return
			}
			_ = msg.NakWithDelay(later.After)
			r.Metrics.Stage.WithLabelValues(r.Stage, "later").Inc()
			return
		case isPoison(err) || attempt >= r.MaxAttempts:
			r.deadLetter(ctx, msg, err, log)
			return
		}
		r.Metrics.Stage.WithLabelValues(r.Stage, "retry").Inc()
		log.Warn("stage failed; retrying in place", zap.Error(err), zap.Int("attempt", attempt))
		select {
		case <-ctx.Done():
			var back handback
			back.give(r.JS, msg) // redelivered at once, to whoever takes the partition next
			return
		case <-hctx.Done():
			return
		case <-time.After(r.Backoff.Delay(attempt - 1)):
		}
	}
}

// handback hands messages back (Nak) when a partition stops. A plain Nak is fire-and-forget:
// sent while the consumer's leader is being elected it is lost, and the next holder of the
// partition waits out AckWait for it (awaitHandback). So each Nak asks for the server's
// confirmation and is resent until it comes, within handbackBudget for all of a stop's
// messages; after that the rest go out unconfirmed.
type handback struct{ deadline time.Time }

const handbackBudget = 3 * time.Second

// drainGrace bounds a stopping partition's drain (see consume).
const drainGrace = handbackBudget + 2*time.Second

func (h *handback) give(js jetstream.JetStream, msg jetstream.Msg) {
	if h.deadline.IsZero() {
		h.deadline = time.Now().Add(handbackBudget)
	}
	for time.Now().Before(h.deadline) {
		wait := min(time.Until(h.deadline), time.Second)
		if _, err := js.Conn().Request(msg.Reply(), []byte("-NAK"), wait); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond) // no responder yet (no leader) answers at once
	}
	_ = msg.Nak()
}

// attemptTimeout bounds one attempt at a message.
const attemptTimeout = 5 * time.Second

// keepAlive tells the server every third of AckWait that msg is still being worked on, so a
// slow handler (a media download) is not redelivered behind its own back. It returns the stop.
func keepAlive(msg jetstream.Msg, ackWait time.Duration) func() {
	return every(ackWait/3, func() { _ = msg.InProgress() })
}

func (r *Partitioned) deadLetter(ctx context.Context, msg jetstream.Msg, cause error, log *zap.Logger) {
	for attempt := 0; ; attempt++ {
		err := r.DLQ.Put(ctx, r.Stage, msg, cause.Error())
		if err == nil {
			_ = msg.Ack()
			r.Metrics.Stage.WithLabelValues(r.Stage, "dead_letter").Inc()
			log.Warn("dead-lettered", zap.String("subject", msg.Subject()), zap.Error(cause))
			return
		}
		log.Error("cannot dead-letter; retrying", zap.Error(err))
		select {
		case <-ctx.Done():
			return
		case <-time.After(r.Backoff.Delay(attempt)):
		}
	}
}
