package connectors

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboardhq/switchboard/pipeline/kernel"
	"go.uber.org/zap"
)

// IntakeOptions configures an [Intake].
type IntakeOptions struct {
	PublicURL   string // base URL providers call; "" derives it from each request's Host
	MaxBody     int64  // default body limit (default 1 MiB)
	MaxInFlight int    // requests handled at once before answering 503 (default 1024)
	// MaxInFlightBytes caps the request bodies held at once (default 64 MiB): a burst of
	// large bodies is answered 503 at once instead of growing the process.
	MaxInFlightBytes int64
	Timeout          time.Duration // deadline for one handler (default 10s, inside Twilio's 15s)
	Rejections       Rejecter      // where refused requests are recorded; nil records nothing
	Metrics          *Metrics
	Logger           *zap.Logger
}

// Intake serves connector endpoints with the guarantees every webhook needs. Its zero value
// is not usable; call [NewIntake].
type Intake struct {
	opts     IntakeOptions
	sem      chan struct{}
	bytes    atomic.Int64 // body bytes reserved by requests in flight
	inflight inflight
	log      *zap.Logger
}

// NewIntake returns an intake with defaults applied.
func NewIntake(opts IntakeOptions) *Intake {
	if opts.MaxBody <= 0 {
		opts.MaxBody = 1 << 20
	}
	if opts.MaxInFlightBytes <= 0 {
		opts.MaxInFlightBytes = 64 << 20
	}
	if opts.MaxInFlight <= 0 {
		opts.MaxInFlight = 1024
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	if opts.Metrics == nil {
		opts.Metrics = NewMetrics(nil)
	}
	opts.PublicURL = strings.TrimRight(opts.PublicURL, "/")
	return &Intake{opts: opts, sem: make(chan struct{}, opts.MaxInFlight), log: opts.Logger}
}

// Mount registers every endpoint on mux.
func (in *Intake) Mount(mux *http.ServeMux, eps ...Endpoint) {
	for _, ep := range eps {
		mux.Handle(ep.Method+" "+ep.Path, in.Handler(ep))
	}
}

// Handler wraps one endpoint.
func (in *Intake) Handler(ep Endpoint) http.Handler {
	if (ep.Handle == nil) == (ep.Raw == nil) {
		panic("connectors: endpoint " + ep.Path + " needs exactly one of Handle and Raw")
	}
	route := ep.Method + " " + ep.Path
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				in.log.Error("handler panic", zap.String("route", route), zap.Any("panic", p), zap.ByteString("stack", debug.Stack()))
				in.opts.Metrics.Panics.WithLabelValues(string(ep.Channel)).Inc()
				if sw.status == 0 {
					writeError(sw, &HTTPError{Status: 500, Code: "internal", Message: "internal error"})
				}
			}
			in.opts.Metrics.observe(ep, route, sw.status, time.Since(start))
		}()
		if ep.Raw != nil {
			if in.inflight.isDraining() {
				writeUnavailable(sw, "shutting down")
				return
			}
			ep.Raw.ServeHTTP(sw, r)
			return
		}
		in.serve(sw, r, ep)
	})
}

func (in *Intake) serve(w *statusWriter, r *http.Request, ep Endpoint) {
	if !in.inflight.enter() {
		writeUnavailable(w, "shutting down")
		return
	}
	defer in.inflight.leave()
	select {
	case in.sem <- struct{}{}:
		defer func() { <-in.sem }()
	default:
		in.opts.Metrics.Overload.WithLabelValues(string(ep.Channel)).Inc()
		writeUnavailable(w, "overloaded")
		return
	}
	limit := ep.MaxBody
	if limit <= 0 {
		limit = in.opts.MaxBody
	}
	cost := limit // what the body may take; its declared length when it has one
	if r.ContentLength >= 0 && r.ContentLength < limit {
		cost = r.ContentLength
	}
	if !in.reserve(cost) {
		in.opts.Metrics.Overload.WithLabelValues(string(ep.Channel)).Inc()
		writeUnavailable(w, "overloaded (too many request bytes in flight)")
		return
	}
	defer in.bytes.Add(-cost)
	// A client that trickles its body must not hold an in-flight slot for long (a few
	// thousand of them would answer every provider 503): the body gets the handler's deadline.
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(in.opts.Timeout))
	body, err := readBody(w, r, limit)
	if err != nil {
		writeError(w, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), in.opts.Timeout)
	defer cancel()
	req := &Request{HTTP: r, Body: body, PublicURL: in.publicURL(r)}
	resp, err := ep.Handle(ctx, req)
	if err != nil {
		in.fail(w, req, ep, err)
		return
	}
	writeResponse(w, resp)
}

