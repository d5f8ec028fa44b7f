package pipeline

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"go.uber.org/zap"
)

// Embedded is an in-process nats-server with JetStream on file storage.
type Embedded struct {
	srv  *server.Server
	auth *EmbeddedAuth // nil: anonymous (auth: none)
}

// StartEmbedded starts a nats-server storing under dataDir/jetstream. It listens on
// cfg.Listen (host:port) for helpdesks and tools, or nowhere when Listen is "" or "none".
func StartEmbedded(c EmbeddedConfig, dataDir string, log *zap.Logger) (*Embedded, error) {
	opts := &server.Options{
		ServerName:         "switchboard",
		JetStream:          true,
		StoreDir:           dataDir, // nats-server keeps its files under <dataDir>/jetstream
		NoSigs:             true,
		JetStreamMaxMemory: c.MaxMemory.Or(256 << 20),
		JetStreamMaxStore:  c.MaxStore.Or(0),
		SyncInterval:       c.SyncInterval.D(),
		MaxPayload:         int32(MaxPayload),
	}
	if opts.JetStreamMaxStore == 0 {
		opts.JetStreamMaxStore = -1 // no limit beyond the disk
	}
	if c.Listen == "" || c.Listen == "none" {
		opts.DontListen = true
	} else {
		host, port, err := splitHostPort(c.Listen)
		if err != nil {
			return nil, fmt.Errorf("nats.embedded.listen: %w", err)
		}
		opts.Host, opts.Port = host, port
	}
	if err := os.MkdirAll(filepath.Join(dataDir, "jetstream"), 0o750); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	auth, err := resolveAuth(c, dataDir)
	if err != nil {
		return nil, fmt.Errorf("nats.embedded.auth: %w", err)
	}
	if auth != nil {
		if opts.Users, err = auth.users(); err != nil {
			return nil, fmt.Errorf("nats.embedded.auth: %w", err)
		}
	} else if !opts.DontListen {
		log.Warn("nats.embedded.auth is none: ANY client that reaches " + c.Listen +
			" can read, forge and delete every message; use this for development only")
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("configure embedded nats-server: %w", err)
	}
	srv.SetLogger(natsLogger{log.Named("nats").Sugar()}, false, false)
	go srv.Start()
	if !srv.ReadyForConnections(30 * time.Second) {
		srv.Shutdown()
		return nil, errors.New("embedded nats-server did not become ready in 30s (is the listen port free?)")
	}
	return &Embedded{srv: srv, auth: auth}, nil
}

// Credentials are the gateway's own login (empty with auth: none).
func (e *Embedded) Credentials() Credentials {
	if e.auth == nil {
		return Credentials{}
	}
	return e.auth.Gateway
}

// HelpdeskCredentials are the helpdesks' least-privilege login (empty with auth: none).
func (e *Embedded) HelpdeskCredentials() Credentials {
	if e.auth == nil {
		return Credentials{}
	}
	return e.auth.Helpdesk
}

// ClientURL is the address helpdesks connect to ("" when not listening).
func (e *Embedded) ClientURL() string {
	if e.srv.Addr() == nil {
		return ""
	}
	return "nats://" + e.srv.Addr().String()
}

// Connect opens an in-process client connection.
func (e *Embedded) Connect(name string) (*nats.Conn, error) {
	return nats.Connect("", nats.InProcessServer(e.srv), nats.Name(name), nats.MaxReconnects(-1),
		e.Credentials().Option())
}

// Shutdown stops the server after its clients are gone; file stores are flushed.
func (e *Embedded) Shutdown() {
	e.srv.Shutdown()
	e.srv.WaitForShutdown()
}

// Server exposes the nats-server (tests kill it to prove durability).
func (e *Embedded) Server() *server.Server { return e.srv }

// ConnectExternal connects to the cluster named by c.URL.
func ConnectExternal(c NATSConfig, name string, log *zap.Logger) (*nats.Conn, error) {
	opts := []nats.Option{
		nats.Name(name), nats.MaxReconnects(-1), nats.RetryOnFailedConnect(true),
		nats.ReconnectWait(time.Second),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) { log.Warn("nats disconnected", zap.Error(err)) }),
		nats.ReconnectHandler(func(nc *nats.Conn) { log.Info("nats reconnected", zap.String("url", nc.ConnectedUrlRedacted())) }),
	}
	switch {
	case c.Credentials != "":
		opts = append(opts, nats.UserCredentials(c.Credentials))
	case c.NKeySeed != "":
		o, err := nats.NkeyOptionFromSeed(c.NKeySeed)
		if err != nil {
			return nil, fmt.Errorf("nats.nkey_seed_file: %w", err)
		}
		opts = append(opts, o)
	case c.Token.Value() != "":
		opts = append(opts, nats.Token(c.Token.Value()))
	case c.User != "":
		opts = append(opts, nats.UserInfo(c.User, c.Password.Value()))
	}
	if c.TLS != nil {
		tc, err := tlsConfig(c.TLS)
		if err != nil {
			return nil, err
		}
		opts = append(opts, nats.Secure(tc))
	}
	nc, err := nats.Connect(c.URL, opts...)
	if err != nil {
		return nil, fmt.Errorf("connect to nats at %s: %w", c.URL, err)
	}
	return nc, nil
}

func tlsConfig(t *TLSConfig) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: t.Insecure} //nolint:gosec // opt-in
	if t.CA != "" {
		pem, err := os.ReadFile(t.CA)
		if err != nil {
			return nil, fmt.Errorf("nats.tls.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("nats.tls.ca_file: no certificates in %s", t.CA)
		}
		tc.RootCAs = pool
	}
	if t.Cert != "" {
		cert, err := tls.LoadX509KeyPair(t.Cert, t.Key)
		if err != nil {
			return nil, fmt.Errorf("nats.tls.cert_file: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

func splitHostPort(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("invalid port %q", p)
	}
	if port == 0 {
		port = -1 // nats-server: -1 picks a random port
	}
	return host, port, nil
}

// natsLogger adapts zap to nats-server's logger.
type natsLogger struct{ s *zap.SugaredLogger }

func (l natsLogger) Noticef(f string, v ...any) { l.s.Debugf(f, v...) } // the startup banner is notices
func (l natsLogger) Warnf(f string, v ...any)   { l.s.Warnf(f, v...) }
func (l natsLogger) Fatalf(f string, v ...any)  { l.s.Errorf(f, v...) }
func (l natsLogger) Errorf(f string, v ...any)  { l.s.Errorf(f, v...) }
func (l natsLogger) Debugf(f string, v ...any)  { l.s.Debugf(f, v...) }
func (l natsLogger) Tracef(f string, v ...any)  { l.s.Debugf(f, v...) }

// WaitJetStream waits until JetStream answers (a cluster elects its meta leader some seconds
// after the servers are up).
func WaitJetStream(ctx context.Context, nc *nats.Conn) error {
	for {
		_, err := nc.Request("$JS.API.INFO", nil, 2*time.Second)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("jetstream not available: %w", err)
		case <-time.After(250 * time.Millisecond):
		}
	}
}
