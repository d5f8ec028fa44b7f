package app

import (
	"context"
	"encoding/json"
	"io/fs"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"

	"github.com/switchboardhq/switchboard/connectors"
	"github.com/switchboardhq/switchboard/pipeline"
	"github.com/switchboardhq/switchboard/router/rest"
	"github.com/switchboardhq/switchboard/schema"
)

// serveHTTP mounts every route and starts listening.
func (a *App) serveHTTP(w *wiring) error {
	a.intake = connectors.NewIntake(connectors.IntakeOptions{
		PublicURL: a.cfg.HTTP.PublicURL, MaxBody: a.cfg.HTTP.MaxBody.Or(0), MaxInFlight: a.cfg.HTTP.MaxInFlight,
		MaxInFlightBytes: a.cfg.HTTP.MaxInFlightBytes.Or(0),
		Timeout:          a.cfg.HTTP.Timeout.D(), Rejections: pipeline.NewRejections(a.js, a.log.Named("forensics")),
		Metrics: w.connMetrics, Logger: a.log.Named("intake"),
	})
	mux := http.NewServeMux()
	for _, c := range a.conns {
		if ep, ok := c.(connectors.EndpointProvider); ok {
			a.intake.Mount(mux, ep.Endpoints()...)
		}
	}
	a.intake.Mount(mux, w.rest.Endpoints()...)
	mux.HandleFunc("GET /healthz", func(rw http.ResponseWriter, _ *http.Request) {
		writeJSON(rw, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", a.readyz)
	mux.Handle("GET /v1/schemas/", http.StripPrefix("/v1/schemas/", schemaFiles()))
	mux.HandleFunc("GET /v1/openapi.json", serveOpenAPI)
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.reg, promhttp.HandlerOpts{Registry: a.reg}))
	streamsDone := make(chan struct{})
	mux.Handle("GET /v1/dashboard/stream", w.rest.DashboardStream(streamsDone))
	ln, err := net.Listen("tcp", a.cfg.HTTP.Listen)
	if err != nil {
		return err
	}
	a.ln = ln
	fresh := &freshConns{conns: map[net.Conn]struct{}{}}
	a.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		ErrorLog: zap.NewStdLog(a.log.Named("http")), ConnState: fresh.track}
	a.srv.RegisterOnShutdown(fresh.closeAll)
	a.srv.RegisterOnShutdown(func() { close(streamsDone) }) // live dashboards would hold the shutdown up
	go func() {
		if err := a.srv.Serve(ln); err != nil && err != http.ErrServerClosed {
			a.log.Error("http server stopped", zap.Error(err))
		}
	}()
	return nil
}

// freshConns tracks the connections that have not sent a request yet. http.Server.Shutdown
// counts such a connection as busy for its first 5 seconds (a client's spare dial is one), which
// would hold a SIGTERM up for nothing: once shutting down nothing new is served, so they are
// closed as soon as the listener is.
type freshConns struct {
	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

func (f *freshConns) track(c net.Conn, state http.ConnState) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if state == http.StateNew {
		f.conns[c] = struct{}{}
	} else {
		delete(f.conns, c)
	}
}

func (f *freshConns) closeAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for c := range f.conns {
		_ = c.Close()
	}
}

// readyz answers 200 when JetStream answers and every stream exists, 503 otherwise (and
// while shutting down).
func (a *App) readyz(rw http.ResponseWriter, r *http.Request) {
	if a.intake.Draining() {
		writeJSON(rw, http.StatusServiceUnavailable, map[string]string{"status": "shutting down"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	var missing []string
	for _, sc := range pipeline.Streams(a.cfg.Pipeline, a.cfg.NATS.Replicas) {
		if _, err := a.js.Stream(ctx, sc.Name); err != nil {
			missing = append(missing, sc.Name+": "+err.Error())
		}
	}
	if len(missing) > 0 {
		writeJSON(rw, http.StatusServiceUnavailable, map[string]any{"status": "not ready", "problems": missing})
		return
	}
	writeJSON(rw, http.StatusOK, map[string]string{"status": "ready"})
}

// schemaFiles serves the JSON Schemas of the contract (message.v1.json, event.v1.json, ...).
func schemaFiles() http.Handler {
	sub, err := fs.Sub(schema.JSONSchemas, "jsonschema")
	if err != nil {
		panic(err)
	}
	return http.FileServer(http.FS(sub))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// serveOpenAPI answers GET /v1/openapi.json: the REST API's OpenAPI 3.1 document.
func serveOpenAPI(w http.ResponseWriter, _ *http.Request) {
	doc, err := rest.OpenAPI()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(doc)
}
