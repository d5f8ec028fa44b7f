package main

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/twilio/twilio-go/client"

	"github.com/switchboardhq/switchboard/pipeline/streams"
	"github.com/switchboardhq/switchboard/schema"
)

// refResult is the straight-line reference gateway's run, with the same generator.
type refResult struct {
	Accepted      int            `json:"accepted"`
	Failures      map[string]int `json:"failures,omitempty"`
	PerSec        float64        `json:"accepted_per_sec"`
	Latency       latencyStats   `json:"latency"`
	CPUPerMessage float64        `json:"cpu_ms_per_message"`
}

// referenceGateway is the least a gateway can do and still be one: HTTP → check the
// credential (the API bearer token, or the Twilio signature with twilio-go's validator, as
// the gateway does) → normalize to a schema.Message → one synchronous JetStream publish,
// deduplicated on the message id → 2xx. No identity, threading, routing or records. It
// serves the gateway's paths, so the same scenario and generator drive it, on the same NATS
// server: `switchboard bench` compares the two in one run.
type referenceGateway struct {
	js      jetstream.JetStream
	token   string
	base    string
	twilio  client.RequestValidator
	partsOf int
}

const refStream = "SB_BENCH_REF"

// runReference starts the reference on a loopback port, drives the scenario against it
// exactly as against the gateway, and removes its scratch stream.
func runReference(ctx context.Context, o *benchOptions, sc scenario, env *benchEnv) (*refResult, error) {
	_, err := env.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{Name: refStream, Subjects: []string{"sb.benchref.>"},
		Storage: jetstream.FileStorage, Duplicates: 20 * time.Minute, MaxAge: time.Hour})
	if err != nil {
		return nil, err
	}
	defer func() { _ = env.js.DeleteStream(context.WithoutCancel(ctx), refStream) }()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	ref := &referenceGateway{js: env.js, token: o.Token, base: "http://" + ln.Addr().String(),
		twilio: client.NewRequestValidator(o.Token), partsOf: max(o.Partitions, 1)}
	srv := &http.Server{Handler: ref.mux(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer func() { _ = srv.Close() }()

	refEnv := *env
	refEnv.base = ref.base
	rep := &benchReport{Failures: map[string]int{}}
	refOpts := *o
	refOpts.Rate = 0 // the reference's ceiling, closed loop
	cpu0 := processCPU()
	accepted, lat, elapsed := drive(ctx, &refOpts, sc, &refEnv, newTracker(&refOpts, sc), rep)
	res := &refResult{Accepted: accepted, PerSec: float64(accepted) / elapsed.Seconds(), Latency: summarize(lat)}
	if len(rep.Failures) > 0 {
		res.Failures = rep.Failures
	}
	if accepted > 0 {
		res.CPUPerMessage = float64(processCPU()-cpu0) / float64(time.Millisecond) / float64(accepted)
	}
	return res, nil
}

func (g *referenceGateway) mux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/channels/api/bench/messages", g.api)
	mux.HandleFunc("POST /v1/channels/twilio/bench/messages", g.twilioSMS)
	return mux
}

func (g *referenceGateway) api(w http.ResponseWriter, r *http.Request) {
	got, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if subtle.ConstantTimeCompare([]byte(got), []byte(g.token)) != 1 {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	var in struct {
		ExternalID string `json:"external_id"`
		From       string `json:"from"`
		Text       string `json:"text"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&in); err != nil || in.ExternalID == "" {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	m := &schema.Message{Channel: schema.ChannelAPI, Account: "bench", ExternalID: in.ExternalID,
		From: schema.Address{Kind: "email", Value: in.From}, Text: in.Text}
	id, err := g.publish(r.Context(), m)
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_ = json.NewEncoder(w).Encode(map[string]string{"id": id})
}

func (g *referenceGateway) twilioSMS(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	params := make(map[string]string, len(r.PostForm))
	for k, v := range r.PostForm {
		params[k] = v[0]
	}
	if !g.twilio.Validate(g.base+r.URL.RequestURI(), params, r.Header.Get("X-Twilio-Signature")) {
		http.Error(w, "bad signature", http.StatusForbidden)
		return
	}
	m := &schema.Message{Channel: schema.ChannelSMS, Account: "bench", ExternalID: params["MessageSid"],
		From: schema.Address{Kind: "phone", Value: params["From"]}, To: []schema.Address{{Kind: "phone", Value: params["To"]}},
		Text: params["Body"]}
	if _, err := g.publish(r.Context(), m); err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	_, _ = w.Write([]byte("<Response></Response>"))
}

// publish stores m once (its id derives from channel, account and provider id) and returns
// after the JetStream acknowledgement.
func (g *referenceGateway) publish(ctx context.Context, m *schema.Message) (string, error) {
	m.Schema, m.Kind, m.Direction = schema.MessageSchema, schema.KindMessage, schema.Inbound
	m.ID = schema.MessageID(schema.DedupeKey(m.Channel, m.Account, m.ExternalID))
	m.ReceivedAt = time.Now().UTC()
	data, err := json.Marshal(m)
	if err != nil {
		return "", err
	}
	subject := fmt.Sprintf("sb.benchref.%d", streams.Partition(m.From.Value, g.partsOf))
	if _, err := g.js.Publish(ctx, subject, data, jetstream.WithMsgID(m.ID)); err != nil {
		return "", errors.Join(errors.New("publish"), err)
	}
	return m.ID, nil
}
