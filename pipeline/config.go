package pipeline

import (
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/configs/cfg"
)

// NATSConfig says which NATS to use: an embedded server (the default) or an external cluster.
type NATSConfig struct {
	// An external NATS cluster to connect to instead of the embedded server (then leave out
	// embedded), e.g. nats://n1:4222,nats://n2:4222.
	URL string `yaml:"url"`
	// How to log in to the external cluster: user and password, a token, a credentials file
	// or an nkey seed file.
	User        string     `yaml:"user"`
	Password    cfg.Secret `yaml:"password" example:"{env: NATS_PASSWORD}"`
	Token       cfg.Secret `yaml:"token" example:"{env: NATS_TOKEN}"`
	Credentials string     `yaml:"credentials_file"`
	NKeySeed    string     `yaml:"nkey_seed_file"`
	// Client TLS for the external cluster.
	TLS *TLSConfig `yaml:"tls"`
	// Stream and bucket replicas: 1 embedded, 3 on a 3-node cluster.
	Replicas int `yaml:"replicas" default:"1"`

	// The in-process nats-server with JetStream (the default when url is empty).
	Embedded EmbeddedConfig `yaml:"embedded"`
}

// TLSConfig are client TLS files for an external cluster.
type TLSConfig struct {
	CA       string `yaml:"ca_file"`
	Cert     string `yaml:"cert_file"`
	Key      string `yaml:"key_file"`
	Insecure bool   `yaml:"insecure_skip_verify"`
}

// EmbeddedConfig configures the in-process nats-server.
type EmbeddedConfig struct {
	// host:port for helpdesks, `switchboard tail` and the nats CLI (127.0.0.1:4222 when url is
	// empty); "none" listens nowhere. serve --nats-addr overrides it.
	Listen string `yaml:"listen"`
	// "credentials": every client logs in; what the four settings below leave out is generated
	// on first start into data_dir/nats-auth.json (0600). "none": anonymous clients may read,
	// forge and delete anything (development only; a warning is logged at every start).
	Auth string `yaml:"auth" default:"credentials"`
	// The gateway's own login (full access; tail, dlq and rules replay use it).
	User     string     `yaml:"user" example:"switchboard"`
	Password cfg.Secret `yaml:"password" example:"{env: NATS_PASSWORD}"`
	// The helpdesks' login, least privilege: read SB_CONVERSATIONS through their own consumers,
	// nothing else.
	HelpdeskUser     string     `yaml:"helpdesk_user" example:"helpdesk"`
	HelpdeskPassword cfg.Secret `yaml:"helpdesk_password" example:"{env: NATS_HELPDESK_PASSWORD}"`
	// Memory the embedded JetStream may use.
	MaxMemory cfg.ByteSize `yaml:"max_memory" default:"256MiB"`
	// Disk the embedded JetStream may use; 0: limited by the disk.
	MaxStore cfg.ByteSize `yaml:"max_store"`
	// How often the file store fsyncs (nats-server's own default). "always" is not offered:
	// set it low for stricter durability on power loss.
	SyncInterval cfg.Duration `yaml:"sync_interval" default:"2m"`
}

// Config tunes the streams and stages.
type Config struct {
	// How the customers are split: messages of one sender (then of one customer) stay in one
	// partition, partitions run in parallel (each with its lanes). Fixed once data exists:
	// the gateway refuses to start if it changes.
	Partitions int `yaml:"partitions" default:"8"`
	// Customers whose messages each partition handles at once: a customer's messages keep
	// their order, other customers' need not wait for them. Can change at any restart
	// (parallelism: partitions × lanes); 1 handles one message at a time per partition.
	Lanes int `yaml:"lanes" default:"4"`
	// How long JetStream remembers message ids; later repeats are still dropped by the router,
	// from the message index (within its horizon).
	DedupeWindow cfg.Duration `yaml:"dedupe_window" default:"20m"`
	// How long each stream keeps data.
	Retention Retention `yaml:"retention"`
	// The index that finds an inbound message by id (GET /v1/messages/{id}, late duplicates)
	// with memory fixed by its size rather than growing with history.
	MessageIndex MessageIndexConfig `yaml:"message_index"`
	// Retries of a failing message before it is dead-lettered.
	MaxAttempts int `yaml:"max_attempts" default:"20"`
	// How long a dead instance keeps a pull source (a mailbox) before another takes it.
	LeaseTTL cfg.Duration `yaml:"lease_ttl" default:"15s"`
	// What is fetched into the object store.
	Attachments AttachmentLimits `yaml:"attachments"`
}

