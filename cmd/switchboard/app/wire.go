package app

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.uber.org/zap"

	"github.com/switchboardhq/switchboard/connectors"
	"github.com/switchboardhq/switchboard/connectors/api"
	"github.com/switchboardhq/switchboard/connectors/email"
	"github.com/switchboardhq/switchboard/connectors/meta"
	"github.com/switchboardhq/switchboard/connectors/telegram"
	"github.com/switchboardhq/switchboard/connectors/twilio"
	"github.com/switchboardhq/switchboard/connectors/webchat"
	"github.com/switchboardhq/switchboard/pipeline"
	"github.com/switchboardhq/switchboard/pipeline/kernel"
	"github.com/switchboardhq/switchboard/pipeline/streams"
	"github.com/switchboardhq/switchboard/router"
	"github.com/switchboardhq/switchboard/router/flows"
	"github.com/switchboardhq/switchboard/router/identity"
	"github.com/switchboardhq/switchboard/router/insight"
	"github.com/switchboardhq/switchboard/router/kb"
	"github.com/switchboardhq/switchboard/router/listing"
	"github.com/switchboardhq/switchboard/router/rest"
	"github.com/switchboardhq/switchboard/router/rules"
	"github.com/switchboardhq/switchboard/router/webhooks"
)

// wiring is everything built from the config, before anything runs.
type wiring struct {
	connMetrics *connectors.Metrics
	metrics     *pipeline.Metrics
	host        connectors.Host
	ingest      *pipeline.Ingest
	router      *router.Router
	dispatcher  *pipeline.Dispatcher
	leases      kernel.Leaser
	sources     []connectors.SourceSpec
	rest        *rest.API
	graph       *identity.Graph
	feed        *pipeline.Feed
	insight     *insight.Projection
	reports     *insight.Reports
	webhooks    *webhooks.Deliverer
	listing     *listing.Index
	listingJS   jetstream.JetStream // the listing's own connection (a long replay at start)
}

// wire builds the host services, the connectors and the stages. Connectors are listed here
// explicitly; there is no registry.
func (a *App) wire(ctx context.Context, instance *pipeline.Instance) (*wiring, error) {
	a.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "switchboard_stream_undecodable_events_total",
			Help: "Events on SB_CONVERSATIONS that did not decode when read (REST, the feed, recovery); each is also reported with its stream sequence."},
			func() float64 { return float64(streams.UndecodableTotal()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "switchboard_consumer_resets_total",
			Help: "Consumers taken over by resetting them to their acknowledgement floor, because the work of the instance that had them had ended (it released its lease on a clean stop, or it was this instance's earlier run, which a crash ended), rather than waiting out their AckWait."},
			func() float64 { return float64(pipeline.HandbacksReset()) }))
	w := &wiring{connMetrics: connectors.NewMetrics(a.reg), metrics: pipeline.NewMetrics(a.reg)}
	blobs, err := pipeline.NewBlobs(ctx, a.js)
	if err != nil {
		return nil, err
	}
	stateKV, err := a.js.KeyValue(ctx, streams.BucketState)
	if err != nil {
		return nil, err
	}
	leaseKV, err := a.js.KeyValue(ctx, streams.BucketLeases)
	if err != nil {
		return nil, err
	}
	w.leases = pipeline.NewLeases(leaseKV, instance, a.cfg.Pipeline.LeaseTTL.D(), a.log.Named("lease"))
	intakeJS, err := a.stageJS("intake")
	if err != nil {
		return nil, err
	}
	publisher := pipeline.NewPublisher(intakeJS, blobs, a.cfg.Pipeline.Partitions, w.metrics)
	publisher.PartitionBy(identity.NewNormalizer(a.cfg.Router.Identity).ExpectedCustomer)
	feedJS, err := a.stageJS("feed") // the instance's live subscription on its own connection
	if err != nil {
		return nil, err
	}
	feed, signals := pipeline.NewFeed(feedJS, a.log), pipeline.NewSignals(feedJS.Conn(), a.log)
	w.feed = feed
	limited := connectors.NewLimitedPublisher(publisher, a.cfg.HTTP.RateLimits, a.reg)
	hostFor := func(name string) connectors.Host {
		return connectors.Host{Publisher: limited, Blobs: blobs, State: pipeline.NewState(stateKV, name),
			Leases: w.leases, Feed: feed, Signals: signals, Logger: a.log.Named(name), PublicURL: a.cfg.HTTP.PublicURL, Registerer: a.reg}
	}
	w.host = hostFor("rest")
	a.conns = a.buildConnectors(hostFor)
	if err := a.wireStages(ctx, w, blobs, publisher); err != nil {
		return nil, err
	}
	for _, c := range a.conns {
		if sp, ok := c.(connectors.SourceProvider); ok {
			w.sources = append(w.sources, sp.Sources()...)
		}
	}
	if err := a.wireInsight(ctx, w); err != nil {
		return nil, err
	}
	if err := webhooks.Provision(ctx, a.js, a.cfg.Webhooks, a.cfg.NATS.Replicas); err != nil {
		return nil, err
	}
	hookJS, err := a.stageJS("webhooks")
	if err != nil {
		return nil, err
	}
	if w.webhooks, err = webhooks.New(ctx, webhooks.Options{JS: hookJS, Config: a.cfg.Webhooks, Leases: w.leases,
		Conversation: w.router.Store().Conversation, Metrics: webhooks.NewMetrics(a.reg), Logger: a.log.Named("webhooks")}); err != nil {
		return nil, err
	}
	w.listing = listing.New()
	a.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "switchboard_listing_conversations",
		Help: "Conversations in this instance's listing index (GET /v1/conversations)."}, func() float64 { return float64(w.listing.Len()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "switchboard_listing_position",
			Help: "The last SB_CONVERSATIONS sequence the listing index has applied."}, func() float64 { return float64(w.listing.Position()) }))
	if w.listingJS, err = a.stageJS("listing"); err != nil {
		return nil, err
	}
	w.rest = rest.New(rest.Options{Reads: w.router.Store(), Router: w.router, Identities: w.graph,
		Events: streams.NewReader(a.js), Blobs: blobs, Signals: w.host.Signals, Tokens: a.cfg.REST.Tokens, JWT: a.cfg.REST.JWT, Logger: a.log.Named("rest"),
		Reports: w.reports, Webhooks: w.webhooks, Reload: a.Reload, Listing: w.listing})
	a.reg.MustRegister(pipeline.NewLagCollector(a.js, func() []pipeline.ConsumerRef {
		refs := append(w.ingest.Consumers(), w.router.Consumers()...)
		return append(refs, w.dispatcher.Consumers()...)
	}))
	return w, nil
}

