package schema

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"strings"
	"time"
)

// Id prefixes. Every id is a valid NATS subject token and KV key: lowercase base32, no dots.
const (
	PrefixMessage      = "msg_"
	PrefixConversation = "cnv_"
	PrefixCustomer     = "cus_"
	PrefixEvent        = "evt_"
)

var idEncoding = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

// DedupeKey is the key under which a channel message is deduplicated:
// "<channel>:<account>:<external id>".
func DedupeKey(ch Channel, account, externalID string) string {
	return string(ch) + ":" + account + ":" + externalID
}

// MessageID derives a message id from its dedupe key, so a provider's retry of the same
// message always maps to the same id.
func MessageID(dedupeKey string) string { return PrefixMessage + hashID(dedupeKey) }

// CustomerID derives a customer id from the identity key that created the customer, so two
// concurrent first messages from one address agree on the id.
func CustomerID(identityKey string) string { return PrefixCustomer + hashID(identityKey) }

// EventID derives an event id from the message or command that caused it and the event's
// position among that cause's events.
func EventID(cause string, n int) string {
	var b [2]byte
	binary.BigEndian.PutUint16(b[:], uint16(n))
	return PrefixEvent + hashID(cause+"\x00"+string(b[:]))
}

// NewConversationID returns a fresh, time-ordered conversation id.
func NewConversationID(now time.Time) string { return PrefixConversation + timeOrdered(now) }

// NewMessageID returns a fresh, time-ordered message id for messages without a natural id
// (agent replies without an idempotency key).
func NewMessageID(now time.Time) string { return PrefixMessage + timeOrdered(now) }

func hashID(s string) string {
	sum := sha256.Sum256([]byte(s))
	return idEncoding.EncodeToString(sum[:16])
}

func timeOrdered(now time.Time) string {
	var b [16]byte
	var ms [8]byte
	binary.BigEndian.PutUint64(ms[:], uint64(now.UnixMilli()))
	copy(b[:6], ms[2:]) // 48 bits of milliseconds, as in ULID
	_, _ = rand.Read(b[6:])
	return idEncoding.EncodeToString(b[:])
}

// ValidToken reports whether s can be used as one NATS subject token and KV key: ASCII
// letters, digits, '-' and '_'.
func ValidToken(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	return strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_')
	}) < 0
}

// ConversationIDFor derives the id of a conversation from the message that opened it, so a
// redelivered message reopens nothing twice.
func ConversationIDFor(cause string) string {
	return PrefixConversation + hashID("conversation\x00"+cause)
}