// Retention bounds each stream by age.
type Retention struct {
	Inbound cfg.Duration `yaml:"inbound" default:"720h"` // SB_INBOUND
	Route   cfg.Duration `yaml:"route" default:"168h"`   // SB_ROUTE
	// SB_CONVERSATIONS, the unified stream helpdesks consume (also what `rules replay` reads).
	Conversations cfg.Duration `yaml:"conversations" default:"8760h"`
	Outbound      cfg.Duration `yaml:"outbound" default:"168h"`    // SB_OUTBOUND
	DeadLetter    cfg.Duration `yaml:"dead_letter" default:"720h"` // SB_DLQ
	// SB_REJECTED, the forensic records (also capped at 100k records / 256MiB).
	Rejected    cfg.Duration `yaml:"rejected" default:"336h"`
	Attachments cfg.Duration `yaml:"attachments" default:"8760h"` // the object store sb_attachments
	// Message records (sb_messages: the message index and outbound messages' delivery
	// status), by age since last written. They stop a redelivered message applying twice, so
	// they must outlive inbound, route and dead_letter. Messages themselves stay in their
	// conversation's events (retention.conversations).
	Messages cfg.Duration `yaml:"messages" default:"720h"`
	// Send records (sb_outbox: delivery statuses, no double sends); at least outbound and
	// dead_letter.
	Outbox cfg.Duration `yaml:"outbox" default:"8760h"`
}

// AttachmentLimits caps fetched attachments.
type AttachmentLimits struct {
	MaxBytes   cfg.ByteSize `yaml:"max_bytes" default:"25MiB"`    // per fetched attachment
	MaxPerMsg  int          `yaml:"max_per_message" default:"20"` // attachments fetched per message
	FetchTries int          `yaml:"fetch_attempts" default:"3"`   // tries per attachment
}

// WithDefaults fills what the file left out (the `default` tags).
func (c Config) WithDefaults() Config {
	if err := cfg.SetDefaults(&c); err != nil {
		panic(err) // a bad default tag: every test that loads a config catches it
	}
	return c
}

// Validate checks ranges.
func (c *Config) Validate(ck *cfg.Checker) {
	if c.Partitions < 0 || c.Partitions > 1024 {
		ck.Errorf("partitions", "must be between 1 and 1024")
	}
	if c.Lanes < 0 || c.Lanes > 256 {
		ck.Errorf("lanes", "must be between 1 and 256")
	}
	if c.LeaseTTL != 0 && c.LeaseTTL.D() < 3*time.Second {
		ck.Errorf("lease_ttl", "must be at least 3s")
	}
	if ix := c.MessageIndex; ix.Buckets < 0 || ix.Buckets > 1<<20 {
		ck.Errorf("message_index.buckets", "must be between 1 and 1048576")
	}
	if ix := c.MessageIndex; ix.Entries < 0 || ix.Entries > 1024 {
		ck.Errorf("message_index.entries", "must be between 1 and 1024")
	}
	if c.DedupeWindow != 0 && c.DedupeWindow.D().Milliseconds() < 100 {
		ck.Errorf("dedupe_window", "must be at least 100ms")
	}
	r := c.WithDefaults().Retention
	for _, rec := range []struct {
		field string
		keep  time.Duration
		outer map[string]time.Duration
	}{
		{"messages", r.Messages.D(), map[string]time.Duration{"inbound": r.Inbound.D(), "route": r.Route.D(), "dead_letter": r.DeadLetter.D()}},
		{"outbox", r.Outbox.D(), map[string]time.Duration{"outbound": r.Outbound.D(), "dead_letter": r.DeadLetter.D()}},
	} {
		for _, name := range slices.Sorted(maps.Keys(rec.outer)) {
			if rec.keep < rec.outer[name] {
				ck.Errorf("retention."+rec.field, "must be at least retention.%s (%s): a message redelivered from there would otherwise apply twice", name, shortDuration(rec.outer[name]))
			}
		}
	}
}

// shortDuration renders 720h rather than 720h0m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// Validate checks the NATS settings.
func (c *NATSConfig) Validate(ck *cfg.Checker) {
	if c.URL != "" && ck.Has("embedded") {
		ck.Errorf("embedded", "url points at an external cluster; remove embedded or url")
	}
	if c.Replicas < 0 || c.Replicas > 5 {
		ck.Errorf("replicas", "must be between 1 and 5")
	}
	if c.URL == "" && c.Replicas > 1 {
		ck.Errorf("replicas", "an embedded single server holds 1 replica; use url for a cluster")
	}
}
