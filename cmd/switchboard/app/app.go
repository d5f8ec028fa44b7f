// Package app assembles a Switchboard gateway from its configuration: NATS (embedded or
// external), the provisioned streams, the connectors, the pipeline stages, the router and the
// HTTP server, and runs them with a two-phase shutdown. Tests start whole gateways with it.
package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/switchboardhq/switchboard/connectors"
	"github.com/switchboardhq/switchboard/pipeline"
	"github.com/switchboardhq/switchboard/schema"
)

// Options are what `switchboard serve` passes besides the config file.
type Options struct {
	Config   *Config
	HTTPAddr string // overrides http.listen
	NATSAddr string // overrides nats.embedded.listen
	DataDir  string // overrides data_dir
	Logger   *zap.Logger
	// InstanceID names this process in leases (default: hostname-pid).
	InstanceID string
	// ConfigPath is the file Config was read from: SIGHUP and POST /-/reload read it again
	// (empty: no reload).
	ConfigPath string
	// Now is the router's clock: the time its events carry (default time.Now). Tests that
	// replay a generated history through a gateway set it.
	Now func() time.Time
}

// App is a running gateway.
type App struct {
	cfg      *Config
	log      *zap.Logger
	reg      *prometheus.Registry
	embedded *pipeline.Embedded
	nc       *nats.Conn
	js       jetstream.JetStream
	extra    []*nats.Conn // one connection per stage
	intake   *connectors.Intake
	conns    []connectors.Connector
	srv      *http.Server
	ln       net.Listener
	instance *pipeline.Instance // this process's name in leases; holds the data directory
	now      func() time.Time   // the router's clock (nil: time.Now)

	opts       Options // as started (the overrides apply to reloaded files too)
	configPath string
	w          *wiring
	reloadMu   sync.Mutex
	reloads    *reloadMetrics

	stopSources context.CancelFunc
	sources     sync.WaitGroup
	stopWorkers context.CancelFunc
	workers     sync.WaitGroup
	runningMu   sync.Mutex
	running     map[string]bool // the workers not returned yet, for a stop that runs out of time

	stopOnce sync.Once
	stopErr  error
}

// Run starts the gateway and stops it when ctx ends.
func Run(ctx context.Context, o Options) error {
	// SIGHUP's default action ends the process: catch it before Start says the gateway is
	// up, or a reload asked for right then (a supervisor, a test) kills it. One that comes
	// during the start is kept and applied once it is up.
	hup := make(chan os.Signal, 1)
	if o.ConfigPath != "" {
		signal.Notify(hup, syscall.SIGHUP)
		defer signal.Stop(hup)
	}
	a, err := Start(ctx, o)
	if err != nil {
		return err
	}
	go a.watchHangup(ctx, hup)
	<-ctx.Done()
	a.log.Info("shutting down")
	return a.Stop(context.Background())
}

// Start brings a gateway up and returns once it serves HTTP. On error, everything started
// is stopped again.
func Start(ctx context.Context, o Options) (a *App, err error) {
	cfg := *o.Config
	applyOverrides(&cfg, o)
	log := o.Logger
	if log == nil {
		if log, err = NewLogger(cfg.Log); err != nil {
			return nil, err
		}
	}
	a = &App{cfg: &cfg, log: log, reg: prometheus.NewRegistry(), now: o.Now, opts: o, configPath: o.ConfigPath}
	a.reloads = newReloadMetrics(a.reg)
	started := a // the returns below set a to nil
	defer func() {
		if err != nil {
			started.shutdown(context.Background())
		}
	}()
	if err = a.connectNATS(ctx); err != nil {
		return nil, err
	}
	if err = pipeline.WaitJetStream(ctx, a.nc); err != nil {
		return nil, err
	}
	if err = pipeline.Provision(ctx, a.js, cfg.Pipeline, cfg.NATS.Replicas); err != nil {
		return nil, err
	}
	if a.instance, err = claimInstance(o.InstanceID, cfg.DataDir); err != nil {
		return nil, err
	}
	w, err := a.wire(ctx, a.instance)
	if err != nil {
		return nil, err
	}
	a.w = w
	if err = a.serveHTTP(w); err != nil {
		return nil, err
	}
	a.startWorkers(w)
	log.Info("switchboard is up", zap.String("http", a.HTTPAddr()), zap.String("nats", a.NATSURL()),
		zap.String("data_dir", cfg.DataDir), zap.Int("partitions", cfg.Pipeline.Partitions))
	return a, nil
}

func applyOverrides(c *Config, o Options) {
	if o.HTTPAddr != "" {
		c.HTTP.Listen = o.HTTPAddr
	}
	if o.NATSAddr != "" {
		c.NATS.Embedded.Listen = o.NATSAddr
	}
	if o.DataDir != "" {
		c.DataDir = o.DataDir
	}
}

// claimInstance names this process in leases: the configured id, else the data directory's
// stable id when this process holds the directory (so a restart after kill -9 takes its own
// leases back at once), else hostname-pid-random.
func claimInstance(id, dataDir string) (*pipeline.Instance, error) {
	if id != "" {
		return &pipeline.Instance{ID: id}, nil
	}
	host, _ := os.Hostname()
	return pipeline.ClaimInstance(dataDir, fmt.Sprintf("%s-%d-%s", host, os.Getpid(), schema.NewMessageID(time.Now())[4:12]))
}

