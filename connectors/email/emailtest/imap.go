package emailtest

import (
	"bytes"
	"crypto/tls"
	"net"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
)

// MemIMAP is go-imap's in-memory server (imapmemserver) on a loopback port, with one user.
type MemIMAP struct {
	Addr string
	User *imapmemserver.User
	srv  *imapserver.Server
	opts *imapserver.Options
}

// The mailbox the test servers hold.
const (
	User     = "support@example.com"
	Password = "pw-123"
)

// StartMemIMAP serves an INBOX for [User] on 127.0.0.1 (LOGIN allowed without TLS).
func StartMemIMAP(t testing.TB, caps imap.CapSet) *MemIMAP {
	t.Helper()
	return startMemIMAP(t, caps, "")
}

// StartMemIMAPTLS serves like [StartMemIMAP] with a self-signed certificate: tls is
// "implicit" (TLS from the first byte, as on port 993) or "starttls" (LOGIN only after it).
func StartMemIMAPTLS(t testing.TB, tlsMode string) *MemIMAP {
	t.Helper()
	return startMemIMAP(t, nil, tlsMode)
}

func startMemIMAP(t testing.TB, caps imap.CapSet, tlsMode string) *MemIMAP {
	mem := imapmemserver.New()
	u := imapmemserver.NewUser(User, Password)
	if err := u.Create("INBOX", nil); err != nil {
		t.Fatal(err)
	}
	mem.AddUser(u)
	if caps == nil {
		caps = imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}}
	}
	opts := &imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return mem.NewSession(), nil, nil
		},
		Caps: caps, InsecureAuth: tlsMode == "",
	}
	var ln net.Listener
	var err error
	tc := &tls.Config{Certificates: []tls.Certificate{SelfSigned(t)}}
	switch tlsMode {
	case "implicit":
		ln, err = tls.Listen("tcp", "127.0.0.1:0", tc)
	case "starttls":
		opts.TLSConfig = tc
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	default:
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		t.Fatal(err)
	}
	srv := imapserver.New(opts)
	go func() { _ = srv.Serve(ln) }()
	m := &MemIMAP{Addr: ln.Addr().String(), User: u, srv: srv, opts: opts}
	t.Cleanup(func() { m.srv.Close() })
	return m
}

// Restart drops every connection and, after down, serves the same mailboxes again on the same address.
func (m *MemIMAP) Restart(t testing.TB, down time.Duration) {
	t.Helper()
	m.srv.Close()
	time.Sleep(down)
	ln, err := net.Listen("tcp", m.Addr)
	if err != nil {
		t.Fatal(err)
	}
	m.srv = imapserver.New(m.opts)
	go func() { _ = m.srv.Serve(ln) }()
}

// Deliver appends a message to folder.
// DeliverAt appends a message as received at the given time (its INTERNALDATE).
func (m *MemIMAP) DeliverAt(t testing.TB, folder string, raw string, at time.Time) {
	t.Helper()
	if _, err := m.User.Append(folder, bytes.NewReader([]byte(raw)), &imap.AppendOptions{Time: at}); err != nil {
		t.Fatal(err)
	}
}

func (m *MemIMAP) Deliver(t testing.TB, folder string, raw string) {
	t.Helper()
	if _, err := m.User.Append(folder, bytes.NewReader([]byte(raw)), &imap.AppendOptions{}); err != nil {
		t.Fatal(err)
	}
}
