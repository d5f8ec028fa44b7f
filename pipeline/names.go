package pipeline

import (
	"encoding/base64"
	"fmt"
	"hash/fnv"

	"github.com/switchboardhq/switchboard/schema"
)

// Streams, subjects and buckets. These names are part of the external contract (docs/streams.md):
// helpdesks create their own consumers on StreamConversations.
const (
	StreamInbound       = "SB_INBOUND"       // sb.in.<channel>.<account>.<p>, sb.status.<channel>.<account>.<p>
	StreamRoute         = "SB_ROUTE"         // sb.route.<p>: identified messages, statuses and agent commands
	StreamConversations = "SB_CONVERSATIONS" // sb.conv.<conversation>.<type>, sb.customer.<customer>.<type>
	StreamOutbound      = "SB_OUTBOUND"      // sb.out.<channel>.<account>
	StreamDeadLetter    = "SB_DLQ"           // sb.dlq.<stage>
	StreamRejected      = "SB_REJECTED"      // sb.rejected.<channel>

	BucketMessages      = "sb_messages"      // message id -> schema.Message (with conversation_id once routed)
	BucketConversations = "sb_conversations" // conversation id -> schema.Conversation
	BucketCustomers     = "sb_customers"     // customer id -> schema.Customer
	BucketIdentities    = "sb_identities"    // identity key -> customer id
	BucketOutbox        = "sb_outbox"        // outbound send records and the provider id index
	BucketState         = "sb_state"         // connectors' own state, namespaced per connector
	BucketLeases        = "sb_leases"        // leases (per-key TTL)
	BucketMeta          = "sb_meta"          // deployment facts (partition count)
	ObjectAttachments   = "sb_attachments"   // attachment bytes and oversized raw payloads
)

// Headers set on pipeline messages.
const (
	HeaderKind   = "Sb-Kind"   // message | status | command
	HeaderReason = "Sb-Reason" // why a message is in the dead-letter stream
	HeaderStage  = "Sb-Stage"  // which stage dead-lettered it
	// HeaderRedrive marks a message `switchboard dlq redrive` put back (the dead letter's
	// sequence): a failed reply carrying it is sent again.
	HeaderRedrive = "Sb-Redrive"
)

// Envelope kinds on the route stream.
const (
	KindMessage = "message"
	KindStatus  = "status"
	KindCommand = "command"
)

// InboundSubject is where a connector's message lands.
func InboundSubject(ch schema.Channel, account string, partition int) string {
	return fmt.Sprintf("sb.in.%s.%s.%d", ch, account, partition)
}

// StatusSubject is where a delivery status update lands.
func StatusSubject(ch schema.Channel, account string, partition int) string {
	return fmt.Sprintf("sb.status.%s.%s.%d", ch, account, partition)
}

// RouteSubject is the route stream subject of a customer partition.
func RouteSubject(partition int) string { return fmt.Sprintf("sb.route.%d", partition) }

// OutboundSubject is where replies for a channel account wait for their sender.
func OutboundSubject(ch schema.Channel, account string) string {
	return fmt.Sprintf("sb.out.%s.%s", ch, account)
}

// DeadLetterSubject is where a stage puts what it cannot process.
func DeadLetterSubject(stage string) string { return "sb.dlq." + stage }

// RejectedSubject is where refused webhook requests are recorded.
func RejectedSubject(ch schema.Channel) string {
	if ch == "" {
		ch = "unknown"
	}
	return "sb.rejected." + string(ch)
}

// Partition maps a key (an address, a customer id) to one of n partitions with FNV-1a.
func Partition(key string, n int) int {
	if n <= 1 {
		return 0
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))
	return int(h.Sum32() % uint32(n))
}

// Key makes any string a valid KV key token: strings of letters, digits, '-' and '_' are
// kept as they are; anything else becomes "=" + base64url (which never collides with a kept
// string, since those have no '=').
func Key(s string) string {
	if schema.ValidToken(s) {
		return s
	}
	return "=" + base64.RawURLEncoding.EncodeToString([]byte(s))
}