// buildConnectors lists every connector the config enables.
func (a *App) buildConnectors(hostFor func(string) connectors.Host) []connectors.Connector {
	var out []connectors.Connector
	if c := a.cfg.Channels.API; c != nil {
		out = append(out, api.New(*c, hostFor("api")))
	}
	if c := a.cfg.Channels.Webchat; c != nil {
		out = append(out, webchat.New(*c, hostFor("webchat")))
	}
	if c := a.cfg.Channels.Email; c != nil {
		out = append(out, email.New(*c, hostFor("email")))
	}
	if c := a.cfg.Channels.Meta; c != nil {
		out = append(out, meta.New(*c, hostFor("meta")))
	}
	if c := a.cfg.Channels.Telegram; c != nil {
		out = append(out, telegram.New(*c, hostFor("telegram")))
	}
	if c := a.cfg.Channels.Twilio; c != nil {
		out = append(out, twilio.New(*c, hostFor("twilio")))
	}
	return out
}

func (a *App) wireStages(ctx context.Context, w *wiring, blobs *pipeline.Blobs, publisher *pipeline.Publisher) (err error) {
	js := map[string]jetstream.JetStream{}
	for _, name := range []string{"ingest", "router", "outbound"} {
		if js[name], err = a.stageJS(name); err != nil {
			return err
		}
	}
	if err := router.Provision(ctx, a.js, a.cfg.NATS.Replicas); err != nil {
		return err
	}
	graph, err := identity.NewGraph(ctx, js["ingest"], a.cfg.Router.Identity, a.log, nil)
	if err != nil {
		return err
	}
	w.graph = graph
	var fetchers []connectors.MediaFetcher
	var senders []connectors.SenderSpec
	for _, c := range a.conns {
		if f, ok := c.(connectors.MediaFetcher); ok {
			fetchers = append(fetchers, f)
		}
		if sp, ok := c.(connectors.SenderProvider); ok {
			senders = append(senders, sp.Senders()...)
		}
	}
	dlq := pipeline.NewDeadLetters(a.js, w.metrics)
	stages := pipeline.Stages{
		pipeline.NewSanitize(),
		pipeline.NewMedia(blobs, fetchers, a.cfg.Pipeline.Attachments),
		identity.NewStage(graph),
	}
	if w.ingest, err = pipeline.NewIngest(ctx, pipeline.IngestOptions{JS: js["ingest"], Config: a.cfg.Pipeline, Leases: w.leases,
		DLQ: dlq, Metrics: w.metrics, Logger: a.log}); err != nil {
		return err
	}
	if w.router, err = a.buildRouter(ctx, w, js["router"], dlq, stages); err != nil {
		return err
	}
	graph.OpensFirst(w.router.FirstConversation)
	graph.OnCreated(w.router.Created)
	if w.dispatcher, err = pipeline.NewDispatcher(ctx, pipeline.DispatcherOptions{JS: js["outbound"], Leases: w.leases, Senders: senders,
		Statuses: publisher, DLQ: dlq, Metrics: w.metrics, Logger: a.log}); err != nil {
		return err
	}
	for _, s := range []interface{ Setup(context.Context) error }{w.ingest, w.router, w.dispatcher} {
		if err := s.Setup(ctx); err != nil {
			return err
		}
	}
	return nil
}

