package insight

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/switchboardhq/switchboard/pipeline/kernel"
	"github.com/switchboardhq/switchboard/pipeline/streams"
	"github.com/switchboardhq/switchboard/router/insight/kpi"
	"github.com/switchboardhq/switchboard/router/rules"
	"github.com/switchboardhq/switchboard/schema"
)

// leaseKey is the lease the projection runs under (one instance at a time).
const leaseKey = "insight"

// maxCells bounds the cells kept in memory between flushes.
const maxCells = 16384

// errFenced ends a run whose writes lost a compare-and-set: another writer (a rebuild that
// switched generations, or another holder) moved on.
var errFenced = errors.New("insight: the cells changed under the projection (a rebuild or another holder)")

// Options are what a projection needs.
type Options struct {
	JS     jetstream.JetStream
	Config Config
	// Rules returns the rules in force (for business hours); nil: none.
	Rules   func() *rules.Rules
	Leases  kernel.Leaser
	Metrics *Metrics
	Logger  *zap.Logger
}

// Projection keeps the report cells up to date with SB_CONVERSATIONS.
type Projection struct {
	o   Options
	kv  jetstream.KeyValue
	loc *time.Location
	log *zap.Logger
}

// New opens the projection's bucket (Provision creates it).
func New(ctx context.Context, o Options) (*Projection, error) {
	o.Config = o.Config.WithDefaults()
	loc, err := o.Config.Location()
	if err != nil {
		return nil, err
	}
	kv, err := o.JS.KeyValue(ctx, streams.BucketInsight)
	if err != nil {
		return nil, fmt.Errorf("open bucket %s: %w", streams.BucketInsight, err)
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(nil)
	}
	return &Projection{o: o, kv: kv, loc: loc, log: o.Logger.Named("insight")}, nil
}

// Run keeps the cells up to date while this instance holds the projection's lease, until ctx
// ends.
func (p *Projection) Run(ctx context.Context) error {
	backoff := kernel.Backoff{Min: time.Second, Max: 30 * time.Second}
	for n := 0; ; n++ {
		err := kernel.RunLeased(ctx, p.o.Leases, leaseKey, p.follow)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			p.log.Warn("projection stopped; starting over", zap.Error(err))
			p.o.Metrics.Restarts.Inc()
		}
		if errors.Is(err, errFenced) {
			n = 0 // a rebuild switched generations: follow the new one at once
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff.Delay(n)):
		}
	}
}

// follow reads SB_CONVERSATIONS from the stored position on and flushes the cells every
// flush interval, until ctx ends (a final flush) or a write is fenced.
func (p *Projection) follow(ctx context.Context, lost <-chan struct{}) error {
	pos, rev, err := loadPosition(ctx, p.kv)
	if err != nil {
		return err
	}
	b := p.builder(pos, rev, false)
	if n, err := b.loadCheckpoint(ctx); err != nil {
		p.log.Warn("the stop checkpoint does not read back; conversations are read from the stream as they change", zap.Error(err))
	} else if n > 0 {
		p.o.Metrics.Restored.Add(float64(n))
		p.log.Info("restored the followed conversations from the stop checkpoint", zap.Int("conversations", n), zap.Uint64("stream_seq", pos.Seq))
	}
	oc := jetstream.OrderedConsumerConfig{FilterSubjects: projected}
	if pos.Seq > 0 {
		oc.DeliverPolicy, oc.OptStartSeq = jetstream.DeliverByStartSequencePolicy, pos.Seq+1
	}
	it, stop, err := streams.Messages(ctx, p.o.JS, oc)
	if err != nil {
		return err
	}
	defer stop()
	every := p.o.Config.FlushInterval.D()
	next := time.Now().Add(every)
	for {
		m, err := it.Next(jetstream.NextMaxWait(every))
		switch {
		case ctx.Err() != nil:
			if kernel.IsClosed(lost) {
				return nil // another holder takes over from the stored position
			}
			fctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
			defer cancel()
			if err := b.flush(fctx); err != nil {
				return err
			}
			if n, err := b.saveCheckpoint(fctx); err != nil {
				p.log.Warn("could not store the stop checkpoint; the next run reads conversations back from the stream", zap.Error(err))
			} else {
				p.log.Debug("stored the stop checkpoint", zap.Int("conversations", n))
			}
			return nil
		case errors.Is(err, nats.ErrTimeout) || errors.Is(err, jetstream.ErrNoMessages):
		case err != nil:
			return kernel.Unavailable(err)
		default:
			s, err := streams.Decode(m)
			if err != nil {
				return err
			}
			if err := b.apply(ctx, s); err != nil {
				return err
			}
			if md, err := m.Metadata(); err == nil {
				p.o.Metrics.Lag.Set(float64(md.NumPending))
			}
		}
		if time.Now().After(next) {
			if err := b.flush(ctx); err != nil {
				return err
			}
			next = time.Now().Add(every)
		}
	}
}

