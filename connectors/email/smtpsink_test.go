package email

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/switchboardhq/switchboard/configs/cfg"
)

// smtpSink is a go-smtp server on loopback with STARTTLS and AUTH (PLAIN and XOAUTH2) that
// keeps what it receives, and can be told to refuse recipients.
type smtpSink struct {
	addr     string
	mu       sync.Mutex
	mails    []sunk
	auths    []string // "PLAIN user:pass" or "XOAUTH2 <initial response>"
	rcptCode int      // 0: accept
}

type sunk struct {
	from string
	to   []string
	data []byte
}

func startSMTPSink(t testing.TB) *smtpSink {
	t.Helper()
	sink := &smtpSink{}
	s := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &sinkSession{sink: sink}, nil }))
	s.Domain = "mx.test"
	s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{selfSigned(t)}}
	s.ReadTimeout, s.WriteTimeout = 10*time.Second, 10*time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(func() { s.Close() })
	sink.addr = ln.Addr().String()
	return sink
}

func (s *smtpSink) received() []sunk {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sunk(nil), s.mails...)
}

func (s *smtpSink) server() Server {
	host, port, _ := net.SplitHostPort(s.addr)
	p, _ := net.LookupPort("tcp", port)
	return Server{Host: host, Port: p, TLS: "starttls", InsecureSkipVerify: true, Password: cfg.NewSecret("smtp-pw")}
}

type sinkSession struct {
	sink *smtpSink
	cur  sunk
}

func (s *sinkSession) AuthMechanisms() []string { return []string{sasl.Plain, "XOAUTH2"} }

func (s *sinkSession) Auth(mech string) (sasl.Server, error) {
	if mech == "XOAUTH2" {
		return saslFunc(func(resp []byte) ([]byte, bool, error) {
			s.sink.mu.Lock()
			s.sink.auths = append(s.sink.auths, "XOAUTH2 "+string(resp))
			s.sink.mu.Unlock()
			if !strings.Contains(string(resp), "auth=Bearer good-token") {
				return nil, false, errors.New("invalid token")
			}
			return nil, true, nil
		}), nil
	}
	return sasl.NewPlainServer(func(_, user, pass string) error {
		s.sink.mu.Lock()
		s.sink.auths = append(s.sink.auths, "PLAIN "+user+":"+pass)
		s.sink.mu.Unlock()
		if pass != "smtp-pw" {
			return errors.New("bad password")
		}
		return nil
	}), nil
}

type saslFunc func([]byte) ([]byte, bool, error)

func (f saslFunc) Next(r []byte) ([]byte, bool, error) { return f(r) }

func (s *sinkSession) Mail(from string, _ *smtp.MailOptions) error { s.cur.from = from; return nil }

func (s *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.sink.mu.Lock()
	code := s.sink.rcptCode
	s.sink.mu.Unlock()
	if code != 0 {
		return &smtp.SMTPError{Code: code, Message: "mailbox says no"}
	}
	s.cur.to = append(s.cur.to, to)
	return nil
}

func (s *sinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.data = b
	s.sink.mu.Lock()
	s.sink.mails = append(s.sink.mails, s.cur)
	s.sink.mu.Unlock()
	return nil
}

func (s *sinkSession) Reset()        { s.cur = sunk{} }
func (s *sinkSession) Logout() error { return nil }

// selfSigned makes a throwaway certificate for 127.0.0.1.
func selfSigned(t testing.TB) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}
