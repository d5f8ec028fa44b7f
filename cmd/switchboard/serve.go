package main

import (
	"context"
	"fmt"
	"os"

	"go.uber.org/zap"

	"github.com/switchboardhq/switchboard/cmd/switchboard/app"
)

func runServe(ctx context.Context, args []string) error {
	fs := newFlags("serve")
	configPath := fs.String("config", "configs/switchboard.yaml", "config file")
	httpAddr := fs.String("http-addr", "", "HTTP listen address (overrides http.listen)")
	natsAddr := fs.String("nats-addr", "", "embedded NATS listen address, or none (overrides nats.embedded.listen)")
	dataDir := fs.String("data-dir", "", "data directory (overrides data_dir)")
	logFormat := fs.String("log-format", "", "json or console (overrides log.format)")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	cfg, err := app.LoadConfig(*configPath)
	if err != nil {
		return fmt.Errorf("config:\n%w", err)
	}
	if *logFormat != "" {
		if *logFormat != "json" && *logFormat != "console" {
			fmt.Fprintln(os.Stderr, "serve: --log-format must be json or console")
			return errUsage
		}
		cfg.Log.Format = *logFormat
	}
	log, err := app.NewLogger(cfg.Log)
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()
	limitMemory(cfg.MemoryLimit.Or(0), log)
	go releaseMemory(ctx)
	if len(cfg.REST.Tokens) == 0 && !cfg.REST.JWT.Key.IsSet() && cfg.REST.JWT.JWKSURL == "" {
		log.Warn("rest.tokens is empty: the REST API is open to anyone who can reach http.listen")
	}
	err = app.Run(ctx, app.Options{Config: cfg, ConfigPath: *configPath, HTTPAddr: *httpAddr, NATSAddr: *natsAddr, DataDir: *dataDir, Logger: log})
	if err != nil {
		log.Error("stopped with errors", zap.Error(err))
		return err
	}
	log.Info("stopped cleanly")
	return nil
}
