package email

import (
	"net"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/configs/cfg"
	"github.com/switchboardhq/switchboard/schema"
)

// Config is the email channel's section of the config file.
type Config struct {
	// Accounts are mailboxes, by account name (letters, digits, - and _).
	Accounts map[string]*Account `yaml:"accounts" key:"support"`
}

// Account is one mailbox: where mail is read (IMAP) and how replies leave (SMTP).
type Account struct {
	// Address is the mailbox's own address: the From of replies.
	Address string `yaml:"address"`
	// Name is the display name on replies ("Acme Support").
	Name string `yaml:"name"`
	// ReplyTo, when set, is the Reply-To of replies (replies then go there, not to Address).
	ReplyTo string `yaml:"reply_to"`
	IMAP    IMAP   `yaml:"imap"`
	SMTP    *SMTP  `yaml:"smtp"`
	// MessageIDSecret keys the HMAC in our Message-IDs, so a forged In-Reply-To cannot pass
	// for a reply to us. Required when smtp is set.
	MessageIDSecret cfg.Secret `yaml:"message_id_secret"`
	// Caps a fetched message: larger mail is published from its header alone, with a
	// problem saying so, and left on the server.
	MaxMessageSize cfg.ByteSize `yaml:"max_message_size" default:"50MiB"`
	// Caps one stored attachment.
	MaxAttachmentSize cfg.ByteSize `yaml:"max_attachment_size" default:"25MiB"`
	// Caps stored attachments per message.
	MaxAttachments int `yaml:"max_attachments" default:"20"`
	// Authentication says how sender addresses are proven (SPF, DKIM, DMARC); without it
	// no sender is authenticated and none links or merges customers on its own.
	Authentication Authentication `yaml:"authentication"`
}

// Server is where a protocol client connects and how it authenticates.
type Server struct {
	Host string `yaml:"host"`
	Port int    `yaml:"port"`
	// TLS is "implicit" (IMAPS 993, SMTPS 465), "starttls" (143, 587) or "none" (loopback
	// test servers only).
	TLS string `yaml:"tls"`
	// InsecureSkipVerify disables certificate checks (self-signed test servers).
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
	// Username defaults to the account's address.
	Username string `yaml:"username"`
	// Auth is "login" (password), "xoauth2" (OAuth 2.0 access token) or, for SMTP only,
	// "none" (an internal relay that allows this host by address; no credentials are sent).
	Auth     string     `yaml:"auth"`
	Password cfg.Secret `yaml:"password" example:"{env: MAIL_PASSWORD}"`
	OAuth2   *OAuth2    `yaml:"oauth2"`
	// Bounds connecting and each command.
	Timeout cfg.Duration `yaml:"timeout" default:"30s"`
}

// IMAP is the inbound side.
type IMAP struct {
	Server `yaml:",inline"`
	// Folders to watch.
	Folders []string `yaml:"folders" default:"[INBOX]"`
	// Wait for new mail with IMAP IDLE when the server offers it; otherwise the folder is
	// polled.
	IDLE *bool `yaml:"idle" default:"true"`
	// The catch-up period: a NOOP and a search for missed mail, even while idling (the
	// polling interval without IDLE).
	PollInterval cfg.Duration `yaml:"poll_interval" default:"2m"`
	// What happens to a message once it is durable: keep (the mailbox is opened read-only),
	// seen (flag \Seen) or move (to move_to).
	AfterIngest string `yaml:"after_ingest" default:"keep"`
	MoveTo      string `yaml:"move_to"`
	// When the server rebuilds a folder (UIDVALIDITY changes) the connector reads it again;
	// mail that arrived more than this before the newest mail it had seen is left out (the
	// gateway recognizes a message seen before only within its message index's horizon,
	// pipeline.retention.messages). 0 reads everything again.
	RescanWindow cfg.Duration `yaml:"rescan_window" default:"720h"`
}

// SMTP is the outbound side.
type SMTP struct {
	Server `yaml:",inline"`
	// SentFolder, when set, receives a copy of every reply over IMAP (APPEND), as mail
	// clients do.
	SentFolder string `yaml:"sent_folder"`
	// HeloName is the name given in EHLO (default: the domain of the address).
	HeloName string `yaml:"helo_name"`
}

// OAuth2 gets access tokens for XOAUTH2: the client-credentials flow (Microsoft 365
// app-only) or, with RefreshToken, the refresh-token flow (Google, Microsoft delegated).
type OAuth2 struct {
	TokenURL     string     `yaml:"token_url"`
	ClientID     string     `yaml:"client_id"`
	ClientSecret cfg.Secret `yaml:"client_secret"`
	RefreshToken cfg.Secret `yaml:"refresh_token"`
	Scopes       []string   `yaml:"scopes"`
}

// defaults is an account with nothing but the declared defaults (the `default` tags), for
// code that meets an account or server not filled by New.
var defaults = func() Account {
	a := Account{SMTP: &SMTP{}}
	if err := cfg.SetDefaults(&a); err != nil {
		panic(err)
	}
	return a
}()

