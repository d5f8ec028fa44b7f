package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/switchboardhq/switchboard/connectors"
	"github.com/switchboardhq/switchboard/pipeline/kernel"
	"github.com/switchboardhq/switchboard/pipeline/streams"
	"github.com/switchboardhq/switchboard/schema"
)

// Send states kept in the outbox (key "m.<message id>").
const (
	sendAttempting = "attempting" // Send was called; outcome unknown if we crash now
	sendRetrying   = "retrying"   // the last attempt failed temporarily
	sendDone       = "sent"
	sendFailed     = "failed"
)

// sendRecord is the outbox entry of one outbound message.
type sendRecord struct {
	State      string                `json:"state"`
	Attempts   int                   `json:"attempts"`
	ExternalID string                `json:"external_id,omitempty"`
	Status     schema.DeliveryStatus `json:"status,omitempty"`
	Code       string                `json:"code,omitempty"`
	Error      string                `json:"error,omitempty"`
	UpdatedAt  time.Time             `json:"updated_at"`
	Resend     int                   `json:"resend,omitempty"`      // times an operator resent it (dlq redrive)
	Redrive    string                `json:"redrive,omitempty"`     // the dead letter the current resend came from
	DeadLetter uint64                `json:"dead_letter,omitempty"` // where the last failure was kept
}

// update is the status report for a settled record.
func (r sendRecord) update(m *schema.Message) *schema.StatusUpdate {
	return &schema.StatusUpdate{Channel: m.Channel, Account: m.Account, MessageID: m.ID, ExternalID: r.ExternalID,
		Status: r.Status, ErrorCode: r.Code, ErrorMessage: r.Error, Attempts: r.Attempts, Resend: r.Resend, DeadLetter: r.DeadLetter}
}

// DispatcherOptions configures the outbound dispatcher.
type DispatcherOptions struct {
	JS       jetstream.JetStream
	Leases   kernel.Leaser // one instance at a time sends a channel's replies, in order
	Senders  []connectors.SenderSpec
	Statuses connectors.Publisher
	// DLQ keeps every reply that failed for good (stage "outbound"), so that
	// `switchboard dlq redrive` can send it again; nil keeps none.
	DLQ         *DeadLetters
	MaxAttempts int           // default 10
	Timeout     time.Duration // per Send (default 30s)
	Workers     int           // concurrent sends per channel (default 8), ordered per conversation
	Metrics     *Metrics
	Logger      *zap.Logger
}

// Dispatcher sends replies from SB_OUTBOUND through the connectors' senders.
type Dispatcher struct {
	o       DispatcherOptions
	outbox  jetstream.KeyValue
	senders map[schema.Channel]map[string]connectors.SenderSpec
	backoff kernel.Backoff
	log     *zap.Logger
}

// NewDispatcher indexes the senders by channel and account.
func NewDispatcher(ctx context.Context, o DispatcherOptions) (*Dispatcher, error) {
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 10
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if o.Workers <= 0 {
		o.Workers = 8
	}
	outbox, err := o.JS.KeyValue(ctx, streams.BucketOutbox)
	if err != nil {
		return nil, err
	}
	senders, err := IndexSenders(o.Senders)
	if err != nil {
		return nil, err
	}
	return &Dispatcher{o: o, outbox: outbox, senders: senders,
		backoff: kernel.Backoff{Min: time.Second, Max: 5 * time.Minute}, log: o.Logger.Named("outbound")}, nil
}

// ErrDuplicateSender means two senders claim one channel and account: replies would go
// through whichever came last. Account names must be unique per channel across connectors.
var ErrDuplicateSender = errors.New("duplicate sender")

