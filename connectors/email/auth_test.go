package email

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/emersion/go-sasl"

	"github.com/switchboardhq/switchboard/configs/cfg"
	"github.com/switchboardhq/switchboard/connectors/email/emailtest"
)

// tokenEndpoint is an OAuth 2.0 token endpoint speaking RFC 6749: refresh_token and
// client_credentials grants, client authentication by HTTP Basic or form fields.
type tokenEndpoint struct {
	*httptest.Server
	grants atomic.Int32
	last   atomic.Value // grant type
}

func startTokenEndpoint(t *testing.T, token string) *tokenEndpoint {
	te := &tokenEndpoint{}
	te.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		id, secret, ok := r.BasicAuth()
		if !ok {
			id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
		}
		grant := r.PostForm.Get("grant_type")
		valid := id == "app-id" && secret == "app-secret" &&
			(grant == "client_credentials" || grant == "refresh_token" && r.PostForm.Get("refresh_token") == "refresh-1")
		w.Header().Set("Content-Type", "application/json")
		if r.Method != http.MethodPost || !valid {
			w.WriteHeader(http.StatusBadRequest)
			_ = json.NewEncoder(w).Encode(map[string]string{"error": "invalid_grant"})
			return
		}
		te.grants.Add(1)
		te.last.Store(grant)
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": token, "token_type": "Bearer", "expires_in": 3600})
	}))
	t.Cleanup(te.Close)
	return te
}

func (te *tokenEndpoint) oauth(refresh string) *OAuth2 {
	o := &OAuth2{TokenURL: te.URL + "/token", ClientID: "app-id", ClientSecret: cfg.NewSecret("app-secret"),
		Scopes: []string{"https://outlook.office.com/.default"}}
	if refresh != "" {
		o.RefreshToken = cfg.NewSecret(refresh)
	}
	return o
}

func TestSMTPWithXOAUTH2RefreshToken(t *testing.T) {
	e := newEnv(t)
	sink := emailtest.StartSMTPSink(t)
	te := startTokenEndpoint(t, "good-token")
	acct := testAccount(Server{Host: "127.0.0.1", TLS: "none", Password: cfg.NewSecret("x")})
	acct.SMTP = &SMTP{Server: smtpServer(sink)}
	acct.SMTP.Auth, acct.SMTP.OAuth2 = "xoauth2", te.oauth("refresh-1")
	s := senderFor(t, e, acct)
	for range 2 {
		if _, err := s.Send(context.Background(), reply()); err != nil {
			t.Fatal(err)
		}
	}
	want := "XOAUTH2 user=" + testUser + "\x01auth=Bearer good-token\x01\x01"
	if len(sink.Auths()) != 2 || sink.Auths()[0] != want || te.grants.Load() != 1 || te.last.Load() != "refresh_token" {
		t.Fatalf("auths %q, %d token requests (%v): the token must be fetched once and reused", sink.Auths(), te.grants.Load(), te.last.Load())
	}
}

// oauthSession is imapmemserver's session with XOAUTH2 as its only login.
type oauthSession struct {
	*imapmemserver.UserSession
	token string
}

func (s *oauthSession) Login(string, string) error {
	return imapserver.ErrAuthFailed
}

func (s *oauthSession) AuthenticateMechanisms() []string { return []string{"XOAUTH2"} }

func (s *oauthSession) Authenticate(mech string) (sasl.Server, error) {
	return saslFunc(func(resp []byte) ([]byte, bool, error) {
		if string(resp) != "user="+testUser+"\x01auth=Bearer "+s.token+"\x01\x01" {
			return nil, false, errors.New("invalid token")
		}
		return nil, true, nil
	}), nil
}

func TestIMAPWithXOAUTH2ClientCredentials(t *testing.T) {
	e := newEnv(t)
	u := imapmemserver.NewUser(testUser, "unused")
	if err := u.Create("INBOX", nil); err != nil {
		t.Fatal(err)
	}
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return &oauthSession{UserSession: imapmemserver.NewUserSession(u), token: "good-token"}, nil, nil
		},
		Caps: imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}}, InsecureAuth: true,
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	mem := &emailtest.MemIMAP{Addr: ln.Addr().String(), User: u}
	mem.Deliver(t, "INBOX", rfc822("a@example.com", "o1@example.com", "oauth", "x"))

	te := startTokenEndpoint(t, "good-token")
	acct := testAccount(memServer(mem))
	acct.IMAP.Auth, acct.IMAP.OAuth2 = "xoauth2", te.oauth("")
	stop := run(t, newConnector(e, acct))
	e.waitInbound(1, 10*time.Second)
	stop()
	if te.last.Load() != "client_credentials" {
		t.Fatalf("grant %v", te.last.Load())
	}

	bad := startTokenEndpoint(t, "expired-token")
	acct.IMAP.OAuth2 = bad.oauth("")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = newConnector(e, acct).Sources()[0].Source.Run(ctx)
	if !errors.Is(err, errAuth) || !strings.Contains(err.Error(), testUser) {
		t.Fatalf("a refused token must fail the source with a clear error: %v", err)
	}
}

type saslFunc func([]byte) ([]byte, bool, error)

func (f saslFunc) Next(r []byte) ([]byte, bool, error) { return f(r) }