// Validate checks account names.
func (c *Config) Validate(ck *cfg.Checker) {
	for name := range c.Accounts {
		if !schema.ValidToken(name) {
			ck.KeyErrorf("accounts."+name, "account names may hold only letters, digits, - and _")
		}
	}
}

// Validate checks one account.
func (a *Account) Validate(ck *cfg.Checker) {
	if _, err := mail.ParseAddress(a.Address); err != nil || a.Address == "" || strings.ContainsAny(a.Address, "<> ") {
		ck.Errorf("address", "must be a plain email address like support@example.com")
	}
	if a.ReplyTo != "" {
		if _, err := mail.ParseAddress(a.ReplyTo); err != nil {
			ck.Errorf("reply_to", "is not an email address: %v", err)
		}
	}
	if a.SMTP != nil && !a.MessageIDSecret.IsSet() {
		ck.Errorf("message_id_secret", "is required with smtp (it signs the Message-IDs of replies)")
	}
	if a.MaxAttachments < 0 {
		ck.Errorf("max_attachments", "must not be negative")
	}
}

// Validate checks the inbound side.
func (m *IMAP) Validate(ck *cfg.Checker) {
	m.Server.check(ck, false)
	for i, f := range m.Folders {
		if strings.TrimSpace(f) == "" {
			ck.Errorf("folders["+strconv.Itoa(i)+"]", "must not be empty")
		}
	}
	switch m.AfterIngest {
	case "", "keep", "seen":
		if m.MoveTo != "" {
			ck.Errorf("move_to", "is only used with after_ingest: move")
		}
	case "move":
		ck.Required("move_to", m.MoveTo == "")
	default:
		ck.Errorf("after_ingest", "must be keep, seen or move, not %q", m.AfterIngest)
	}
	if m.PollInterval != 0 && m.PollInterval.D() < time.Second {
		ck.Errorf("poll_interval", "must be at least 1s")
	}
}

// Validate checks the outbound side.
func (s *SMTP) Validate(ck *cfg.Checker) { s.Server.check(ck, true) }

// check validates a server; relay is true for SMTP, which may submit without logging in.
func (s *Server) check(ck *cfg.Checker, relay bool) {
	ck.Required("host", s.Host == "")
	if s.Port < 0 || s.Port > 65535 {
		ck.Errorf("port", "must be between 1 and 65535")
	}
	switch s.TLS {
	case "", "implicit", "starttls":
	case "none":
		// Credentials never cross a network in the clear: plaintext is for loopback test
		// servers, or for a relay that takes mail without a login.
		if ip := net.ParseIP(s.Host); s.Host != "localhost" && (ip == nil || !ip.IsLoopback()) && s.Auth != "none" {
			ck.Errorf("tls", "none is allowed only for loopback test servers or with auth: none (no credentials in the clear); use implicit or starttls")
		}
	default:
		ck.Errorf("tls", "must be implicit, starttls or none, not %q", s.TLS)
	}
	switch s.Auth {
	case "", "login":
		ck.Required("password", !s.Password.IsSet())
		if s.OAuth2 != nil {
			ck.Errorf("oauth2", "is only used with auth: xoauth2")
		}
	case "xoauth2":
		ck.Required("oauth2", s.OAuth2 == nil)
	case "none":
		switch {
		case !relay:
			ck.Errorf("auth", "none is only for SMTP relays; an IMAP mailbox needs login or xoauth2")
		case s.Password.IsSet():
			ck.Errorf("password", "is not used with auth: none (remove it, or use auth: login)")
		case s.OAuth2 != nil:
			ck.Errorf("oauth2", "is only used with auth: xoauth2")
		}
	default:
		ck.Errorf("auth", "must be login or xoauth2 (or none for an SMTP relay), not %q", s.Auth)
	}
}

// Validate checks the token endpoint and credentials.
func (o *OAuth2) Validate(ck *cfg.Checker) {
	u, err := url.Parse(o.TokenURL)
	if o.TokenURL == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		ck.Errorf("token_url", "must be the provider's token endpoint URL (https://...)")
	}
	ck.Required("client_id", o.ClientID == "")
	ck.Required("client_secret", !o.ClientSecret.IsSet())
}

// port returns the configured port or the protocol's default for the TLS mode.
func (s *Server) port(implicit, plain int) int {
	switch {
	case s.Port != 0:
		return s.Port
	case s.TLS == "" || s.TLS == "implicit":
		return implicit
	}
	return plain
}

func (s *Server) username(acct *Account) string {
	if s.Username != "" {
		return s.Username
	}
	return acct.Address
}

func (m *IMAP) folders() []string {
	if len(m.Folders) == 0 {
		return defaults.IMAP.Folders
	}
	return m.Folders
}

func (m *IMAP) useIdle() bool { return m.IDLE == nil || *m.IDLE }

func (a *Account) limits() limits {
	n := a.MaxAttachments
	if n == 0 {
		n = defaults.MaxAttachments
	}
	return limits{
		message:     a.MaxMessageSize.Or(int64(defaults.MaxMessageSize)),
		attachment:  a.MaxAttachmentSize.Or(int64(defaults.MaxAttachmentSize)),
		attachments: n,
	}
}

// limits bound what one message may store.
type limits struct {
	message, attachment int64
	attachments         int
}
