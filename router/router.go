package router

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/switchboardhq/switchboard/pipeline"
	"github.com/switchboardhq/switchboard/pipeline/kernel"
	"github.com/switchboardhq/switchboard/pipeline/streams"
	"github.com/switchboardhq/switchboard/router/agents"
	"github.com/switchboardhq/switchboard/router/rules"
	"github.com/switchboardhq/switchboard/schema"
)

// Options configures a [Router].
type Options struct {
	JS         jetstream.JetStream
	Partitions int
	// Lanes are how many customers' messages each partition handles at once (1: one
	// message at a time); each customer's stay in order.
	Lanes int
	// MaxAttempts before a message that keeps failing is dead-lettered.
	MaxAttempts int
	DLQ         *pipeline.DeadLetters
	Metrics     *pipeline.Metrics
	Logger      *zap.Logger
	Now         func() time.Time
	// Config is the router section, defaults applied.
	Config Config
	// Rules are the routing rules; nil turns routing off (threading only).
	Rules *RulesHolder
	// Leases make each customer partition exclusive across instances, and keep the
	// dispatcher (waiting queue, escalations, presence timers) on one instance at a time.
	Leases kernel.Leaser
	// Registerer takes the router's metrics (nil: unregistered).
	Registerer prometheus.Registerer
	// Index finds inbound messages by id (late duplicates, GET /v1/messages/{id}); nil:
	// they are not recorded.
	Index *pipeline.MessageIndex
	// Roster is the roster in force (nil: router.agents and the API's agents in sb_agents,
	// read by New).
	Roster *LiveRoster
	// SurveyLinks is the public base URL of the survey page (email surveys get signed links
	// to it; empty: a numbered question to answer by replying).
	SurveyLinks func() string
	// Flows are the decision-tree flows (router.flows_file; nil: none).
	Flows *FlowsHolder
	// Stages identify customers' messages: the router consumes them straight from
	// SB_INBOUND (partitioned by the customer the sender is expected to be) and routes those
	// of its own partition at once; the others (linked or merged identities) go on to their
	// customer's SB_ROUTE partition. Nil: the router reads SB_ROUTE only.
	Stages pipeline.Stages
}

// Router consumes customers' messages from SB_INBOUND and everything else (forwarded
// messages, statuses, commands, timers) from SB_ROUTE, and publishes SB_CONVERSATIONS.
type Router struct {
	o          Options
	js         jetstream.JetStream
	store      *Store
	events     *streams.Reader
	runner     *pipeline.Partitioned
	log        *zap.Logger
	board      *agents.Board
	waits      *agents.Waitlist
	agents     *agents.Store
	metrics    *Metrics
	caches     []*partCache
	dispatcher *dispatcher
	// surveyKey signs the email surveys' links (docs/surveys.md).
	surveyKey []byte
	// roster is the roster in force; rosterMu orders its changes; rosterChanged asks the
	// dispatcher to re-queue at once what agents gone from it hold.
	roster        *LiveRoster
	rosterMu      sync.Mutex
	rosterChanged atomic.Bool
	// fresh are the customers the identity stage just created, for the pass at hand.
	fresh freshCustomers
}

