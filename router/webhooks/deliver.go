package webhooks

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/switchboardhq/switchboard/configs/cfg"
	"github.com/switchboardhq/switchboard/connectors"
	"github.com/switchboardhq/switchboard/pipeline/kernel"
	"github.com/switchboardhq/switchboard/pipeline/streams"
	"github.com/switchboardhq/switchboard/schema"
)

// Options are what a Deliverer needs.
type Options struct {
	JS     jetstream.JetStream
	Config Config
	Leases kernel.Leaser
	// Conversation reads a conversation's snapshot: its channels, account and queue decide the
	// filters for events whose conversation the subscription has not followed from its start.
	Conversation func(ctx context.Context, id string) (*schema.Conversation, uint64, error)
	Metrics      *Metrics
	Logger       *zap.Logger
	// Client posts the deliveries (default: one that follows no redirects).
	Client *http.Client
	Now    func() time.Time
}

// Deliverer runs every subscription: the config's, and those managed through the API
// (stored in sb_webhooks as sub.<id>, followed by every instance).
type Deliverer struct {
	o     Options
	state jetstream.KeyValue
	log   jetstream.KeyValue

	cmu    sync.RWMutex
	config []*Subscription // webhooks.subscriptions; a config reload swaps it (SetConfig)

	mu      sync.Mutex
	running map[string]*running // by id, while Run runs
	runCtx  context.Context     // Run's, for subscriptions started later
}

// running is one subscription's delivery loop.
type running struct {
	sub    *Subscription
	cancel context.CancelFunc
	done   chan struct{}
}

// Provision creates the deliverer's buckets.
func Provision(ctx context.Context, js jetstream.JetStream, c Config, replicas int) error {
	c = withDefaults(c)
	for _, b := range []jetstream.KeyValueConfig{
		{Bucket: streams.BucketWebhooks, Description: "Webhook subscriptions' positions and states (docs/webhooks.md).", History: 1},
		{Bucket: streams.BucketWebhookLog, Description: "Webhook deliveries (docs/webhooks.md).", History: 1, TTL: c.LogRetention.D()},
	} {
		b.Storage, b.Replicas = jetstream.FileStorage, max(replicas, 1)
		if _, err := js.CreateOrUpdateKeyValue(ctx, b); err != nil {
			return fmt.Errorf("provision bucket %s: %w", b.Bucket, err)
		}
	}
	return nil
}

