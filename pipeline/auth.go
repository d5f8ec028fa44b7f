package pipeline

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/switchboardhq/switchboard/pipeline/streams"
	"golang.org/x/crypto/bcrypt"
)

// AuthFile is the file under the data directory that keeps the embedded server's generated
// credentials (mode 0600). `switchboard tail`, `dlq` and `rules replay` read it, so a local
// operator never types a password.
const AuthFile = "nats-auth.json"

// Embedded auth modes (nats.embedded.auth).
const (
	AuthCredentials = "credentials" // the default: every client needs a user and password
	AuthNone        = "none"        // anonymous clients may do anything: development only
)

// Credentials are one NATS user's name and password.
type Credentials struct {
	User     string `json:"user"`
	Password string `json:"password"`
}

// Option is the nats.go option that logs in with c (none when c is empty).
func (c Credentials) Option() nats.Option {
	if c.User == "" {
		return func(*nats.Options) error { return nil }
	}
	return nats.UserInfo(c.User, c.Password)
}

// EmbeddedAuth are the embedded server's users: the gateway itself (everything) and the
// helpdesks (read the conversation stream, manage their own consumers, nothing else).
type EmbeddedAuth struct {
	Gateway  Credentials `json:"gateway"`
	Helpdesk Credentials `json:"helpdesk"`
}

// LoadAuth reads the credentials an embedded server generated under dataDir.
func LoadAuth(dataDir string) (*EmbeddedAuth, error) {
	data, err := os.ReadFile(filepath.Join(dataDir, AuthFile))
	if err != nil {
		return nil, err
	}
	var a EmbeddedAuth
	if err := json.Unmarshal(data, &a); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dataDir, AuthFile), err)
	}
	return &a, nil
}

// resolveAuth returns the users the embedded server requires (nil when auth is "none"),
// generating the file under dataDir on first start.
func resolveAuth(c EmbeddedConfig, dataDir string) (*EmbeddedAuth, error) {
	if c.Auth == AuthNone {
		return nil, nil
	}
	_, err := LoadAuth(dataDir)
	if errors.Is(err, fs.ErrNotExist) {
		gen := &EmbeddedAuth{
			Gateway:  Credentials{User: "switchboard", Password: randomSecret()},
			Helpdesk: Credentials{User: "helpdesk", Password: randomSecret()},
		}
		err = writeAuth(dataDir, gen)
	}
	if err != nil {
		return nil, err
	}
	a, err := EffectiveAuth(c, dataDir)
	if err == nil && a.Gateway.User == a.Helpdesk.User {
		err = fmt.Errorf("the gateway and helpdesk users must differ (both %q)", a.Gateway.User)
	}
	return a, err
}

// EffectiveAuth is what the embedded server under dataDir requires: the generated
// credentials kept there, with what the config sets taking their place (configured secrets
// are never written to disk).
func EffectiveAuth(c EmbeddedConfig, dataDir string) (*EmbeddedAuth, error) {
	a, err := LoadAuth(dataDir)
	if err != nil {
		return nil, err
	}
	override(&a.Gateway, c.User, c.Password.Value())
	override(&a.Helpdesk, c.HelpdeskUser, c.HelpdeskPassword.Value())
	return a, nil
}

func override(c *Credentials, user, password string) {
	if user != "" {
		c.User = user
	}
	if password != "" {
		c.Password = password
	}
}

func randomSecret() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b) // crypto/rand never fails on Linux
	return base64.RawURLEncoding.EncodeToString(b)
}

func writeAuth(dataDir string, a *EmbeddedAuth) error {
	data, err := json.MarshalIndent(a, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}
	tmp := filepath.Join(dataDir, AuthFile+".tmp")
	if err := os.WriteFile(tmp, append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", AuthFile, err)
	}
	return os.Rename(tmp, filepath.Join(dataDir, AuthFile))
}

// users turns the auth into nats-server users with their permissions. The server is given
// bcrypt hashes, never the passwords themselves.
func (a *EmbeddedAuth) users() ([]*server.User, error) {
	gw, err := bcrypt.GenerateFromPassword([]byte(a.Gateway.Password), bcrypt.MinCost)
	if err != nil {
		return nil, err
	}
	hd, err := bcrypt.GenerateFromPassword([]byte(a.Helpdesk.Password), bcrypt.MinCost)
	if err != nil {
		return nil, err
	}
	return []*server.User{
		{Username: a.Gateway.User, Password: string(gw)},
		{Username: a.Helpdesk.User, Password: string(hd), Permissions: HelpdeskPermissions()},
	}, nil
}

// HelpdeskPermissions is least privilege for a helpdesk: look at the conversation stream,
// create, read from, acknowledge and delete consumers on it, fetch single messages; publish
// nothing into any stream and touch no other stream or bucket.
func HelpdeskPermissions() *server.Permissions {
	s := streams.StreamConversations
	return &server.Permissions{
		Publish: &server.SubjectPermission{Allow: []string{
			"$JS.API.INFO",
			"$JS.API.STREAM.INFO." + s,
			"$JS.API.STREAM.MSG.GET." + s,
			"$JS.API.DIRECT.GET." + s, "$JS.API.DIRECT.GET." + s + ".>",
			"$JS.API.CONSUMER.CREATE." + s, "$JS.API.CONSUMER.CREATE." + s + ".>",
			"$JS.API.CONSUMER.DURABLE.CREATE." + s + ".>",
			"$JS.API.CONSUMER.INFO." + s + ".>",
			"$JS.API.CONSUMER.DELETE." + s + ".>",
			"$JS.API.CONSUMER.MSG.NEXT." + s + ".>",
			"$JS.API.CONSUMER.LIST." + s, "$JS.API.CONSUMER.NAMES." + s,
			"$JS.ACK." + s + ".>", "$JS.FC." + s + ".>",
		}},
		Subscribe: &server.SubjectPermission{Allow: []string{"_INBOX.>", streams.FilterConversations}},
	}
}
