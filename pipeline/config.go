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
	// URL of an external NATS cluster (comma-separated seeds). Empty: embed a server.
	URL         string     `yaml:"url"`
	User        string     `yaml:"user"`
	Password    cfg.Secret `yaml:"password"`
	Token       cfg.Secret `yaml:"token"`
	Credentials string     `yaml:"credentials_file"`
	NKeySeed    string     `yaml:"nkey_seed_file"`
	TLS         *TLSConfig `yaml:"tls"`
	Replicas    int        `yaml:"replicas"` // stream and bucket replicas (1 embedded; 3 on a cluster)

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
	// Listen is host:port for helpdesks and the nats CLI; "" or "none" listens nowhere.
	Listen string `yaml:"listen"`
	// Auth is "credentials" (the default: every client logs in; what User, Password,
	// HelpdeskUser and HelpdeskPassword leave out is generated on first start and kept in
	// data_dir/nats-auth.json) or "none" (anonymous clients may do anything: development only).
	Auth string `yaml:"auth"`
	// User and Password are the gateway's own login (full access).
	User     string     `yaml:"user"`
	Password cfg.Secret `yaml:"password"`
	// HelpdeskUser and HelpdeskPassword are the helpdesks' login: read the conversation
	// stream and manage their own consumers on it, nothing else.
	HelpdeskUser     string       `yaml:"helpdesk_user"`
	HelpdeskPassword cfg.Secret   `yaml:"helpdesk_password"`
	MaxMemory        cfg.ByteSize `yaml:"max_memory"`
	MaxStore         cfg.ByteSize `yaml:"max_store"`
	// SyncInterval is how often the file store fsyncs (default 2m, nats-server's own); "always"
	// is not offered: set it low for stricter durability on power loss.
	SyncInterval cfg.Duration `yaml:"sync_interval"`
}

// Config tunes the streams and stages.
type Config struct {
	// Partitions splits ordered processing: messages of one sender (then of one customer)
	// stay in one partition, partitions run in parallel. Fixed once data exists.
	Partitions int `yaml:"partitions"`
	// DedupeWindow is how long JetStream remembers message ids; later duplicates are still
	// dropped by the ingest stage, from the message records.
	DedupeWindow cfg.Duration `yaml:"dedupe_window"`
	Retention    Retention    `yaml:"retention"`
	// MaxAttempts is how often a stage retries a message before dead-lettering it.
	MaxAttempts int `yaml:"max_attempts"`
	// LeaseTTL is how long a dead instance keeps a mailbox before another takes over.
	LeaseTTL cfg.Duration `yaml:"lease_ttl"`
	// Attachments caps what is fetched into the object store.
	Attachments AttachmentLimits `yaml:"attachments"`
}

// Retention bounds each stream by age.
type Retention struct {
	Inbound       cfg.Duration `yaml:"inbound"`
	Route         cfg.Duration `yaml:"route"`
	Conversations cfg.Duration `yaml:"conversations"`
	Outbound      cfg.Duration `yaml:"outbound"`
	DeadLetter    cfg.Duration `yaml:"dead_letter"`
	Rejected      cfg.Duration `yaml:"rejected"`
	Attachments   cfg.Duration `yaml:"attachments"`
	// Messages and Outbox bound the message records (sb_messages) and send records
	// (sb_outbox) by age since their last write. They are what keeps a redelivered or
	// redriven message from applying twice, so they must outlive the streams that can
	// deliver one again.
	Messages cfg.Duration `yaml:"messages"`
	Outbox   cfg.Duration `yaml:"outbox"`
}

// AttachmentLimits caps fetched attachments.
type AttachmentLimits struct {
	MaxBytes   cfg.ByteSize `yaml:"max_bytes"`
	MaxPerMsg  int          `yaml:"max_per_message"`
	FetchTries int          `yaml:"fetch_attempts"`
}

// Defaults.
const (
	DefaultPartitions = 8
	day               = 24 * time.Hour
)

// WithDefaults fills what the file left out.
func (c Config) WithDefaults() Config {
	if c.Partitions == 0 {
		c.Partitions = DefaultPartitions
	}
	if c.DedupeWindow == 0 {
		c.DedupeWindow = cfg.Duration(20 * time.Minute)
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = 20
	}
	setDur(&c.LeaseTTL, 15*time.Second)
	r := &c.Retention
	setDur(&r.Inbound, 30*day)
	setDur(&r.Route, 7*day)
	setDur(&r.Conversations, 365*day)
	setDur(&r.Outbound, 7*day)
	setDur(&r.DeadLetter, 30*day)
	setDur(&r.Rejected, 14*day)
	setDur(&r.Attachments, 365*day)
	setDur(&r.Messages, 365*day)
	setDur(&r.Outbox, 365*day)
	if c.Attachments.MaxBytes == 0 {
		c.Attachments.MaxBytes = 25 << 20
	}
	if c.Attachments.MaxPerMsg == 0 {
		c.Attachments.MaxPerMsg = 20
	}
	if c.Attachments.FetchTries == 0 {
		c.Attachments.FetchTries = 3
	}
	return c
}

func setDur(d *cfg.Duration, def time.Duration) {
	if *d == 0 {
		*d = cfg.Duration(def)
	}
}

// Validate checks ranges.
func (c *Config) Validate(ck *cfg.Checker) {
	if c.Partitions < 0 || c.Partitions > 1024 {
		ck.Errorf("partitions", "must be between 1 and 1024")
	}
	if c.LeaseTTL != 0 && c.LeaseTTL.D() < 3*time.Second {
		ck.Errorf("lease_ttl", "must be at least 3s")
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