// New opens the router's buckets (see [Provision]). It starts nothing.
func New(ctx context.Context, o Options) (*Router, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	o.Config = o.Config.WithDefaults()
	st, err := OpenStore(ctx, o.JS)
	if err != nil {
		return nil, err
	}
	st.Index = o.Index
	r := &Router{o: o, js: o.JS, store: st, events: streams.NewReader(o.JS), log: o.Logger.Named("router"), waits: agents.NewWaitlist(),
		metrics: NewMetrics(o.Registerer)}
	if r.roster = o.Roster; r.roster == nil {
		if r.roster, err = OpenRoster(ctx, o.JS, o.Config.Agents, o.Config.LoadWeights); err != nil {
			return nil, err
		}
	}
	roster := r.roster.Current()
	if o.Rules != nil && o.Rules.Current().Roster() != roster {
		if _, err := o.Rules.UseRoster(roster); err != nil {
			return nil, fmt.Errorf("rules:\n%w", err)
		}
	}
	r.metrics.setRoster(roster)
	r.board = agents.NewBoard(roster, o.Config.Presence.HeartbeatTimeout.D(), r.waits, o.Now)
	r.agents = agents.NewStore(st.Agents, r.board, o.Now, r.metrics.AssignConflicts.Inc)
	r.caches = make([]*partCache, max(o.Partitions, 1))
	for i := range r.caches {
		r.caches[i] = newPartCache()
	}
	r.runner = &pipeline.Partitioned{
		JS: o.JS, Stream: streams.StreamRoute, Stage: "router", Partitions: o.Partitions,
		Filters: func(p int) []string { return []string{streams.RouteSubject(p)} },
		Handle:  r.handle, Leases: o.Leases,
		MaxAttempts: o.MaxAttempts, DLQ: o.DLQ, Metrics: o.Metrics, Logger: o.Logger,
		Backoff: kernel.Backoff{Min: 50 * time.Millisecond, Max: 10 * time.Second},
	}
	if o.Stages != nil {
		// The consumers keep the name the ingest stage gave them, so a store from before
		// goes on where that stage stopped.
		r.runner.More = []pipeline.Source{{Stream: streams.StreamInbound, Stage: "ingest",
			Filters: func(p int) []string { return []string{streams.InboundPartitionFilter(p)} },
			Lanes:   o.Lanes, Lane: pipeline.HeaderLane}}
	}
	r.dispatcher = &dispatcher{r: r, log: r.log.Named("dispatcher")}
	r.metrics.watch(r.board, r.waits, o.Rules, o.Now)
	if o.Flows != nil {
		r.metrics.FlowsReloadOK.Set(1)
		o.Flows.onReload = func(ok bool) { r.metrics.FlowsReloadOK.Set(map[bool]float64{true: 1, false: 0}[ok]) }
	}
	if r.surveyKey, err = loadSurveyKey(ctx, o.JS, o.Config.Surveys.Key.Value()); err != nil {
		return nil, err
	}
	return r, nil
}

// SurveyKey is the key that signs the survey links (the survey page checks them with it).
func (r *Router) SurveyKey() []byte { return r.surveyKey }

// surveyKeyName is the sb_meta key of the generated survey key.
const surveyKeyName = "survey_key"

// loadSurveyKey is the configured key, else the one kept in sb_meta (made by the first
// instance to start: later ones read it).
func loadSurveyKey(ctx context.Context, js jetstream.JetStream, configured string) ([]byte, error) {
	if configured != "" {
		if len(configured) < 32 {
			return nil, fmt.Errorf("router.surveys.key has %d characters; use at least 32 (e.g. openssl rand -hex 32)", len(configured))
		}
		return []byte(configured), nil
	}
	kv, err := js.KeyValue(ctx, streams.BucketMeta)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", streams.BucketMeta, err)
	}
	for range 3 {
		e, err := kv.Get(ctx, surveyKeyName)
		if err == nil {
			return e.Value(), nil
		}
		if !errors.Is(err, jetstream.ErrKeyNotFound) {
			return nil, fmt.Errorf("read the survey key: %w", err)
		}
		key := make([]byte, 32)
		_, _ = rand.Read(key)
		if _, err := kv.Create(ctx, surveyKeyName, []byte(hex.EncodeToString(key))); err != nil && !errors.Is(err, jetstream.ErrKeyExists) {
			return nil, fmt.Errorf("store the survey key: %w", err)
		}
	}
	return nil, errors.New("the survey key could not be read or made")
}

// Store gives access to the router's records (the REST API uses it).
func (r *Router) Store() *Store { return r.store }

// Board is this instance's view of the agents.
func (r *Router) Board() *agents.Board { return r.board }

// Rules returns the rules in force (nil when routing is off).
func (r *Router) Rules() *rules.Rules {
	if r.o.Rules == nil {
		return nil
	}
	return r.o.Rules.Current()
}

// Setup creates the router's consumers.
func (r *Router) Setup(ctx context.Context) error { return r.runner.Setup(ctx) }

// Run routes until ctx ends: it follows agents and the waiting list, then consumes the
// partitions, runs the dispatcher (under a lease), listens for presence over NATS and
// reloads the rules file when it changes.
func (r *Router) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stopPresence, err := r.listenPresence()
	if err != nil {
		return err
	}
	defer stopPresence()
	boardReady, waitsReady := make(chan struct{}), make(chan struct{})
	rosterInitial := r.followRoster()
	goRun(&wg, func() { r.board.Watch(ctx, r.store.Agents, r.log, boardReady) })
	goRun(&wg, func() { r.waits.Watch(ctx, r.store.Waiting, r.log, waitsReady) })
	for _, ch := range []chan struct{}{boardReady, waitsReady} {
		select {
		case <-ch:
		case <-ctx.Done():
			return nil
		}
	}
	rosterInitial()
	goRun(&wg, func() { r.samplePresence(ctx) })
	if r.o.Rules != nil {
		goRun(&wg, func() { r.o.Rules.Watch(ctx, r.o.Config.ReloadInterval.D()) })
		goRun(&wg, func() { r.o.Flows.Watch(ctx, r.o.Config.ReloadInterval.D()) })
		goRun(&wg, func() { r.dispatcher.runLeased(ctx, r.o.Leases) })
	}
	err = r.runner.Run(ctx)
	fctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r.flush(fctx) // the partitions have stopped: their caches are no longer touched
	return err
}

