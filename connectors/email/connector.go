// Package email is the email channel: it reads mailboxes over IMAP (IDLE, with a periodic
// catch-up and a polling fallback) and sends agents' replies over SMTP submission.
//
// Inbound, every folder is a [connectors.Source] under a lease, so one instance reads it at a
// time. A message is parsed with go-message (best effort: problems are recorded, never
// fatal), its raw copy and attachments are stored in the object store, it is published,
// and only then does the folder's cursor (UIDVALIDITY and last UID, in JetStream KV) move.
//
// Outbound replies carry a Message-ID signed with the account's secret; the customer's
// answer to it is recognised (Thread.ReplyToMessageID) and cannot be forged.
package email

import (
	"maps"
	"slices"
	"time"

	"go.uber.org/zap"

	"github.com/switchboardhq/switchboard/configs/cfg"
	"github.com/switchboardhq/switchboard/connectors"
	"github.com/switchboardhq/switchboard/schema"
)

// Connector is the email channel.
type Connector struct {
	cfg  Config
	host connectors.Host
	now  func() time.Time
}

var (
	_ connectors.SourceProvider = (*Connector)(nil)
	_ connectors.SenderProvider = (*Connector)(nil)
)

// New returns the connector; it starts nothing.
func New(c Config, host connectors.Host) *Connector {
	if host.Logger == nil {
		host.Logger = zap.NewNop()
	}
	if err := cfg.SetDefaults(&c); err != nil {
		panic(err) // a bad default tag: every email test catches it
	}
	return &Connector{cfg: c, host: host, now: time.Now}
}

// Name implements [connectors.Connector].
func (c *Connector) Name() string { return "email" }

// Sources implements [connectors.SourceProvider]: one per folder of every account.
func (c *Connector) Sources() []connectors.SourceSpec {
	var out []connectors.SourceSpec
	for _, name := range slices.Sorted(maps.Keys(c.cfg.Accounts)) {
		acct := c.cfg.Accounts[name]
		for _, folder := range acct.IMAP.folders() {
			id := "email/" + name + "/" + folder
			out = append(out, connectors.SourceSpec{Name: id, LeaseKey: id, Source: c.source(name, acct, folder)})
		}
	}
	return out
}

func (c *Connector) source(name string, acct *Account, folder string) *source {
	return &source{
		acct: acct, folder: folder,
		dial:    newDialer(&acct.IMAP.Server, 993, 143),
		creds:   newCredentials(&acct.IMAP.Server, acct),
		cursors: newCursorStore(c.host.State, name, folder),
		norm: &normalizer{account: name, folder: folder, lim: acct.limits(), blobs: c.host.Blobs, auth: &senderAuth{cfg: acct.Authentication},
			signer: newSigner(acct.MessageIDSecret.Value(), acct.Address)},
		pub:   c.host.Publisher,
		log:   c.host.Logger.With(zap.String("account", name), zap.String("folder", folder)),
		poll:  acct.IMAP.PollInterval.Or(defaults.IMAP.PollInterval.D()),
		batch: defaultBatch,
	}
}

// Senders implements [connectors.SenderProvider]: accounts with smtp send their replies.
func (c *Connector) Senders() []connectors.SenderSpec {
	var out []connectors.SenderSpec
	for _, name := range slices.Sorted(maps.Keys(c.cfg.Accounts)) {
		acct := c.cfg.Accounts[name]
		if acct.SMTP == nil {
			continue
		}
		s := &sender{name: name, acct: acct, sign: newSigner(acct.MessageIDSecret.Value(), acct.Address),
			dial: newDialer(&acct.SMTP.Server, 465, 587), creds: newCredentials(&acct.SMTP.Server, acct),
			blobs: c.host.Blobs, log: c.host.Logger.With(zap.String("account", name)), now: c.now}
		if acct.SMTP.SentFolder != "" {
			s.sent, s.icreds = newDialer(&acct.IMAP.Server, 993, 143), newCredentials(&acct.IMAP.Server, acct)
		}
		out = append(out, connectors.SenderSpec{Channel: schema.ChannelEmail, Account: name, Sender: s})
	}
	return out
}
