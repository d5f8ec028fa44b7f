// Package meta is the Meta channel family: Facebook Messenger, Instagram messaging and the
// WhatsApp Cloud API, which share one webhook format and one signature scheme.
//
// Each configured Meta app has one webhook, /v1/channels/meta/<app>/webhook. A GET is the
// subscription handshake (hub.challenge echoed when hub.verify_token matches); a POST is
// verified with X-Hub-Signature-256 over the exact body bytes, normalized entry by entry (one
// POST batches many entries and messages) and answered 200 only after every message and
// status in it is durable. Messages go out through the Send API (Messenger, Instagram) and the
// Cloud API /messages endpoint (WhatsApp), with each platform's messaging-window rules checked
// before the call. See docs/channels/meta.md.
package meta