func goRun(wg *sync.WaitGroup, f func()) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		f()
	}()
}

func (r *Router) handle(ctx context.Context, p int, msg jetstream.Msg) error {
	pc := r.caches[p%len(r.caches)]
	if strings.HasPrefix(msg.Subject(), inboundPrefix) {
		return r.onInbound(ctx, p, pc, msg)
	}
	pc.mu.Lock()
	defer pc.mu.Unlock()
	err := r.dispatch(ctx, pc, msg)
	if err != nil {
		pc.clear() // the next attempt reads everything fresh
	} else if pc.hasEvicted() {
		r.storeEvicted(ctx, pc)
	}
	return err
}

// inboundPrefix starts every subject of customers' messages on SB_INBOUND.
var inboundPrefix = strings.TrimSuffix(streams.FilterInbound, ">")

// onInbound identifies a customer's message as stored by its channel (outside the partition's
// lock: a slow media download holds up no command or timer), then routes it if its customer
// is this partition's, else forwards it to the customer's partition.
func (r *Router) onInbound(ctx context.Context, p int, pc *partCache, msg jetstream.Msg) error {
	seq := pipeline.InboundSeq(msg)
	m, err := r.o.Stages.Prepare(ctx, msg.Data(), seq)
	if err != nil {
		return err
	}
	if streams.Partition(m.CustomerID, r.o.Partitions) != p {
		data, err := kernel.Marshal(m)
		if err != nil {
			return pipeline.Poison(err)
		}
		r.metrics.Forwarded.Inc()
		return pipeline.Forward(ctx, r.js, r.o.Partitions, m.CustomerID, "m:"+m.ID, streams.KindMessage, data, seq)
	}
	// The partition's lanes handle other customers' messages meanwhile (the shared hold);
	// SB_ROUTE's work waits for them and holds the partition alone.
	pc.mu.RLock()
	defer pc.mu.RUnlock()
	defer pc.lockCustomer(m.CustomerID)()
	err = r.onMessage(ctx, pc, m, seq)
	if err != nil {
		pc.forget(m.CustomerID) // the next attempt reads the customer's state fresh
	} else if pc.hasEvicted() {
		r.storeEvicted(ctx, pc)
	}
	return err
}

func (r *Router) dispatch(ctx context.Context, pc *partCache, msg jetstream.Msg) error {
	switch kind := msg.Headers().Get(streams.HeaderKind); kind {
	case streams.KindMessage:
		var m schema.Message
		if err := kernel.Unmarshal(msg.Data(), &m); err != nil || m.ID == "" || m.CustomerID == "" {
			return pipeline.Poison(fmt.Errorf("undecodable or unidentified message: %v", err))
		}
		return r.onMessage(ctx, pc, &m, inboundSeq(msg))
	case streams.KindStatus:
		var st schema.StatusUpdate
		if err := kernel.Unmarshal(msg.Data(), &st); err != nil || st.MessageID == "" {
			return pipeline.Poison(fmt.Errorf("undecodable status: %v", err))
		}
		return r.onStatus(ctx, pc, &st)
	case streams.KindCommand:
		var c Command
		if err := kernel.Unmarshal(msg.Data(), &c); err != nil || c.ID == "" || c.ConversationID == "" {
			return pipeline.Poison(fmt.Errorf("undecodable command: %v", err))
		}
		return r.onCommand(ctx, pc, &c)
	default:
		return pipeline.Poison(fmt.Errorf("unknown envelope kind %q", kind))
	}
}

// Consumers lists the router's durable consumers (for lag metrics).
func (r *Router) Consumers() []pipeline.ConsumerRef { return r.runner.Consumers() }

// routingOn reports whether conversations are queued and assigned.
func (r *Router) routingOn() bool { return r.o.Rules != nil }
