package emailtest

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
)

// SMTPSink is a go-smtp server on loopback with STARTTLS and AUTH (PLAIN and XOAUTH2) that
// keeps what it receives, and can be told to refuse recipients.
type SMTPSink struct {
	Addr     string
	mu       sync.Mutex
	mails    []Mail
	auths    []string // "PLAIN user:pass" or "XOAUTH2 <initial response>"
	rcptCode int      // 0: accept
}

// Mail is one accepted message: envelope and data.
type Mail struct {
	From string
	To   []string
	Data []byte
}

// SMTPPassword is the password the sink accepts.
const SMTPPassword = "smtp-pw"

// Auths returns the authentications seen: "PLAIN user:pass" or "XOAUTH2 <response>".
func (s *SMTPSink) Auths() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.auths...)
}

// RefuseRecipients makes RCPT fail with code (0: accept again).
func (s *SMTPSink) RefuseRecipients(code int) {
	s.mu.Lock()
	s.rcptCode = code
	s.mu.Unlock()
}

// StartSMTPSink serves SMTP with STARTTLS (a self-signed certificate) and AUTH PLAIN (password
// [SMTPPassword]) or XOAUTH2 (token "good-token") on 127.0.0.1.
func StartSMTPSink(t testing.TB) *SMTPSink {
	t.Helper()
	sink := &SMTPSink{}
	s := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &sinkSession{sink: sink}, nil }))
	s.Domain = "mx.test"
	s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{SelfSigned(t)}}
	s.ReadTimeout, s.WriteTimeout = 10*time.Second, 10*time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(func() { s.Close() })
	sink.Addr = ln.Addr().String()
	return sink
}

// Received returns the mail accepted so far.
func (s *SMTPSink) Received() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mail(nil), s.mails...)
}

type sinkSession struct {
	sink *SMTPSink
	cur  Mail
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
		if pass != SMTPPassword {
			return errors.New("bad password")
		}
		return nil
	}), nil
}

type saslFunc func([]byte) ([]byte, bool, error)

func (f saslFunc) Next(r []byte) ([]byte, bool, error) { return f(r) }

func (s *sinkSession) Mail(from string, _ *smtp.MailOptions) error { s.cur.From = from; return nil }

func (s *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.sink.mu.Lock()
	code := s.sink.rcptCode
	s.sink.mu.Unlock()
	if code != 0 {
		return &smtp.SMTPError{Code: code, Message: "mailbox says no"}
	}
	s.cur.To = append(s.cur.To, to)
	return nil
}

func (s *sinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.Data = b
	s.sink.mu.Lock()
	s.sink.mails = append(s.sink.mails, s.cur)
	s.sink.mu.Unlock()
	return nil
}

func (s *sinkSession) Reset()        { s.cur = Mail{} }
func (s *sinkSession) Logout() error { return nil }

// SelfSigned makes a throwaway certificate for 127.0.0.1.
func SelfSigned(t testing.TB) tls.Certificate {
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
