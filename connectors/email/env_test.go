package email

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/switchboardhq/switchboard/configs/cfg"
	"github.com/switchboardhq/switchboard/connectors"
	"github.com/switchboardhq/switchboard/connectors/email/emailtest"
	"github.com/switchboardhq/switchboard/pipeline"
	"github.com/switchboardhq/switchboard/pipeline/kernel"
	"github.com/switchboardhq/switchboard/pipeline/streams"
	"github.com/switchboardhq/switchboard/schema"
)

// env is a real JetStream (embedded nats-server, provisioned like the gateway) and the
// pipeline's host services over it: the connector is tested against the same publisher,
// object store, state and leases it gets in production.
type env struct {
	t    testing.TB
	emb  *pipeline.Embedded
	pc   pipeline.Config
	js   jetstream.JetStream
	host connectors.Host
	log  *zap.Logger
}

func newEnv(t testing.TB) *env {
	t.Helper()
	log := zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))
	emb, err := pipeline.StartEmbedded(pipeline.EmbeddedConfig{Listen: "none"}, t.TempDir(), log)
	if err != nil {
		t.Fatal(err)
	}
	nc, err := emb.Connect("email-test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close(); emb.Shutdown() })
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pc := pipeline.Config{Partitions: 2, LeaseTTL: cfg.Duration(3 * time.Second)}.WithDefaults()
	if err := pipeline.Provision(ctx, js, pc, 1); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, emb: emb, pc: pc, js: js, log: log}
	e.host = e.hostOn(nc, "test")
	return e
}

// hostOn builds the host services over one NATS connection, as one gateway instance has.
func (e *env) hostOn(nc *nats.Conn, holder string) connectors.Host {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	js, _ := jetstream.New(nc)
	blobs, err := pipeline.NewBlobs(ctx, js)
	if err != nil {
		e.t.Fatal(err)
	}
	state, _ := js.KeyValue(ctx, streams.BucketState)
	leases, _ := js.KeyValue(ctx, streams.BucketLeases)
	pub := pipeline.NewPublisher(js, blobs, e.pc.Partitions, pipeline.NewMetrics(prometheus.NewRegistry()))
	return connectors.Host{Publisher: pub, Blobs: blobs, State: pipeline.NewState(state, "email"),
		Leases: pipeline.NewLeases(leases, &pipeline.Instance{ID: holder}, e.pc.LeaseTTL.D(), e.log.Named(holder)), Logger: e.log.Named(holder)}
}

// instance is a second gateway instance: its own NATS connection and host services.
func (e *env) instance(holder string) (connectors.Host, *nats.Conn) {
	nc, err := e.emb.Connect(holder)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(nc.Close)
	return e.hostOn(nc, holder), nc
}

// inbound returns every message on SB_INBOUND's email subjects, in stream order.
func (e *env) inbound() []*schema.Message {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := e.js.Stream(ctx, streams.StreamInbound)
	if err != nil {
		e.t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []*schema.Message
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		raw, err := st.GetMsg(ctx, seq)
		if err != nil {
			continue
		}
		var m schema.Message
		if err := json.Unmarshal(raw.Data, &m); err != nil {
			e.t.Fatalf("undecodable message at seq %d: %v", seq, err)
		}
		out = append(out, &m)
	}
	return out
}

// waitInbound waits until SB_INBOUND holds n email messages and returns them.
func (e *env) waitInbound(n int, timeout time.Duration) []*schema.Message {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		msgs := e.inbound()
		if len(msgs) >= n {
			return msgs
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("after %v: %d messages on SB_INBOUND, want %d", timeout, len(msgs), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// bySubject indexes messages by subject (different senders are published in parallel, so
// only each sender's own messages keep their order on the stream).
func bySubject(msgs []*schema.Message) map[string]*schema.Message {
	out := map[string]*schema.Message{}
	for _, m := range msgs {
		out[m.Subject] = m
	}
	return out
}

// blob reads an object back from the store.
func (e *env) blob(key string) []byte {
	e.t.Helper()
	r, _, err := e.host.Blobs.Open(context.Background(), key)
	if err != nil {
		e.t.Fatalf("open blob %s: %v", key, err)
	}
	defer r.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(r)
	return b.Bytes()
}

// The test mailbox.
const (
	testUser = emailtest.User
	testPass = emailtest.Password
)

func memServer(m *emailtest.MemIMAP) Server {
	host, port, _ := net.SplitHostPort(m.Addr)
	p, _ := strconv.Atoi(port)
	return Server{Host: host, Port: p, TLS: "none", Password: cfg.NewSecret(testPass)}
}

func smtpServer(s *emailtest.SMTPSink) Server {
	host, port, _ := net.SplitHostPort(s.Addr)
	p, _ := strconv.Atoi(port)
	return Server{Host: host, Port: p, TLS: "starttls", InsecureSkipVerify: true, Password: cfg.NewSecret(emailtest.SMTPPassword)}
}

func dovecotServer(d *emailtest.Dovecot) Server {
	return Server{Host: "127.0.0.1", Port: emailtest.PortOf(d.IMAP), TLS: "none", Password: cfg.NewSecret(emailtest.DovecotPassword)}
}

// testAccount is an account reading the in-memory server with a fast catch-up.
func testAccount(srv Server) *Account {
	a := &Account{Address: testUser, Name: "Acme Support", MessageIDSecret: cfg.NewSecret("s3cret-for-tests")}
	a.IMAP.Server = srv
	a.IMAP.PollInterval = cfg.Duration(300 * time.Millisecond)
	return a
}

// rfc822 builds a small RFC 5322 message.
func rfc822(from, id, subject, body string) string {
	return "From: " + from + "\r\nTo: " + testUser + "\r\nSubject: " + subject + "\r\nMessage-ID: <" + id + ">\r\n" +
		"Date: Mon, 23 Nov 2026 10:00:00 +0000\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body + "\r\n"
}

// run starts the connector's sources under the real supervisor and leases.
func run(t testing.TB, c *Connector) context.CancelFunc {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	specs := c.Sources()
	for _, spec := range specs {
		go func() {
			defer func() { done <- struct{}{} }()
			connectors.Supervise(ctx, spec, connectors.SuperviseOptions{Leases: c.host.Leases,
				Backoff: kernel.Backoff{Min: 50 * time.Millisecond, Max: 300 * time.Millisecond}, Logger: c.host.Logger})
		}()
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			for range specs {
				<-done
			}
		})
	}
	t.Cleanup(stop)
	return stop
}