// buildRouter compiles the rules (a bad rules file stops the start with every problem
// located) and builds the router.
func (a *App) buildRouter(ctx context.Context, w *wiring, js jetstream.JetStream, dlq *pipeline.DeadLetters, stages pipeline.Stages) (*router.Router, error) {
	rc := a.cfg.Router
	roster, err := router.OpenRoster(ctx, js, rc.Agents, rc.LoadWeights)
	if err != nil {
		return nil, err
	}
	var holder *router.RulesHolder
	if rc.RoutingEnabled() {
		holder, err = router.NewRulesHolder(rc.RulesFile, roster.Current(), a.log)
		if err != nil {
			return nil, fmt.Errorf("rules:\n%w", err)
		}
	}
	if holder != nil {
		keep := a.cfg.Pipeline.WithDefaults().Retention.Route.D()
		if err := holder.SetCheck(func(rs *rules.Rules) error {
			if long := rs.SLATooLong(keep, time.Now()); len(long) > 0 {
				return fmt.Errorf("%s: %s", rc.RulesFile, strings.Join(long, "\n"+rc.RulesFile+": "))
			}
			return nil
		}); err != nil {
			return nil, fmt.Errorf("rules:\n%w", err)
		}
	}
	fh, err := a.buildFlows(holder)
	if err != nil {
		return nil, err
	}
	index, err := pipeline.OpenMessageIndex(ctx, js, a.cfg.Pipeline, w.metrics)
	if err != nil {
		return nil, err
	}
	w.feed.UseIndex(index)
	return router.New(ctx, router.Options{JS: js, Partitions: a.cfg.Pipeline.Partitions, Lanes: a.cfg.Pipeline.Lanes,
		MaxAttempts: a.cfg.Pipeline.MaxAttempts, DLQ: dlq, Metrics: w.metrics, Logger: a.log,
		Config: rc, Rules: holder, Roster: roster, Leases: w.leases, Registerer: a.reg, Index: index, SurveyLinks: a.publicURL, Now: a.now,
		Flows: fh, Stages: stages})
}

// wireInsight builds the insight projection and its reports (when insight is on).
func (a *App) wireInsight(ctx context.Context, w *wiring) error {
	ic := a.cfg.Insight
	if !ic.On() {
		return nil
	}
	current := w.router.Rules
	if rs := current(); rs != nil {
		if name := ic.BusinessHours; name != "" && rs.Calendar(name) == nil {
			return fmt.Errorf("insight.business_hours: unknown business hours %q (the rules file defines: %v)", name, rs.Calendars())
		}
	} else if ic.BusinessHours != "" {
		return fmt.Errorf("insight.business_hours: %q needs a rules file (router.rules_file) that defines it under business_hours", ic.BusinessHours)
	}
	if err := insight.Provision(ctx, a.js, ic, a.cfg.NATS.Replicas); err != nil {
		return err
	}
	js, err := a.stageJS("insight")
	if err != nil {
		return err
	}
	if w.insight, err = insight.New(ctx, insight.Options{JS: js, Config: ic, Rules: current, Leases: w.leases,
		Metrics: insight.NewMetrics(a.reg), Logger: a.log}); err != nil {
		return err
	}
	w.reports, err = insight.OpenReports(ctx, a.js, ic)
	return err
}

