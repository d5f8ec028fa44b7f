package streams

import (
	"encoding/base64"
	"fmt"
	"hash/fnv"
	"strings"
	"time"

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
	BucketState         = "sb_state"         // connectors' own state, namespaced per connector; listing.* the listing's checkpoint
	BucketLeases        = "sb_leases"        // leases (per-key TTL)
	BucketMeta          = "sb_meta"          // deployment facts (partition count)
	ObjectAttachments   = "sb_attachments"   // attachment bytes and oversized raw payloads

	// The router's own buckets.
	BucketAgents  = "sb_agents"  // presence.<agent>, load.<agent>
	BucketWaiting = "sb_waiting" // conversation id → waiting entry
	BucketThreads = "sb_threads" // c.<customer> → threading state; m.<Message-ID> → conversation

	// The insight projection's bucket: pos (generation and stream position), <gen>.q.<quarter>
	// and <gen>.d.<YYYYMMDD> (report cells, docs/insight.md).
	BucketInsight = "sb_insight"

	// The webhook deliverer's buckets (docs/webhooks.md): state.<subscription> (position,
	// failing) and the delivery log <subscription>.<stream sequence>.
	BucketWebhooks   = "sb_webhooks"
	BucketWebhookLog = "sb_webhook_log"
)

// Filters and prefixes of the subjects above.
const (
	FilterInbound = "sb.in.>"
	FilterStatus  = "sb.status.>"
	FilterRoute   = "sb.route.>"
	// FilterSchedule holds SLA timers on SB_ROUTE: JetStream message schedules that fire a
	// command onto the customer's sb.route.<p> at their time.
	FilterSchedule      = "sb.sched.>"
	FilterConversations = "sb.conv.>"
	FilterCustomers     = "sb.customer.>"
	// FilterPresence holds agents' presence on SB_CONVERSATIONS: sb.presence.<agent>.
	FilterPresence = "sb.presence.>"
	// FilterSystem holds the gateway's own events on SB_CONVERSATIONS: sb.system.webhook.<id>.
	FilterSystem     = "sb.system.>"
	FilterOutbound   = "sb.out.>"
	FilterDeadLetter = "sb.dlq.>"
	FilterRejected   = "sb.rejected.>"
	// LiveConvPrefix starts the subjects on which SB_CONVERSATIONS republishes every stored
	// event (core NATS, after the store): sb.live.conv.<conversation>.<type>. A duplicate the
	// stream dropped is not republished, so what arrives there is exactly what the stream holds.
	LiveConvPrefix = "sb.live.conv."
	// SignalPrefix starts the core NATS subjects of ephemeral signals: sb.signal.<topic>.
	SignalPrefix = "sb.signal."
	// PresenceSubject and HeartbeatSubject are where helpdesks publish (or request) agents'
	// presence: sb.agent.<agent>.presence {"status": ...} and sb.agent.<agent>.heartbeat.
	PresenceSubject  = "sb.agent.*.presence"
	HeartbeatSubject = "sb.agent.*.heartbeat"
)

// Headers set on pipeline messages.
const (
	// HeaderCause names, on every conversation event, the message or command that caused it
	// (the router's fence: a cause is applied once).
	HeaderCause  = "Sb-Cause"
	HeaderKind   = "Sb-Kind"   // message | status | command
	HeaderReason = "Sb-Reason" // why a message is in the dead-letter stream
	HeaderStage  = "Sb-Stage"  // which stage dead-lettered it
	// HeaderRedrive marks a message `switchboard dlq redrive` put back (the dead letter's
	// sequence): a failed reply carrying it is sent again.
	HeaderRedrive = "Sb-Redrive"
	// HeaderInbound carries, on a message in SB_ROUTE, its SB_INBOUND sequence: where the
	// provider's raw payload stays (the conversation event does not repeat it).
	HeaderInbound = "Sb-Inbound-Seq"
	// HeaderLane carries, on a customer's message in SB_INBOUND, the hash of its partition
	// key ([LaneHash]): within a partition, messages of one key keep their order and those
	// of other keys may be handled at the same time (pipeline.lanes).
	HeaderLane = "Sb-Lane"
)