// New opens the buckets (Provision first).
func New(ctx context.Context, o Options) (*Deliverer, error) {
	o.Config = withDefaults(o.Config)
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(nil)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Client == nil {
		o.Client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	d := &Deliverer{o: o, running: map[string]*running{}}
	var err error
	if d.state, err = o.JS.KeyValue(ctx, streams.BucketWebhooks); err != nil {
		return nil, fmt.Errorf("open %s: %w", streams.BucketWebhooks, err)
	}
	if d.log, err = o.JS.KeyValue(ctx, streams.BucketWebhookLog); err != nil {
		return nil, fmt.Errorf("open %s: %w", streams.BucketWebhookLog, err)
	}
	for i := range o.Config.Subscriptions {
		d.config = append(d.config, &o.Config.Subscriptions[i])
	}
	return d, nil
}

func withDefaults(c Config) Config {
	if err := cfg.SetDefaults(&c); err != nil {
		panic(err)
	}
	return c
}

// Run delivers every subscription until ctx ends: the config's, and the managed ones as they
// are created, changed and removed.
func (d *Deliverer) Run(ctx context.Context) error {
	d.mu.Lock()
	d.runCtx = ctx
	d.mu.Unlock()
	for _, s := range d.configured() {
		d.start(ctx, s)
	}
	// The API's subscriptions: watched until ctx ends, the watch started over after an error
	// (a NATS failover must not leave them unwatched).
	backoff := kernel.Backoff{Min: time.Second, Max: 30 * time.Second}
	var err error
	for n := 0; ctx.Err() == nil; n++ {
		if err = d.watchManaged(ctx); err == nil || ctx.Err() != nil {
			break
		}
		d.o.Logger.Warn("webhook subscriptions' watch stopped; starting over", zap.Error(err))
		select {
		case <-ctx.Done():
		case <-time.After(backoff.Delay(n)):
		}
	}
	d.mu.Lock()
	all := slices.Collect(maps.Values(d.running))
	d.mu.Unlock()
	for _, r := range all {
		r.cancel()
		<-r.done
	}
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// start runs a subscription's loop: under its lease, started over after an error.
func (d *Deliverer) start(ctx context.Context, s *Subscription) {
	ctx, cancel := context.WithCancel(ctx)
	r := &running{sub: s, cancel: cancel, done: make(chan struct{})}
	d.mu.Lock()
	d.running[s.ID] = r
	d.mu.Unlock()
	go func() {
		defer close(r.done)
		backoff := kernel.Backoff{Min: time.Second, Max: 30 * time.Second}
		for n := 0; ctx.Err() == nil; n++ {
			err := kernel.RunLeased(ctx, d.o.Leases, "webhook."+s.ID, func(ctx context.Context, lost <-chan struct{}) error {
				return d.follow(ctx, s)
			})
			if ctx.Err() != nil {
				return
			}
			if errors.Is(err, errMoved) {
				n = -1 // a replay moved it: follow the new position at once
				continue
			}
			if err != nil {
				d.o.Logger.Warn("webhook subscription stopped; starting over", zap.String("subscription", s.ID), zap.Error(err))
			}
			select {
			case <-ctx.Done():
			case <-time.After(backoff.Delay(n)):
			}
		}
	}()
}

// stop ends a subscription's loop and waits for it.
func (d *Deliverer) stop(id string) {
	d.mu.Lock()
	r := d.running[id]
	delete(d.running, id)
	d.mu.Unlock()
	if r != nil {
		r.cancel()
		<-r.done
	}
}

// State is a subscription's stored progress.
type State struct {
	// Position is the last stream sequence handled (delivered, or filtered out).
	Position uint64 `json:"position"`
	// Failing is set once an event has failed for retry.failing_after; cleared by the next
	// successful delivery.
	Failing      bool       `json:"failing"`
	FailingSince *time.Time `json:"failing_since,omitempty"`
	LastError    string     `json:"last_error,omitempty"`
	LastDelivery *time.Time `json:"last_delivery_at,omitempty"`
	Delivered    int64      `json:"delivered"`
}

func stateKey(id string) string { return "state." + id }

// State reads a subscription's state (a zero state before its first start).
func (d *Deliverer) State(ctx context.Context, id string) (State, error) {
	var st State
	_, err := kernel.GetJSON(ctx, d.state, stateKey(id), &st)
	if errors.Is(err, kernel.ErrNotFound) {
		err = nil
	}
	return st, err
}

// follower is one subscription's delivery loop while it holds the lease.
type follower struct {
	d    *Deliverer
	s    *Subscription
	st   State
	rev  uint64
	ctxs map[string]*convContext // conversation → what the filters need
	// saved is the position last stored; skipped events advance it lazily. dirty is a state
	// change to store at once.
	saved   uint64
	savedAt time.Time
	dirty   bool
}

func (d *Deliverer) follow(ctx context.Context, s *Subscription) error {
	f := &follower{d: d, s: s, ctxs: map[string]*convContext{}}
	if err := f.load(ctx); err != nil {
		return err
	}
	oc := jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: f.st.Position + 1}
	it, stop, err := streams.Messages(ctx, d.o.JS, oc)
	if err != nil {
		return err
	}
	defer stop()
	final := func() error { // a stop stores how far it got
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return f.save(sctx, true)
	}
	for {
		m, err := it.Next(jetstream.NextMaxWait(time.Second))
		switch {
		case ctx.Err() != nil:
			return final()
		case errors.Is(err, nats.ErrTimeout) || errors.Is(err, jetstream.ErrNoMessages):
			if err := f.save(ctx, true); err != nil {
				return err
			}
			if err := f.checkMoved(ctx); err != nil {
				return err
			}
			continue
		case err != nil:
			return kernel.Unavailable(err)
		}
		md, err := m.Metadata()
		if err != nil {
			return err
		}
		if err := f.handle(ctx, md.Sequence.Stream, m.Subject(), m.Data()); err != nil {
			if ctx.Err() != nil {
				return final()
			}
			return err
		}
	}
}

// load reads the stored state; a subscription's first start places it per its start option.
func (f *follower) load(ctx context.Context) error {
	rev, err := kernel.GetJSON(ctx, f.d.state, stateKey(f.s.ID), &f.st)
	if err == nil {
		f.rev, f.saved = rev, f.st.Position
		if f.st.Failing {
			f.d.o.Metrics.Failing.WithLabelValues(f.s.ID).Set(1)
		}
		return nil
	}
	if !errors.Is(err, kernel.ErrNotFound) {
		return err
	}
	if f.s.Start != "all" {
		info, err := f.d.o.JS.Stream(ctx, streams.StreamConversations)
		if err != nil {
			return kernel.Unavailable(err)
		}
		f.st.Position = info.CachedInfo().State.LastSeq
	}
	f.rev, err = kernel.PutJSON(ctx, f.d.state, stateKey(f.s.ID), f.st, 0)
	if errors.Is(err, kernel.ErrConflict) {
		return f.load(ctx) // another instance placed it first
	}
	f.saved = f.st.Position
	return err
}

// save stores the state when it moved (now, or at most every second for filtered events).
// A conflict means another instance delivers the subscription now: stop.
func (f *follower) save(ctx context.Context, force bool) error {
	if !f.dirty && (f.st.Position == f.saved || (!force && time.Since(f.savedAt) < time.Second)) {
		return nil
	}
	rev, err := kernel.PutJSON(ctx, f.d.state, stateKey(f.s.ID), f.st, f.rev)
	if errors.Is(err, kernel.ErrConflict) {
		return errMoved
	}
	if err != nil {
		return fmt.Errorf("store the position of webhook %s: %w", f.s.ID, err)
	}
	f.rev, f.saved, f.savedAt, f.dirty = rev, f.st.Position, time.Now(), false
	f.d.o.Metrics.Position.WithLabelValues(f.s.ID).Set(float64(f.st.Position))
	return nil
}

// handle delivers one stored event if the subscription wants it, retrying until it is
// delivered or ctx ends.
func (f *follower) handle(ctx context.Context, seq uint64, subject string, data []byte) error {
	var ev schema.Event
	if err := json.Unmarshal(data, &ev); err != nil {
		f.d.o.Logger.Warn("webhook: skipping an undecodable event", zap.String("subscription", f.s.ID), zap.Uint64("seq", seq), zap.Error(err))
		f.st.Position = seq
		return f.save(ctx, false)
	}
	want, err := f.wanted(ctx, &ev)
	if err != nil {
		return err
	}
	if !want {
		f.st.Position = seq
		return f.save(ctx, false)
	}
	rec := Delivery{ID: ev.ID, Seq: seq, Type: ev.Type, ConversationID: ev.ConversationID, Status: StatusRetrying}
	retry := f.d.o.Config.Retry
	backoff := kernel.Backoff{Min: retry.Initial.D(), Max: retry.MaxInterval.D()}
	for n := 0; ; n++ {
		f.attempt(ctx, &rec, data)
		if err := f.record(ctx, &rec); err != nil {
			return err
		}
		if rec.Status == StatusDelivered {
			now := f.d.o.Now().UTC()
			f.st.Position, f.st.LastDelivery, f.st.Delivered, f.st.LastError = seq, &now, f.st.Delivered+1, ""
			if f.st.Failing {
				since := *f.st.FailingSince
				f.st.Failing, f.st.FailingSince = false, nil
				f.d.o.Metrics.Failing.WithLabelValues(f.s.ID).Set(0)
				f.d.o.Logger.Info("webhook subscription recovered", zap.String("subscription", f.s.ID))
				if err := f.announce(ctx, schema.EventWebhookRecovered, &rec, since); err != nil {
					return err
				}
			}
			return f.save(ctx, true)
		}
		f.st.LastError = rec.Error
		if !f.st.Failing && rec.LastAttempt.Sub(rec.FirstAttempt) >= retry.FailingAfter.D() {
			since := rec.FirstAttempt
			f.st.Failing, f.st.FailingSince = true, &since
			f.d.o.Metrics.Failing.WithLabelValues(f.s.ID).Set(1)
			f.d.o.Logger.Error("webhook subscription failing: an event has not been delivered for "+retry.FailingAfter.D().String()+"; retrying on",
				zap.String("subscription", f.s.ID), zap.String("event", ev.ID), zap.String("error", rec.Error))
			f.dirty = true // store the failing state at once
			if err := f.save(ctx, true); err != nil {
				return err
			}
			if err := f.announce(ctx, schema.EventWebhookFailing, &rec, since); err != nil {
				return err
			}
		}
		if err := f.checkMoved(ctx); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff.Delay(n)):
		}
	}
}

