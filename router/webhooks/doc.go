// Package webhooks delivers the unified stream to helpdesks over HTTP: event subscriptions in
// the Standard Webhooks format (docs/webhooks.md). Each subscription follows SB_CONVERSATIONS
// from its stored position under a lease (one instance delivers it at a time, any other takes
// over), posts the events that pass its filters one at a time, in stream order (so in order
// per conversation), signed with every configured secret, retries a failed delivery with
// exponential backoff without skipping it, and records every delivery in a log.
package webhooks