// projected are the subjects the projection reads.
var projected = []string{streams.FilterConversations, streams.FilterPresence}

// builder folds events into cells for one generation.
type builder struct {
	p        *Projection
	gen      uint64
	pos      Position
	posRev   uint64
	last     uint64 // the last stream sequence applied
	trackers map[string]*tracked
	presence map[string]*kpi.Presence // by agent
	cells    map[string]*cellGroup    // by interval key
	ncells   int
	reader   *streams.Reader
	observe  bool // live: feed the Prometheus histograms
	warned   bool
}

type tracked struct {
	t        *kpi.Tracker
	resolved bool
}

// cellGroup is an interval's cells, one per mask (by index in kpi.Masks).
type cellGroup [26]*cellEntry

type cellEntry struct {
	c      *kpi.Cell
	rev    uint64
	dirty  bool
	event  uint64 // the event whose ops it last saw
	accept bool   // ... and whether it takes them (the event is past its Through)
}

func (p *Projection) builder(pos Position, rev uint64, rebuild bool) *builder {
	return &builder{p: p, gen: pos.Generation, pos: pos, posRev: rev, last: pos.Seq, trackers: map[string]*tracked{}, presence: map[string]*kpi.Presence{},
		cells: map[string]*cellGroup{}, reader: streams.NewReader(p.o.JS), observe: !rebuild}
}

func (b *builder) options() kpi.Options {
	o := kpi.Options{ReopenWindow: b.p.o.Config.ReopenWindow.D()}
	if name := b.p.o.Config.BusinessHours; name != "" && b.p.o.Rules != nil {
		if cal := b.p.o.Rules().Calendar(name); cal != nil {
			o.Calendar = cal
		}
	}
	return o
}

// apply folds one stored event into the cells. An undecodable event is counted, logged once
// and skipped.
func (b *builder) apply(ctx context.Context, s *streams.Stored) error {
	defer func() { b.last = max(b.last, s.Seq) }()
	if s.Seq <= b.last {
		return nil
	}
	b.p.o.Metrics.Events.Inc()
	if s.Err != nil {
		b.p.o.Metrics.Undecodable.Inc()
		if !b.warned {
			b.warned = true
			b.p.log.Error("skipping an undecodable event (counted in switchboard_insight_undecodable_events_total; logged once)",
				zap.Uint64("stream_seq", s.Seq), zap.String("subject", s.Subject), zap.Error(s.Err))
		}
		return nil
	}
	ev := s.Event
	if ev.Type == schema.EventAgentPresence && ev.Presence != nil && !ev.At.IsZero() {
		p, err := b.agentPresence(ctx, ev.Presence.Agent, s.Seq)
		if err != nil {
			return err
		}
		return b.add(ctx, s.Seq, p.Apply(ev))
	}
	if ev.ConversationID == "" || ev.At.IsZero() {
		return nil
	}
	tr, err := b.tracker(ctx, ev.ConversationID, ev.Seq, s.Seq)
	if err != nil {
		return err
	}
	ops := tr.t.Apply(ev, b.options())
	switch ev.Type {
	case schema.EventResolved:
		tr.resolved = true
	case schema.EventReopened, schema.EventOpened:
		tr.resolved = false
	}
	return b.add(ctx, s.Seq, ops)
}

// add applies the ops of the event at stream sequence seq to their cells.
func (b *builder) add(ctx context.Context, seq uint64, ops []kpi.Op) error {
	var cerr error
	var touched []*cellEntry
	for _, op := range ops {
		kpi.Place(op, b.p.loc, func(base string, mi int, op kpi.Op) {
			if cerr != nil {
				return
			}
			ce, err := b.cell(ctx, base, mi)
			if err != nil {
				cerr = err
				return
			}
			if ce.event != seq { // the cell's first op of this event decides for all of them
				ce.event, ce.accept = seq, seq > ce.c.Through
				if ce.accept {
					touched = append(touched, ce)
				}
			}
			if ce.accept {
				ce.c.Add(op)
				ce.dirty = true
			}
		})
		if cerr != nil {
			return cerr
		}
		if b.observe && op.Sign > 0 {
			b.p.o.Metrics.observe(op)
		}
	}
	for _, ce := range touched {
		ce.c.Through = seq
	}
	return nil
}