// reserve takes n bytes of the in-flight budget; a body larger than the whole budget still
// gets through when nothing else is in flight.
func (in *Intake) reserve(n int64) bool {
	for {
		cur := in.bytes.Load()
		if cur > 0 && cur+n > in.opts.MaxInFlightBytes {
			return false
		}
		if in.bytes.CompareAndSwap(cur, cur+n) {
			return true
		}
	}
}

func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	tooLarge := &HTTPError{Status: http.StatusRequestEntityTooLarge, Code: "too_large",
		Message: "body exceeds " + strconv.FormatInt(limit, 10) + " bytes"}
	if r.ContentLength > limit {
		return nil, tooLarge
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return nil, &HTTPError{Status: http.StatusRequestTimeout, Code: "body_timeout",
				Message: "the request body did not arrive in time", Err: err}
		}
		return nil, &HTTPError{Status: http.StatusBadRequest, Code: "truncated_body", Message: "could not read the request body", Err: err}
	}
	return body, nil
}

func (in *Intake) fail(w *statusWriter, req *Request, ep Endpoint, err error) {
	var he *HTTPError
	switch {
	case errors.As(err, &he):
		if he.Reject {
			in.reject(req, ep, he)
		}
		writeError(w, he)
	case errors.Is(err, kernel.ErrCircuitOpen): // counted by the publisher; one log line per request would flood
		writeUnavailable(w, "message store unreachable, retry later")
	case errors.Is(err, kernel.ErrUnavailable), errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		in.log.Warn("handoff failed", zap.String("path", ep.Path), zap.Error(err))
		writeUnavailable(w, "message store unavailable, retry later (a retry with the same id is safe: it may already be stored)")
	default:
		in.log.Error("handler failed", zap.String("path", ep.Path), zap.Error(err))
		writeError(w, &HTTPError{Status: 500, Code: "internal", Message: "internal error"})
	}
}

func (in *Intake) reject(req *Request, ep Endpoint, he *HTTPError) {
	in.opts.Metrics.Rejected.WithLabelValues(string(ep.Channel), he.Code).Inc()
	if in.opts.Rejections == nil {
		return
	}
	in.opts.Rejections.Reject(NewRejection(ep.Channel, req.HTTP, req.Body, he))
}

// publicURL rebuilds the URL the caller used.
func (in *Intake) publicURL(r *http.Request) string {
	if in.opts.PublicURL != "" {
		return in.opts.PublicURL + r.URL.RequestURI()
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + r.URL.RequestURI()
}

// Drain is phase one of shutdown: new requests get 503 and Drain returns once every request
// already accepted has been answered, or when ctx ends.
func (in *Intake) Drain(ctx context.Context) error { return in.inflight.drain(ctx) }

// Draining reports whether Drain has been called.
func (in *Intake) Draining() bool { return in.inflight.isDraining() }

func writeResponse(w http.ResponseWriter, resp *Response) {
	if resp == nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	status := resp.Status
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	_, _ = w.Write(resp.Body)
}

func writeUnavailable(w http.ResponseWriter, msg string) {
	w.Header().Set("Retry-After", "1")
	writeError(w, &HTTPError{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: msg})
}

// WriteError writes err as the JSON error body every endpoint uses.
func WriteError(w http.ResponseWriter, err error) {
	var he *HTTPError
	if !errors.As(err, &he) {
		he = &HTTPError{Status: 500, Code: "internal", Message: "internal error"}
	}
	writeError(w, he)
}

func writeError(w http.ResponseWriter, err error) {
	he, ok := err.(*HTTPError)
	if !ok {
		he = &HTTPError{Status: 500, Code: "internal", Message: "internal error"}
	}
	body := map[string]any{"code": he.Code, "message": he.Message}
	if he.Field != "" {
		body["field"] = he.Field
	}
	if he.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int((he.RetryAfter+time.Second-1)/time.Second))))
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(he.Status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": body})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (websocket hijacking).
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// inflight counts accepted requests and lets Drain wait for them.
type inflight struct {
	mu       sync.Mutex
	n        int
	draining bool
	idle     chan struct{}
}

func (f *inflight) enter() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.draining {
		return false
	}
	f.n++
	return true
}

func (f *inflight) leave() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n--
	if f.n == 0 && f.idle != nil {
		close(f.idle)
		f.idle = nil
	}
}

func (f *inflight) isDraining() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.draining
}

func (f *inflight) drain(ctx context.Context) error {
	f.mu.Lock()
	f.draining = true
	if f.n == 0 {
		f.mu.Unlock()
		return nil
	}
	if f.idle == nil {
		f.idle = make(chan struct{})
	}
	idle := f.idle
	f.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Hijack lets websocket upgrades take over the connection through the wrapper.
func (s *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if s.status == 0 {
		s.status = http.StatusSwitchingProtocols
	}
	return http.NewResponseController(s.ResponseWriter).Hijack()
}

// Flush passes flushes through (server-sent events, streaming answers).
func (s *statusWriter) Flush() { _ = http.NewResponseController(s.ResponseWriter).Flush() }
