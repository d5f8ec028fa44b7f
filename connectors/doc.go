// Package connectors is the contract between Switchboard and the channels, and the shared
// machinery every channel relies on.
//
// A connector knows its provider's protocol and [schema]; it never touches NATS. It comes in
// any mix of four shapes:
//
//   - push: HTTP [Endpoint]s for webhooks (Twilio, Meta, Telegram, the API channel). The
//     [Intake] wraps every handler: body limits (413), overload and shutdown (503), a deadline
//     that answers well inside the provider's budget, panic recovery, metrics, and a forensic
//     record of every refused request. A handler verifies, normalizes, calls
//     [Publisher.Publish] and answers; Publish returns only once the message is durable, so a
//     2xx always means "stored".
//   - pull: a [Source] (an IMAP mailbox) run by [Supervise]: restart with backoff and jitter,
//     a lease so one instance at a time runs it, metrics, and a stop path.
//   - sessions: long-lived connections (live-chat websockets) are an [Endpoint] with a Raw
//     handler plus a [Drainer] that the two-phase shutdown calls first.
//   - outbound: a [Sender] per channel and account. The pipeline feeds it replies from the
//     outbound stream, records the attempt so a redelivered reply is never sent twice, retries
//     [Temporary] errors with backoff and turns results into delivery events.
//
// Everything stateful a connector needs (durable handoff, blobs, cursors, leases, the
// conversation feed) comes through [Host], implemented by package pipeline over JetStream.
package connectors