// IndexSenders indexes senders by channel and account and refuses two for one pair.
func IndexSenders(specs []connectors.SenderSpec) (map[schema.Channel]map[string]connectors.SenderSpec, error) {
	out := map[schema.Channel]map[string]connectors.SenderSpec{}
	var errs []error
	for _, s := range specs {
		if out[s.Channel] == nil {
			out[s.Channel] = map[string]connectors.SenderSpec{}
		}
		if _, dup := out[s.Channel][s.Account]; dup {
			errs = append(errs, fmt.Errorf("%w: channel %s account %q is configured twice (account names must be unique per channel across connectors)",
				ErrDuplicateSender, s.Channel, s.Account))
			continue
		}
		out[s.Channel][s.Account] = s
	}
	return out, errors.Join(errs...)
}

func consumerName(ch schema.Channel) string { return "send-" + streams.Key(string(ch)) }

// Setup creates one pinned consumer per channel that has a sender.
func (d *Dispatcher) Setup(ctx context.Context) error {
	for ch := range d.senders {
		cc := jetstream.ConsumerConfig{
			Durable: consumerName(ch), FilterSubject: streams.OutboundChannelFilter(ch),
			AckPolicy: jetstream.AckExplicitPolicy, AckWait: d.ackWait(), MaxDeliver: -1,
			MaxAckPending: 1024,
		}
		if err := retry(ctx, func(ctx context.Context) error {
			_, err := d.o.JS.CreateOrUpdateConsumer(ctx, streams.StreamOutbound, cc)
			return err
		}); err != nil {
			return fmt.Errorf("outbound consumer %s: %w", cc.Durable, err)
		}
	}
	return nil
}

func (d *Dispatcher) ackWait() time.Duration { return d.o.Timeout + 10*time.Second }

// Run sends until ctx ends; sends in progress finish first.
func (d *Dispatcher) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for ch := range d.senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				err := exclusively(ctx, d.o.Leases, "sender."+string(ch), d.o.JS, streams.StreamOutbound, consumerName(ch), d.ackWait(),
					func(ctx context.Context, _ <-chan struct{}) error { return d.runChannel(ctx, ch) })
				if err != nil && ctx.Err() == nil {
					d.log.Warn("outbound consumer stopped; restarting", zap.String("channel", string(ch)), zap.Error(err))
					select {
					case <-ctx.Done():
					case <-time.After(time.Second):
					}
				}
			}
		}()
	}
	wg.Wait()
	return nil
}

func (d *Dispatcher) runChannel(ctx context.Context, ch schema.Channel) error {
	cons, err := d.o.JS.Consumer(ctx, streams.StreamOutbound, consumerName(ch))
	if err != nil {
		return err
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(64))
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	queues := make([]chan jetstream.Msg, d.o.Workers)
	var wg sync.WaitGroup
	for i := range queues {
		queues[i] = make(chan jetstream.Msg, 16)
		wg.Add(1)
		go func(q <-chan jetstream.Msg) {
			defer wg.Done()
			for m := range q {
				d.handle(ctx, m)
			}
		}(queues[i])
	}
	defer func() {
		for _, q := range queues {
			close(q)
		}
		wg.Wait()
	}()
	for {
		m, err := it.Next()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		// Replies of one conversation go through one worker, in order.
		h := fnv.New32a()
		_, _ = h.Write([]byte(conversationOf(m.Data())))
		queues[h.Sum32()%uint32(len(queues))] <- m
	}
}

func conversationOf(data []byte) string {
	var v struct {
		ConversationID string `json:"conversation_id"`
	}
	_ = json.Unmarshal(data, &v)
	return v.ConversationID
}

func (d *Dispatcher) handle(ctx context.Context, msg jetstream.Msg) {
	hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.o.Timeout+5*time.Second)
	defer cancel()
	var m schema.Message
	if err := json.Unmarshal(msg.Data(), &m); err != nil || m.ID == "" {
		d.log.Error("undecodable outbound message; dropped", zap.String("subject", msg.Subject()), zap.Error(err))
		_ = msg.Term()
		return
	}
	spec, ok := d.sender(m.Channel, m.Account)
	if !ok {
		d.finish(hctx, msg, &m, sendRecord{State: sendFailed}, schema.StatusFailed, "no_sender",
			fmt.Sprintf("no sender is configured for channel %s account %s", m.Channel, m.Account), 0)
		return
	}
	if err := d.send(hctx, msg, &m, spec); err != nil {
		d.log.Warn("outbound bookkeeping failed; will retry", zap.String("message", m.ID), zap.Error(err))
		_ = msg.NakWithDelay(time.Second)
	}
}