// Envelope kinds on the route stream.
const (
	KindMessage = "message"
	KindStatus  = "status"
	KindCommand = "command"
)

// OutboundRecordKey is the sb_messages key of an outbound message's record (delivery
// status); inbound messages are found through the message index ("ix.<bucket>" keys).
func OutboundRecordKey(id string) string { return "o." + id }

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

// InboundPartitionFilter and StatusPartitionFilter select one partition of SB_INBOUND.
func InboundPartitionFilter(partition int) string { return fmt.Sprintf("sb.in.*.*.%d", partition) }
func StatusPartitionFilter(partition int) string  { return fmt.Sprintf("sb.status.*.*.%d", partition) }

// OutboundChannelFilter selects the replies waiting for one channel's senders.
func OutboundChannelFilter(ch schema.Channel) string { return "sb.out." + string(ch) + ".>" }

// EventSubject is the subject an event is published on: sb.conv.<conversation>.<type>, or
// sb.customer.<customer>.<type> for customer events (no conversation).
func EventSubject(e *schema.Event) string {
	if e.ConversationID == "" {
		return "sb.customer." + e.CustomerID + "." + string(e.Type)
	}
	return ConversationTypeFilter(e.ConversationID, e.Type)
}

// ConversationFilter selects one conversation's events on SB_CONVERSATIONS (id "": every
// conversation's).
func ConversationFilter(id string) string {
	if id == "" {
		id = "*"
	}
	return "sb.conv." + id + ".>"
}

// ConversationTypeFilter selects one type of a conversation's events (id "": every
// conversation's).
func ConversationTypeFilter(id string, typ schema.EventType) string {
	if id == "" {
		id = "*"
	}
	return "sb.conv." + id + "." + string(typ)
}

// LiveConversation splits a republished live subject into conversation id and event type;
// ok is false for anything else.
func LiveConversation(subject string) (conv string, typ string, ok bool) {
	rest, found := strings.CutPrefix(subject, LiveConvPrefix)
	if !found {
		return "", "", false
	}
	conv, typ, ok = strings.Cut(rest, ".")
	return conv, typ, ok && conv != ""
}

// AgentOfPresence is the agent a presence or heartbeat subject is about.
func AgentOfPresence(subject string) string {
	parts := strings.Split(subject, ".")
	if len(parts) != 4 {
		return ""
	}
	return parts[2]
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

// LaneHash is the lane hash of a partition key (FNV-1a, 64 bits: independent of the 32-bit
// hash that picks the partition, so the lanes of one partition are evenly used).
func LaneHash(key string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(key))
	return h.Sum64()
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

// ScheduleSubject is where the timer of one SLA clock event waits on SB_ROUTE.
func ScheduleSubject(conversation string, cycle int, metric string, exchange int, kind string) string {
	return fmt.Sprintf("sb.sched.%s.%d.%s.%d.%s", conversation, cycle, metric, exchange, kind)
}

// SnoozeSubject is the message schedule that wakes a conversation snoozed until at.
func SnoozeSubject(conversation string, at time.Time) string {
	return fmt.Sprintf("sb.sched.%s.snooze.%d", conversation, at.UnixMilli())
}

// PresenceEventSubject is where an agent's presence events go on SB_CONVERSATIONS.
func PresenceEventSubject(agent string) string { return "sb.presence." + Key(agent) }

// WebhookEventSubject is where a webhook subscription's failing and recovered events go.
func WebhookEventSubject(subscription string) string { return "sb.system.webhook." + Key(subscription) }

// FlowTimerSubject is the message schedule of a flow question's timeout at at.
func FlowTimerSubject(conversation string, at time.Time) string {
	return fmt.Sprintf("sb.sched.%s.flow.%d", conversation, at.UnixMilli())
}