// announce puts a webhook_failing or webhook_recovered event on the stream
// (sb.system.webhook.<id>), deduplicated by its cause.
func (f *follower) announce(ctx context.Context, typ schema.EventType, rec *Delivery, since time.Time) error {
	cause := fmt.Sprintf("%s:%s:%d:%d", typ, f.s.ID, rec.Seq, since.UnixNano())
	ev := &schema.Event{Schema: schema.EventSchema, ID: schema.EventID(cause, 0), Type: typ, Seq: 1, At: f.d.o.Now().UTC(),
		Actor: "webhooks", Webhook: &schema.WebhookEvent{Subscription: f.s.ID, EventID: rec.ID, Seq: rec.Seq, Since: since.UTC(), Error: rec.Error}}
	data, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	if _, err := f.d.o.JS.Publish(ctx, streams.WebhookEventSubject(f.s.ID), data, jetstream.WithMsgID(ev.ID)); err != nil {
		return kernel.Unavailable(fmt.Errorf("announce %s of webhook %s: %w", typ, f.s.ID, err))
	}
	return nil
}

// errMoved is a subscription's state changed by someone else (a replay): start over from it.
var errMoved = errors.New("the subscription's position was moved")

// checkMoved reports errMoved when the stored state is no longer the one this follower wrote.
func (f *follower) checkMoved(ctx context.Context) error {
	e, err := f.d.state.Get(ctx, stateKey(f.s.ID))
	if err != nil {
		return kernel.Unavailable(err)
	}
	if e.Revision() != f.rev {
		return errMoved
	}
	return nil
}