func (a *App) connectNATS(ctx context.Context) error {
	var err error
	if a.cfg.NATS.URL != "" {
		a.nc, err = pipeline.ConnectExternal(a.cfg.NATS, "switchboard", a.log)
	} else {
		a.embedded, err = pipeline.StartEmbedded(a.cfg.NATS.Embedded, a.cfg.DataDir, a.log)
		if err != nil {
			return err
		}
		a.nc, err = a.embedded.Connect("switchboard")
	}
	if err != nil {
		return err
	}
	a.js, err = jetstream.New(a.nc, jetstream.WithPublishAsyncMaxPending(4096))
	return err
}

// stageJS opens a connection of its own for a stage. The server reads each connection in
// order, so a stage's round trips (KV reads, publish acks) would otherwise queue behind every
// other stage's traffic on one shared connection.
func (a *App) stageJS(name string) (jetstream.JetStream, error) {
	var nc *nats.Conn
	var err error
	if a.embedded != nil {
		nc, err = a.embedded.Connect("switchboard-" + name)
	} else {
		nc, err = pipeline.ConnectExternal(a.cfg.NATS, "switchboard-"+name, a.log)
	}
	if err != nil {
		return nil, fmt.Errorf("nats connection for %s: %w", name, err)
	}
	a.extra = append(a.extra, nc)
	return jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(4096))
}

// publicURL is where customers reach the gateway: http.public_url, else the HTTP listener.
func (a *App) publicURL() string {
	if u := a.cfg.HTTP.PublicURL; u != "" {
		return u
	}
	if addr := a.HTTPAddr(); addr != "" {
		return "http://" + addr
	}
	return ""
}

// HTTPAddr is the address the HTTP server listens on.
func (a *App) HTTPAddr() string {
	if a.ln == nil {
		return ""
	}
	return a.ln.Addr().String()
}

// NATSURL is the embedded server's client URL ("" for an external cluster or no listener).
func (a *App) NATSURL() string {
	if a.embedded == nil {
		return a.cfg.NATS.URL
	}
	return a.embedded.ClientURL()
}

// NATSLogin is the login a local client of NATSURL uses: the embedded server's gateway
// credentials (empty with auth: none), or the user and password configured for an external
// cluster.
func (a *App) NATSLogin() pipeline.Credentials {
	if a.embedded == nil {
		return pipeline.Credentials{User: a.cfg.NATS.User, Password: a.cfg.NATS.Password.Value()}
	}
	return a.embedded.Credentials()
}

// Embedded returns the embedded nats-server, or nil.
func (a *App) Embedded() *pipeline.Embedded { return a.embedded }

// Stop shuts down in two phases. Phase one stops intake: HTTP endpoints answer 503, sessions
// are closed, pull sources stop; it waits for every accepted message to be durable. Phase two
// stops the HTTP server and the workers (each finishes the message in hand; the rest stay in
// JetStream for the next start), flushes and closes NATS. Each phase is bounded by
// http.shutdown_grace (default 10s) or ctx.
func (a *App) Stop(ctx context.Context) error {
	a.stopOnce.Do(func() { a.stopErr = a.shutdown(ctx) })
	return a.stopErr
}

func (a *App) shutdown(ctx context.Context) error {
	grace := a.cfg.HTTP.ShutdownGrace.D()
	var errs []error
	phase := func(name string, f func(context.Context) error) {
		pctx, cancel := context.WithTimeout(ctx, grace)
		defer cancel()
		if err := f(pctx); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	}
	phase("stop intake", a.stopIntake)
	phase("stop workers", a.stopProcessing)
	if a.w != nil && a.w.rest != nil {
		a.w.rest.Close() // the JWKS refresh
	}
	for _, nc := range append(a.extra, a.nc) {
		if nc == nil {
			continue
		}
		if err := nc.FlushTimeout(2 * time.Second); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
			errs = append(errs, err)
		}
		nc.Close()
	}
	if a.embedded != nil {
		a.embedded.Shutdown()
	}
	if a.instance != nil {
		a.instance.Release()
	}
	_ = a.log.Sync()
	return errors.Join(errs...)
}

func (a *App) stopIntake(ctx context.Context) error {
	var errs []error
	if a.intake != nil {
		errs = append(errs, a.intake.Drain(ctx))
	}
	for _, c := range a.conns {
		if d, ok := c.(connectors.Drainer); ok {
			errs = append(errs, d.Drain(ctx))
		}
	}
	if a.stopSources != nil {
		a.stopSources()
		errs = append(errs, waitGroup(ctx, &a.sources))
	}
	return errors.Join(errs...)
}

func (a *App) stopProcessing(ctx context.Context) error {
	var errs []error
	if a.srv != nil {
		errs = append(errs, a.srv.Shutdown(ctx))
	}
	if a.stopWorkers != nil {
		a.stopWorkers()
		if err := waitGroup(ctx, &a.workers); err != nil {
			errs = append(errs, fmt.Errorf("%w (still running: %s)", err, strings.Join(a.stillRunning(), ", ")))
		}
	}
	return errors.Join(errs...)
}

// stillRunning lists the workers that have not returned, sorted.
func (a *App) stillRunning() []string {
	a.runningMu.Lock()
	defer a.runningMu.Unlock()
	var names []string
	for n := range a.running {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func waitGroup(ctx context.Context, wg *sync.WaitGroup) error {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