// startWorkers runs the stages and the pull sources.
func (a *App) startWorkers(w *wiring) {
	wctx, stop := context.WithCancel(context.Background())
	a.stopWorkers = stop
	for name, run := range map[string]func(context.Context) error{
		"ingest": w.ingest.Run, "router": w.router.Run, "outbound": w.dispatcher.Run, "identities": w.graph.WatchOwners,
		"insight": w.runInsight, "webhooks": w.webhooks.Run,
		"listing": func(ctx context.Context) error { return w.listing.Follow(ctx, w.listingJS, a.log.Named("listing")) },
	} {
		a.workers.Add(1)
		a.runningMu.Lock()
		if a.running == nil {
			a.running = map[string]bool{}
		}
		a.running[name] = true
		a.runningMu.Unlock()
		go func() {
			defer a.workers.Done()
			defer func() {
				a.runningMu.Lock()
				delete(a.running, name)
				a.runningMu.Unlock()
			}()
			if err := run(wctx); err != nil {
				a.log.Error("worker stopped", zap.String("worker", name), zap.Error(err))
			}
		}()
	}
	sctx, stopSources := context.WithCancel(context.Background())
	a.stopSources = stopSources
	for _, spec := range w.sources {
		a.sources.Add(1)
		go func() {
			defer a.sources.Done()
			connectors.Supervise(sctx, spec, connectors.SuperviseOptions{Leases: w.leases,
				Backoff: kernel.Backoff{Min: time.Second, Max: 2 * time.Minute}, Metrics: w.connMetrics,
				Logger: a.log.Named("source")})
		}()
	}
}

// runInsight runs the projection (nothing when insight is off).
func (w *wiring) runInsight(ctx context.Context) error {
	if w.insight == nil {
		return nil
	}
	return w.insight.Run(ctx)
}

// buildFlows loads the flows file (router.flows_file) with its environment: the rules'
// business hours, the lookup client, the knowledge base. A bad file, a rule naming a flow
// the file lacks, or a flow naming business hours the rules lack stops the start.
func (a *App) buildFlows(holder *router.RulesHolder) (*router.FlowsHolder, error) {
	rc := a.cfg.Router
	if rc.FlowsFile == "" {
		if rc.KnowledgeBase != "" {
			return nil, fmt.Errorf("router.knowledge_base: the knowledge base serves the flows' article steps: give router.flows_file too")
		}
		return nil, nil
	}
	if holder == nil {
		return nil, fmt.Errorf("router.flows_file: flows need routing (router.agents or router.rules_file)")
	}
	env := &flows.Env{
		Calendar: func(name string) rules.Calendar {
			if rs := holder.Current(); rs != nil {
				return rs.Calendar(name)
			}
			return nil
		},
		Lookup: flows.HTTPLookup(&http.Client{}),
	}
	var base *kb.Holder
	if rc.KnowledgeBase != "" {
		var err error
		if base, err = kb.Open(rc.KnowledgeBase, a.log); err != nil {
			return nil, fmt.Errorf("router.knowledge_base:\n%w", err)
		}
		env.Search = base.Search
	}
	fh, err := router.NewFlowsHolder(rc.FlowsFile, env, a.log)
	if err != nil {
		return nil, fmt.Errorf("flows:\n%w", err)
	}
	if base != nil {
		fh.AlsoReload(base.Reload)
	}
	if problems := CheckFlows(holder.Current(), fh.Current()); len(problems) > 0 {
		return nil, fmt.Errorf("flows:\n%s", strings.Join(problems, "\n"))
	}
	return fh, nil
}

// CheckFlows reports what the rules and the flows file say of each other that does not
// hold: a rule's flow the file does not define, business hours a flow's branch names that
// the rules do not.
func CheckFlows(rs *rules.Rules, f *flows.File) []string {
	var out []string
	for _, rule := range slices.Sorted(maps.Keys(rs.Flows())) {
		if name := rs.Flows()[rule]; f.Flow(name) == nil {
			out = append(out, fmt.Sprintf("rule %s names flow %q, which the flows file does not define (flows: %s)", rule, name,
				strings.Join(slices.Sorted(maps.Keys(f.Flows)), ", ")))
		}
	}
	for _, h := range f.Calendars() {
		if rs.Calendar(h) == nil {
			out = append(out, fmt.Sprintf("a flow branches on business hours %q, which the rules file does not define (business_hours: %v)", h, rs.Calendars()))
		}
	}
	return out
}