// Delivery statuses: delivered; retrying (in order, not yet delivered); failed (a manual
// redelivery that did not get through; the in-order delivery is unaffected).
const (
	StatusDelivered = "delivered"
	StatusRetrying  = "retrying"
	StatusFailed    = "failed"
)

// Delivery is one event's delivery record, updated at every attempt.
type Delivery struct {
	// ID is the webhook-id: the event's id (the same on every attempt and redelivery).
	ID             string           `json:"id"`
	Seq            uint64           `json:"seq"`
	Type           schema.EventType `json:"type"`
	ConversationID string           `json:"conversation_id,omitempty"`
	Status         string           `json:"status"`
	Attempts       int              `json:"attempts"`
	FirstAttempt   time.Time        `json:"first_attempt_at"`
	LastAttempt    time.Time        `json:"last_attempt_at"`
	// The last attempt's: time to the response, status code, error.
	LatencyMs    int64  `json:"latency_ms"`
	ResponseCode int    `json:"response_code,omitempty"`
	Error        string `json:"error,omitempty"`
	// Redelivered marks a record whose last attempt was a manual redelivery.
	Redelivered bool `json:"redelivered,omitempty"`
}

// attempt posts the event once and notes the outcome in rec.
func (f *follower) attempt(ctx context.Context, rec *Delivery, body []byte) {
	now := f.d.o.Now().UTC()
	if rec.Attempts == 0 {
		rec.FirstAttempt = now
	}
	rec.Attempts++
	rec.LastAttempt = now
	code, err := f.d.post(ctx, f.s, rec.ID, body)
	rec.LatencyMs = f.d.o.Now().Sub(now).Milliseconds()
	rec.ResponseCode = code
	switch {
	case err != nil:
		rec.Error = err.Error()
	case code < 200 || code > 299:
		rec.Error = fmt.Sprintf("the receiver answered %d", code)
	default:
		rec.Status, rec.Error = StatusDelivered, ""
	}
	outcome := "delivered"
	if rec.Status != StatusDelivered {
		outcome = "failed"
	}
	f.d.o.Metrics.Attempts.WithLabelValues(f.s.ID, outcome).Inc()
}

// post sends one signed delivery: Standard Webhooks headers, a signature per secret.
func (d *Deliverer) post(ctx context.Context, s *Subscription, id string, body []byte) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, s.Timeout.D())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	ts := strconv.FormatInt(d.o.Now().Unix(), 10)
	var sigs []string
	for _, sec := range s.Secrets {
		sigs = append(sigs, connectors.SignWebhook(sec.Value(), id, ts, body))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "switchboard-webhooks")
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", ts)
	req.Header.Set("webhook-signature", strings.Join(sigs, " "))
	resp, err := d.o.Client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return resp.StatusCode, nil
}

func logKey(sub string, seq uint64) string { return sub + "." + strconv.FormatUint(seq, 10) }

// record stores the delivery record.
func (f *follower) record(ctx context.Context, rec *Delivery) error {
	data, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	if _, err := f.d.log.Put(ctx, logKey(f.s.ID, rec.Seq), data); err != nil {
		return kernel.Unavailable(fmt.Errorf("record a delivery of webhook %s: %w", f.s.ID, err))
	}
	return nil
}

// Deliveries lists a subscription's delivery records written since since, newest first, at
// most limit.
func (d *Deliverer) Deliveries(ctx context.Context, id string, since time.Time, limit int) ([]Delivery, error) {
	cons, err := d.o.JS.OrderedConsumer(ctx, "KV_"+streams.BucketWebhookLog, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{"$KV." + streams.BucketWebhookLog + "." + id + ".>"},
		DeliverPolicy:  jetstream.DeliverByStartTimePolicy, OptStartTime: &since})
	if err != nil {
		return nil, kernel.Unavailable(err)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		return nil, kernel.Unavailable(err)
	}
	bySeq := map[uint64]Delivery{} // the newest record of each delivery
	for pending := info.NumPending; pending > 0; {
		batch, err := cons.Fetch(int(min(pending, 1000)), jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			return nil, kernel.Unavailable(err)
		}
		n := 0
		for m := range batch.Messages() {
			n++
			var rec Delivery
			if json.Unmarshal(m.Data(), &rec) == nil {
				bySeq[rec.Seq] = rec
			}
		}
		if batch.Error() != nil || n == 0 {
			break
		}
		pending -= uint64(n)
	}
	out := make([]Delivery, 0, len(bySeq))
	for _, r := range bySeq {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b Delivery) int { return cmp.Compare(b.Seq, a.Seq) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}
