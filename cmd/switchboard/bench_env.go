package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/switchboardhq/switchboard/cmd/switchboard/app"
	"github.com/switchboardhq/switchboard/pipeline"
)

// benchEnv is the gateway under test and the connections to it.
type benchEnv struct {
	base   string
	nc     *nats.Conn
	js     jetstream.JetStream
	client *http.Client
	app    *app.App
	tmp    string
	dir    string      // the in-process gateway's data directory
	opts   app.Options // how it was started (restart starts it again)
	inproc bool
}

// setupBench starts an in-process gateway on a temp dir (file storage, loopback ports) or
// connects to the one given by -target/-nats.
func setupBench(ctx context.Context, o *benchOptions, sc scenario) (*benchEnv, error) {
	env := &benchEnv{client: &http.Client{Transport: &http.Transport{
		MaxIdleConns: o.Concurrency * 2, MaxIdleConnsPerHost: o.Concurrency * 2, IdleConnTimeout: time.Minute,
	}, Timeout: 30 * time.Second}}
	if o.Target != "" {
		if o.NATS == "" {
			return nil, fmt.Errorf("-target needs -nats to watch the conversation stream")
		}
		env.base = o.Target
		return env, env.connect(o.NATS, pipeline.Credentials{})
	}
	env.inproc = true
	dir := o.DataDir
	if dir == "" {
		d, err := os.MkdirTemp("", "switchboard-bench-")
		if err != nil {
			return nil, err
		}
		dir, env.tmp = d, d
	}
	if o.Token == "" {
		o.Token = "benchtoken0123456789"
	}
	os.Setenv("SWITCHBOARD_BENCH_TOKEN", o.Token)
	// The generator is one misbehaving integration by design: no per-sender or account limits.
	pipe := fmt.Sprintf("partitions: %d", o.Partitions)
	if o.Lanes > 0 {
		pipe += fmt.Sprintf(", lanes: %d", o.Lanes)
	}
	if o.DedupeWindow > 0 {
		pipe += ", dedupe_window: " + o.DedupeWindow.String()
	}
	yaml := fmt.Sprintf("log: {level: error}\npipeline: {%s}\n"+
		"http: {max_in_flight: %d, rate_limits: {per_sender: {per_second: 1000000000}, per_account: {per_second: 1000000000}}}\n%s",
		pipe, max(1024, o.Concurrency*4), sc.Config())
	cfg, err := app.ParseConfig("bench.yaml", []byte(yaml))
	if err != nil {
		return nil, err
	}
	env.dir = dir
	env.opts = app.Options{Config: cfg, HTTPAddr: "127.0.0.1:0", NATSAddr: "127.0.0.1:0",
		DataDir: dir, Logger: zap.NewNop(), InstanceID: "bench"}
	a, err := app.Start(ctx, env.opts)
	if err != nil {
		return nil, err
	}
	env.app, env.base = a, "http://"+a.HTTPAddr()
	return env, env.connect(a.NATSURL(), a.NATSLogin())
}

func (e *benchEnv) connect(url string, login pipeline.Credentials) error {
	nc, err := nats.Connect(url, nats.Name("switchboard bench"), login.Option())
	if err != nil {
		return fmt.Errorf("connect to %s: %w", url, err)
	}
	e.nc = nc
	e.js, err = jetstream.New(nc)
	return err
}

func (e *benchEnv) close() {
	if e.nc != nil {
		e.nc.Close()
	}
	if e.app != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = e.app.Stop(ctx)
	}
	if e.tmp != "" {
		_ = os.RemoveAll(e.tmp)
	}
}