func (d *Dispatcher) sender(ch schema.Channel, account string) (connectors.SenderSpec, bool) {
	if s, ok := d.senders[ch][account]; ok {
		return s, true
	}
	s, ok := d.senders[ch]["*"]
	return s, ok
}

// send runs one attempt with the outbox bookkeeping around it. An error means the
// bookkeeping itself failed (the message is redelivered).
func (d *Dispatcher) send(ctx context.Context, msg jetstream.Msg, m *schema.Message, spec connectors.SenderSpec) error {
	key := "m." + m.ID
	rec, rev, err := d.record(ctx, key)
	if err != nil {
		return err
	}
	if redrive := msg.Headers().Get(streams.HeaderRedrive); redrive != "" && rec.State == sendFailed && redrive != rec.Redrive {
		if rec, rev, err = d.resend(ctx, m, rec, rev, redrive); err != nil {
			return err
		}
	}
	switch {
	case rec.State == sendDone || rec.State == sendFailed:
		// A redelivery of a settled message: never send twice. Report the outcome again in
		// case the first report was lost (the status publish is deduplicated).
		d.o.Metrics.Outbound.WithLabelValues(string(m.Channel), "skipped").Inc()
		return d.report(ctx, msg, rec.update(m))
	case rec.State == sendAttempting && !spec.Idempotent:
		d.finish(ctx, msg, m, rec, schema.StatusFailed, "outcome_unknown",
			"an earlier attempt was interrupted; not resent to avoid a duplicate", rev)
		return nil
	}
	rec.State, rec.Attempts, rec.UpdatedAt = sendAttempting, rec.Attempts+1, time.Now().UTC()
	if rev, err = d.store(ctx, key, rec, rev); err != nil {
		return err
	}
	sctx, cancel := context.WithTimeout(ctx, d.o.Timeout)
	res, sendErr := spec.Sender.Send(sctx, m)
	cancel()
	if sendErr == nil {
		return d.succeed(ctx, msg, m, rec, rev, res)
	}
	after, temporary := connectors.IsTemporary(sendErr)
	if temporary && rec.Attempts < d.o.MaxAttempts {
		rec.State, rec.Error = sendRetrying, sendErr.Error()
		if _, err := d.store(ctx, key, rec, rev); err != nil {
			return err
		}
		if after <= 0 {
			after = d.backoff.Delay(rec.Attempts - 1)
		}
		d.o.Metrics.Outbound.WithLabelValues(string(m.Channel), "retry").Inc()
		d.log.Info("send failed temporarily; retrying", zap.String("message", m.ID), zap.Duration("after", after), zap.Error(sendErr))
		_ = msg.NakWithDelay(after)
		return nil
	}
	code := "send_failed"
	var pe *connectors.PermanentError
	if errors.As(sendErr, &pe) && pe.Code != "" {
		code = pe.Code
	}
	// The reason says what happened; the code stands beside it, not again inside it.
	d.finish(ctx, msg, m, rec, schema.StatusFailed, code, strings.TrimPrefix(sendErr.Error(), code+": "), rev)
	return nil
}

func (d *Dispatcher) succeed(ctx context.Context, msg jetstream.Msg, m *schema.Message, rec sendRecord, rev uint64, res connectors.SendResult) error {
	status := res.Status
	if status == "" {
		status = schema.StatusSent
	}
	rec.State, rec.ExternalID, rec.Status, rec.Error, rec.UpdatedAt = sendDone, res.ExternalID, status, "", time.Now().UTC()
	for _, ext := range append([]string{res.ExternalID}, res.OtherExternalIDs...) {
		if ext == "" {
			continue
		}
		if err := IndexExternal(ctx, d.outbox, m.Channel, m.Account, ext, m.ID); err != nil {
			return err
		}
	}
	if _, err := d.store(ctx, "m."+m.ID, rec, rev); err != nil {
		return err
	}
	d.o.Metrics.Outbound.WithLabelValues(string(m.Channel), "sent").Inc()
	return d.report(ctx, msg, rec.update(m))
}

