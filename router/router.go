package router

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/switchboardhq/switchboard/connectors"
	"github.com/switchboardhq/switchboard/pipeline"
	"github.com/switchboardhq/switchboard/schema"
)

// Options configures a [Router].
type Options struct {
	JS         jetstream.JetStream
	Partitions int
	// MaxAttempts before a message that keeps failing is dead-lettered.
	MaxAttempts int
	// Leases make each customer partition exclusive across instances.
	Leases  connectors.Leaser
	DLQ     *pipeline.DeadLetters
	Metrics *pipeline.Metrics
	Logger  *zap.Logger
	Now     func() time.Time
}

// Router consumes SB_ROUTE and publishes SB_CONVERSATIONS.
type Router struct {
	o      Options
	js     jetstream.JetStream
	store  *Store
	runner *pipeline.Partitioned
	log    *zap.Logger
}

// New opens the router's buckets. It starts nothing.
func New(ctx context.Context, o Options) (*Router, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	st, err := OpenStore(ctx, o.JS)
	if err != nil {
		return nil, err
	}
	r := &Router{o: o, js: o.JS, store: st, log: o.Logger.Named("router")}
	r.runner = &pipeline.Partitioned{
		JS: o.JS, Stream: pipeline.StreamRoute, Stage: "router", Partitions: o.Partitions,
		Filters: func(p int) []string { return []string{pipeline.RouteSubject(p)} },
		Handle:  r.handle, Leases: o.Leases,
		MaxAttempts: o.MaxAttempts, DLQ: o.DLQ, Metrics: o.Metrics, Logger: o.Logger,
		Backoff: connectors.Backoff{Min: 100 * time.Millisecond, Max: 30 * time.Second},
	}
	return r, nil
}

// Store gives read access to the router's records (the REST API uses it).
func (r *Router) Store() *Store { return r.store }

// Setup creates the router's consumers.
func (r *Router) Setup(ctx context.Context) error { return r.runner.Setup(ctx) }

// Run routes until ctx ends.
func (r *Router) Run(ctx context.Context) error { return r.runner.Run(ctx) }

func (r *Router) handle(ctx context.Context, _ int, msg jetstream.Msg) error {
	switch kind := msg.Headers().Get(pipeline.HeaderKind); kind {
	case pipeline.KindMessage:
		var m schema.Message
		if err := json.Unmarshal(msg.Data(), &m); err != nil || m.ID == "" || m.CustomerID == "" {
			return pipeline.Poison(fmt.Errorf("undecodable or unidentified message: %v", err))
		}
		return r.onMessage(ctx, &m)
	case pipeline.KindStatus:
		var st schema.StatusUpdate
		if err := json.Unmarshal(msg.Data(), &st); err != nil || st.MessageID == "" {
			return pipeline.Poison(fmt.Errorf("undecodable status: %v", err))
		}
		return r.onStatus(ctx, &st)
	case pipeline.KindCommand:
		var c Command
		if err := json.Unmarshal(msg.Data(), &c); err != nil || c.ID == "" || c.ConversationID == "" {
			return pipeline.Poison(fmt.Errorf("undecodable command: %v", err))
		}
		return r.onCommand(ctx, &c)
	default:
		return pipeline.Poison(fmt.Errorf("unknown envelope kind %q", kind))
	}
}

// Consumers lists the router's durable consumers (for lag metrics).
func (r *Router) Consumers() []pipeline.ConsumerRef { return r.runner.Consumers() }
