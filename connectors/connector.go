package connectors

import (
	"context"
	"io"

	"github.com/switchboardhq/switchboard/schema"
)

// Connector is one configured channel integration. New functions build one from config and
// a [Host] without side effects; the runtime then asks it for the shapes it implements:
// [EndpointProvider], [SourceProvider], [SenderProvider], [Drainer].
type Connector interface {
	Name() string
}

// EndpointProvider is a connector that receives HTTP requests.
type EndpointProvider interface {
	Endpoints() []Endpoint
}

// SourceProvider is a connector that pulls from providers (IMAP mailboxes).
type SourceProvider interface {
	Sources() []SourceSpec
}

// SenderProvider is a connector that sends outbound messages.
type SenderProvider interface {
	Senders() []SenderSpec
}

// Drainer is a connector with long-lived sessions. Drain is phase one of shutdown: stop
// taking new input, tell every client to go (a websocket close frame), and return when
// nothing accepted is still in flight or ctx ends.
type Drainer interface {
	Drain(ctx context.Context) error
}

// Source is a pull-based ingester, run by [Supervise].
type Source interface {
	// Run ingests until ctx ends (return nil or ctx.Err()) or the source fails (return
	// the error; the supervisor reconnects after a backoff). Run must advance any cursor
	// only after Publish has returned for the messages before it.
	Run(ctx context.Context) error
}

// SourceSpec names a source and the lease that keeps it to one instance at a time.
type SourceSpec struct {
	Name     string // for logs and metrics, e.g. "email/support/INBOX"
	LeaseKey string // empty: run on every instance
	Source   Source
}

// Sender delivers outbound messages through a provider.
type Sender interface {
	// Send delivers m. On success it returns the provider's id for the message and the
	// status the provider reported (queued, sent, ...). Errors wrapped with [Temporary] are
	// retried with backoff; anything else fails the message with the error's code
	// (see [Permanent]).
	Send(ctx context.Context, m *schema.Message) (SendResult, error)
}

// SendResult is a provider's answer to a send.
type SendResult struct {
	ExternalID string
	Status     schema.DeliveryStatus
	// OtherExternalIDs are the provider's ids of further messages the send produced (a reply
	// whose text and attachments went out as separate provider messages). Each is indexed like
	// ExternalID, so the provider's receipts for any part map to the one outbound message.
	OtherExternalIDs []string
}

// SenderSpec binds a sender to the channel and account whose replies it sends.
type SenderSpec struct {
	Channel schema.Channel
	// Account is the account whose replies the sender sends, or "*" for every account of the
	// channel that no other sender names. Two connectors may send on one channel (Twilio's and
	// Meta's WhatsApp) as long as their account names differ: the pair must be unique.
	Account string
	Sender  Sender
	// Idempotent says the provider deduplicates a resend of the same message id, so a send
	// whose outcome is unknown (crash mid-request) may be repeated. Otherwise it is failed
	// with code "outcome_unknown" rather than risk a second copy reaching the customer.
	Idempotent bool
}

// MediaFetcher is a connector that downloads media its provider only references (a Twilio
// MediaUrl, a Meta attachment URL, a Telegram file id) with the account's credentials. The
// pipeline calls it outside the webhook's answer path and stores the bytes in the object store.
type MediaFetcher interface {
	MediaChannels() []schema.Channel
	FetchMedia(ctx context.Context, account string, a *schema.Attachment) (io.ReadCloser, string, error)
}

// MediaScope is implemented by a [MediaFetcher] that fetches for only some accounts of its
// channels: two connectors may serve one channel (Twilio's and Meta's WhatsApp), each with its
// own credentials, and a fetcher must never see the other's media. A fetcher without it serves
// every account of its channels ("*"). Account names are unique per channel across connectors.
type MediaScope interface {
	MediaAccounts(ch schema.Channel) []string
}