// resend starts a failed message over because an operator redrove it from the dead-letter
// queue: attempts from zero, statuses from queued (a delivery event says so).
func (d *Dispatcher) resend(ctx context.Context, m *schema.Message, rec sendRecord, rev uint64, redrive string) (sendRecord, uint64, error) {
	next := sendRecord{State: sendRetrying, Resend: rec.Resend + 1, Redrive: redrive, Status: schema.StatusQueued, UpdatedAt: time.Now().UTC()}
	rev, err := d.store(ctx, "m."+m.ID, next, rev)
	if err != nil {
		return rec, rev, err
	}
	d.log.Info("resending a failed reply redriven from the dead-letter queue", zap.String("message", m.ID), zap.Int("resend", next.Resend))
	return next, rev, d.o.Statuses.PublishStatus(ctx, next.update(m))
}

// finish settles a message as failed and reports it. A failed reply is dead-lettered first,
// so that nothing an agent wrote is lost: `switchboard dlq redrive` sends it again.
func (d *Dispatcher) finish(ctx context.Context, msg jetstream.Msg, m *schema.Message, rec sendRecord, st schema.DeliveryStatus, code, reason string, rev uint64) {
	rec.State, rec.Status, rec.Code, rec.Error, rec.UpdatedAt = sendFailed, st, code, reason, time.Now().UTC()
	if d.o.DLQ != nil {
		seq, err := d.o.DLQ.PutSeq(ctx, "outbound", msg, code+": "+reason)
		if err != nil {
			_ = msg.NakWithDelay(time.Second)
			return
		}
		rec.DeadLetter = seq
	}
	if _, err := d.store(ctx, "m."+m.ID, rec, rev); err != nil {
		_ = msg.NakWithDelay(time.Second)
		return
	}
	d.o.Metrics.Outbound.WithLabelValues(string(m.Channel), "failed").Inc()
	d.log.Warn("outbound message failed", zap.String("message", m.ID), zap.String("code", code), zap.String("reason", reason))
	if err := d.report(ctx, msg, rec.update(m)); err != nil {
		_ = msg.NakWithDelay(time.Second)
	}
}

func (d *Dispatcher) report(ctx context.Context, msg jetstream.Msg, st *schema.StatusUpdate) error {
	if err := d.o.Statuses.PublishStatus(ctx, st); err != nil {
		return err
	}
	_ = msg.Ack()
	return nil
}

func (d *Dispatcher) record(ctx context.Context, key string) (sendRecord, uint64, error) {
	var rec sendRecord
	e, err := d.outbox.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return rec, 0, nil
	}
	if err != nil {
		return rec, 0, kernel.Unavailable(err)
	}
	_ = json.Unmarshal(e.Value(), &rec)
	return rec, e.Revision(), nil
}

func (d *Dispatcher) store(ctx context.Context, key string, rec sendRecord, rev uint64) (uint64, error) {
	data, _ := json.Marshal(rec)
	var err error
	if rev == 0 {
		rev, err = d.outbox.Create(ctx, key, data)
	} else {
		rev, err = d.outbox.Update(ctx, key, data, rev)
	}
	if err != nil {
		return 0, fmt.Errorf("outbox %s: %w", key, kernel.KVError(err))
	}
	return rev, nil
}

// Consumers lists the dispatcher's durable consumers (for lag metrics).
func (d *Dispatcher) Consumers() []ConsumerRef {
	var out []ConsumerRef
	for ch := range d.senders {
		out = append(out, ConsumerRef{Stream: streams.StreamOutbound, Name: consumerName(ch)})
	}
	return out
}