// agentPresence returns the agent's presence state, reading their previous presence event
// back from the stream when it is not in memory.
func (b *builder) agentPresence(ctx context.Context, agent string, streamSeq uint64) (*kpi.Presence, error) {
	if p := b.presence[agent]; p != nil {
		return p, nil
	}
	p := &kpi.Presence{}
	var last *schema.Event
	if streamSeq > 1 {
		err := b.reader.Read(ctx, streams.Query{Filter: streams.PresenceEventSubject(agent), Until: streamSeq - 1}, func(st *streams.Stored) error {
			if st.Seq >= streamSeq {
				return streams.ErrStop
			}
			if st.Event != nil {
				last = st.Event
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	if last != nil {
		p.Apply(last)
	}
	b.presence[agent] = p
	return p, nil
}

// tracker returns the conversation's tracker, reading its earlier events back from the stream
// when it is not in memory (after a restart, or once it was dropped for room).
func (b *builder) tracker(ctx context.Context, conv string, seq, streamSeq uint64) (*tracked, error) {
	if tr := b.trackers[conv]; tr != nil {
		return tr, nil
	}
	if max := b.p.o.Config.MaxTrackers; max > 0 && len(b.trackers) >= max {
		b.shed(max)
	}
	tr := &tracked{t: &kpi.Tracker{}}
	if seq > 1 {
		opts := b.options()
		err := b.reader.Read(ctx, streams.Query{Filter: streams.ConversationFilter(conv), Until: streamSeq - 1}, func(st *streams.Stored) error {
			if st.Seq >= streamSeq {
				return streams.ErrStop
			}
			if st.Event != nil && st.Event.Seq < seq {
				tr.t.Apply(st.Event, opts)
				tr.resolved = st.Event.Type == schema.EventResolved || (tr.resolved && st.Event.Type != schema.EventReopened)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		b.p.o.Metrics.Rebuilt.Inc()
	}
	b.trackers[conv] = tr
	return tr, nil
}

// shed drops trackers for room: resolved conversations first, then any, down to 3/4 of max.
func (b *builder) shed(max int) {
	target := max * 3 / 4
	for pass := range 2 {
		for id, tr := range b.trackers {
			if len(b.trackers) <= target {
				return
			}
			if tr.resolved || pass == 1 {
				delete(b.trackers, id)
			}
		}
	}
}

// cell returns the cell under key, loading it on first use.
func (b *builder) cell(ctx context.Context, base string, mi int) (*cellEntry, error) {
	group := b.cells[base]
	if group == nil {
		group = &cellGroup{}
		b.cells[base] = group
	}
	if ce := group[mi]; ce != nil {
		return ce, nil
	}
	id := kpi.CellID{Base: base, Mask: kpi.Masks[mi]}
	c, rev, err := getCell(ctx, b.p.kv, b.gen, id.Key())
	if errors.Is(err, kpi.ErrBadCell) {
		b.p.o.Metrics.Undecodable.Inc()
		b.p.log.Error("a stored report cell does not decode; it starts over (run switchboard insight rebuild to recompute it)", zap.Error(err))
		c, err = nil, nil
	}
	if err != nil {
		return nil, err
	}
	if c == nil {
		c = kpi.NewCell()
	}
	ce := &cellEntry{c: c, rev: rev}
	group[mi] = ce
	b.ncells++
	return ce, nil
}

// flush stores the changed cells, then the position. A lost compare-and-set means another
// writer moved on: errFenced.
func (b *builder) flush(ctx context.Context) error {
	if err := b.flushCells(ctx); err != nil {
		return err
	}
	return b.storePosition(ctx)
}

// flushCells stores the changed cells (a crash right after it leaves the position behind:
// the events replayed then change nothing).
func (b *builder) flushCells(ctx context.Context) error {
	for base, group := range b.cells {
		for mi, ce := range group {
			if ce == nil || !ce.dirty {
				continue
			}
			if err := b.store(ctx, kpi.CellID{Base: base, Mask: kpi.Masks[mi]}.Key(), ce); err != nil {
				return err
			}
		}
	}
	return nil
}

// store writes one cell (compare-and-set on its revision).
func (b *builder) store(ctx context.Context, key string, ce *cellEntry) error {
	ce.c.Through = max(ce.c.Through, b.last)
	data := ce.c.Encode()
	var rev uint64
	var err error
	if ce.rev == 0 {
		rev, err = b.p.kv.Create(ctx, cellKey(b.gen, key), data)
	} else {
		rev, err = b.p.kv.Update(ctx, cellKey(b.gen, key), data, ce.rev)
	}
	if err != nil {
		if kernel.IsConflict(err) || errors.Is(err, jetstream.ErrKeyExists) {
			return errFenced
		}
		return kernel.KVError(err)
	}
	ce.rev, ce.dirty = rev, false
	return nil
}

// storePosition stores how far the cells reflect the stream.
func (b *builder) storePosition(ctx context.Context) error {
	if b.last == b.pos.Seq && b.posRev != 0 {
		b.evict()
		return nil
	}
	pos := b.pos
	pos.Seq, pos.At = b.last, time.Now().UTC()
	data, _ := json.Marshal(pos)
	var rev uint64
	var err error
	if b.posRev == 0 {
		rev, err = b.p.kv.Create(ctx, posKey, data)
	} else {
		rev, err = b.p.kv.Update(ctx, posKey, data, b.posRev)
	}
	if err != nil {
		if kernel.IsConflict(err) || errors.Is(err, jetstream.ErrKeyExists) {
			return errFenced
		}
		return kernel.KVError(err)
	}
	b.pos, b.posRev = pos, rev
	b.p.o.Metrics.Position.Set(float64(pos.Seq))
	b.evict()
	return nil
}

// evict drops the clean cells once there are many (they are read back when touched again).
func (b *builder) evict() {
	if b.ncells <= maxCells {
		return
	}
	for base, group := range b.cells {
		kept := 0
		for mi, ce := range group {
			switch {
			case ce == nil:
			case ce.dirty:
				kept++
			default:
				group[mi] = nil
				b.ncells--
			}
		}
		if kept == 0 {
			delete(b.cells, base)
		}
	}
}

func init() {
	if len(kpi.Masks) != len(cellGroup{}) {
		panic("insight: cellGroup must hold one cell per kpi.Masks")
	}
}

// Metrics are the projection's Prometheus series.
type Metrics struct {
	Events      prometheus.Counter
	Undecodable prometheus.Counter
	Restarts    prometheus.Counter
	Rebuilt     prometheus.Counter
	Restored    prometheus.Counter
	Lag         prometheus.Gauge
	Position    prometheus.Gauge
	durations   map[string]*prometheus.HistogramVec
}

// durationBuckets span seconds to days.
var durationBuckets = []float64{5, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 28800, 86400, 172800, 604800}

// NewMetrics creates the series and registers them with reg (nil: unregistered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Events: prometheus.NewCounter(prometheus.CounterOpts{Name: "switchboard_insight_events_total",
			Help: "Events the insight projection read from SB_CONVERSATIONS."}),
		Undecodable: prometheus.NewCounter(prometheus.CounterOpts{Name: "switchboard_insight_undecodable_total",
			Help: "Events (or stored report cells) the insight projection could not decode and skipped."}),
		Restarts: prometheus.NewCounter(prometheus.CounterOpts{Name: "switchboard_insight_restarts_total",
			Help: "Times the insight projection started over (an error, a lost lease, a rebuild switching generations)."}),
		Rebuilt: prometheus.NewCounter(prometheus.CounterOpts{Name: "switchboard_insight_conversations_read_back_total",
			Help: "Conversations whose earlier events the projection read back from the stream (after a restart or for room)."}),
		Restored: prometheus.NewCounter(prometheus.CounterOpts{Name: "switchboard_insight_conversations_restored_total",
			Help: "Conversations whose state the projection took from the checkpoint of a clean stop instead of reading them back."}),
		Lag: prometheus.NewGauge(prometheus.GaugeOpts{Name: "switchboard_insight_lag_events",
			Help: "Events on SB_CONVERSATIONS the insight projection has not read yet (on the instance that runs it)."}),
		Position: prometheus.NewGauge(prometheus.GaugeOpts{Name: "switchboard_insight_position",
			Help: "The SB_CONVERSATIONS stream sequence the stored report cells reflect."}),
		durations: map[string]*prometheus.HistogramVec{},
	}
	cs := []prometheus.Collector{m.Events, m.Undecodable, m.Restarts, m.Rebuilt, m.Restored, m.Lag, m.Position}
	for _, d := range []struct{ metric, name, help string }{
		{kpi.FirstResponse, "switchboard_first_response_seconds", "First response times (a conversation's first customer message to the first agent reply), by channel and queue."},
		{kpi.ResolutionFirst, "switchboard_resolution_seconds", "Times from opening to first resolution, by channel and queue."},
		{kpi.QueueWait, "switchboard_queue_wait_seconds", "Times waiting in a queue before an agent was assigned, by channel and queue."},
	} {
		h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: d.name, Help: d.help, Buckets: durationBuckets}, []string{"channel", "queue"})
		m.durations[d.metric] = h
		cs = append(cs, h)
	}
	if reg != nil {
		reg.MustRegister(cs...)
	}
	return m
}

func (m *Metrics) observe(op kpi.Op) {
	if h := m.durations[op.Name]; h != nil {
		h.WithLabelValues(op.Dims.Channel, op.Dims.Queue).Observe(float64(op.Value) / 1000)
	}
}
