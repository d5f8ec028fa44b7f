package schema

import (
	"encoding/json"
	"time"
)

// MessageSchema is the value of Message.Schema for this version of the contract.
const MessageSchema = "switchboard.message.v1"

// Channel is the medium a message travels on.
type Channel string

// The channels Switchboard knows. A connector may add its own; routing treats the value as opaque.
const (
	ChannelAPI       Channel = "api"
	ChannelEmail     Channel = "email"
	ChannelSMS       Channel = "sms"
	ChannelWhatsApp  Channel = "whatsapp"
	ChannelWebchat   Channel = "webchat"
	ChannelMessenger Channel = "messenger"
	ChannelInstagram Channel = "instagram"
	ChannelTelegram  Channel = "telegram"
)

// Direction says whether a message came from a customer or goes to one.
type Direction string

// Directions.
const (
	Inbound  Direction = "inbound"
	Outbound Direction = "outbound"
)

// Kind says what a message is, so that automated mail or a reaction is not routed as a
// customer's words.
type Kind string

// Kinds of message.
const (
	KindMessage   Kind = "message"    // a person's words
	KindAutoReply Kind = "auto_reply" // out-of-office and other automatic answers
	KindBounce    Kind = "bounce"     // delivery status notification
	KindReaction  Kind = "reaction"   // an emoji reaction to an earlier message
	KindAction    Kind = "action"     // a button, quick reply, postback or callback query
	KindEdit      Kind = "edit"       // an edit of an earlier message
	KindNote      Kind = "note"       // an agent's internal note, never sent to the customer
)

// Message is the canonical inbound or outbound message.
//
// Connectors fill the channel-specific parts (From, To, Text, ExternalID, Raw, ...); the
// pipeline assigns ID, CustomerID and ConversationID.
type Message struct {
	Schema    string    `json:"schema"`
	ID        string    `json:"id"`
	Channel   Channel   `json:"channel"`
	Account   string    `json:"account"`
	Direction Direction `json:"direction"`
	Kind      Kind      `json:"kind"`

	From Address   `json:"from"`
	To   []Address `json:"to,omitempty"`

	CustomerID     string `json:"customer_id,omitempty"`
	ConversationID string `json:"conversation_id,omitempty"`
	AgentID        string `json:"agent_id,omitempty"`

	Subject      string       `json:"subject,omitempty"`
	Text         string       `json:"text,omitempty"`
	StrippedText string       `json:"stripped_text,omitempty"`
	HTML         string       `json:"html,omitempty"`
	Language     string       `json:"language,omitempty"`
	Attachments  []Attachment `json:"attachments,omitempty"`
	Location     *Location    `json:"location,omitempty"`
	Action       *Action      `json:"action,omitempty"`
	Reaction     *Reaction    `json:"reaction,omitempty"`
	Template     *Template    `json:"template,omitempty"`
	// Choices are the answers an outbound message offers, for channels that render them
	// natively (buttons, quick replies, lists, keyboards); Survey marks a survey question.
	Choices *Choices      `json:"choices,omitempty"`
	Survey  *SurveyPrompt `json:"survey,omitempty"`

	// ExternalID is the provider's natural id for this message (Twilio MessageSid, Meta mid or
	// wamid, Telegram update_id, IMAP UIDVALIDITY:UID, an API client's external_id). With the
	// channel and account it is the dedupe key: the same ExternalID never becomes two messages.
	ExternalID string   `json:"external_id"`
	Thread     *Thread  `json:"thread,omitempty"`
	Profile    *Profile `json:"profile,omitempty"`
	// SenderAuth is how far the sender address is authenticated (email: SPF, DKIM, DMARC).
	SenderAuth *SenderAuth `json:"sender_auth,omitempty"`

	// Status is the delivery status of an outbound message.
	Status DeliveryStatus `json:"status,omitempty"`
	// LastInboundAt, on an outbound message, is when the customer last wrote on the channel
	// the reply goes to: channels with a customer-service window (WhatsApp, Messenger: 24h)
	// check it before sending free-form text.
	LastInboundAt *time.Time `json:"last_inbound_at,omitempty"`

	// Flags mark facts about a message, e.g. FlagAutomated.
	Flags    []string          `json:"flags,omitempty"`
	Problems []string          `json:"problems,omitempty"`
	Metadata map[string]string `json:"metadata,omitempty"`

	SentAt     *time.Time `json:"sent_at,omitempty"`
	ReceivedAt time.Time  `json:"received_at"`

	// Raw is the provider's payload as received (a JSON document, or a form as a JSON object).
	// Payloads too large for the stream (a whole email) are kept in the object store: RawRef.
	Raw    json.RawMessage `json:"raw,omitempty"`
	RawRef *BlobRef        `json:"raw_ref,omitempty"`
}

// FlagAutomated marks an outbound message no person wrote (a bot step, a survey, an
// auto-reply sent by an integration): it never counts as an agent's response
// (docs/insight.md).
const FlagAutomated = "automated"

// Automated reports whether m is an outbound message no person wrote: flagged
// FlagAutomated, or of a kind other than message and note.
func (m *Message) Automated() bool {
	if m.Kind != KindMessage && m.Kind != KindNote && m.Kind != "" {
		return true
	}
	for _, f := range m.Flags {
		if f == FlagAutomated {
			return true
		}
	}
	return false
}

// Address is one end of a message on a channel.
//
// Kind names the identity space: "email", "phone" (E.164, shared by SMS and WhatsApp),
// "visitor" (a live-chat visitor), "psid" and "igsid" (page-scoped Meta ids, Value is
// "<page>:<id>"), "telegram" (user id, Value is "<bot>:<id>"), "external" (an API client's id).
type Address struct {
	Kind  string `json:"kind"`
	Value string `json:"value"`
	Name  string `json:"name,omitempty"`
}

// Key is the address as one token of the identity graph: "kind:value".
func (a Address) Key() string { return a.Kind + ":" + a.Value }

// Attachment is a file that travels with a message. The bytes live in the object store
// (Bucket/Key); a URL is kept when the provider's copy has not been fetched (yet).
type Attachment struct {
	// Name is safe to save a file under: no path, no control or reserved characters, at most
	// 200 bytes. OriginalName is the name as the sender gave it, when that differs.
	Name         string `json:"name,omitempty"`
	OriginalName string `json:"original_name,omitempty"`
	ContentType  string `json:"content_type,omitempty"`
	Size         int64  `json:"size,omitempty"`
	Bucket       string `json:"bucket,omitempty"`
	Key          string `json:"key,omitempty"`
	Digest       string `json:"digest,omitempty"`
	URL          string `json:"url,omitempty"`
	Inline       bool   `json:"inline,omitempty"`
	ContentID    string `json:"content_id,omitempty"`
	Problem      string `json:"problem,omitempty"`
}

// BlobRef points at an object in the object store.
type BlobRef struct {
	Bucket string `json:"bucket"`
	Key    string `json:"key"`
	Size   int64  `json:"size,omitempty"`
	Digest string `json:"digest,omitempty"`
}

// Location is a shared geographic location.
type Location struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
	Name      string  `json:"name,omitempty"`
	Address   string  `json:"address,omitempty"`
}

// Action is a button press, quick reply, postback or callback query.
type Action struct {
	Type    string `json:"type"`
	Title   string `json:"title,omitempty"`
	Payload string `json:"payload,omitempty"`
}

// Reaction is an emoji reaction to an earlier message.
type Reaction struct {
	Emoji            string `json:"emoji,omitempty"`
	TargetExternalID string `json:"target_external_id"`
	Removed          bool   `json:"removed,omitempty"`
}

// Template is an approved message template (WhatsApp ContentSid or Cloud API template name).
type Template struct {
	Name      string            `json:"name"`
	Language  string            `json:"language,omitempty"`
	Variables map[string]string `json:"variables,omitempty"`
}

// Thread carries what a channel says about which conversation a message belongs to.
type Thread struct {
	MessageID         string   `json:"message_id,omitempty"`
	InReplyTo         []string `json:"in_reply_to,omitempty"`
	References        []string `json:"references,omitempty"`
	ThreadIndex       string   `json:"thread_index,omitempty"`
	ReplyToExternalID string   `json:"reply_to_external_id,omitempty"`
	ReplyToMessageID  string   `json:"reply_to_message_id,omitempty"`
	// EditOfExternalID, on an edit (Kind edit), is the provider's id of the message whose text
	// it replaces (a Messenger mid; for Telegram "<chat>:<message_id>").
	EditOfExternalID string `json:"edit_of_external_id,omitempty"`
}

// SenderAuth is what the channel could prove about the sender address. Verdict is pass
// (the address is authenticated: it may link and merge customers), fail (it is forged or
// broken: the message is kept apart from the address's customer) or none (nothing is known).
type SenderAuth struct {
	Verdict    string `json:"verdict"`
	SPF        string `json:"spf,omitempty"`
	DKIM       string `json:"dkim,omitempty"`
	DKIMDomain string `json:"dkim_domain,omitempty"`
	DMARC      string `json:"dmarc,omitempty"`
	// Source is where the results come from: "authentication-results:<authserv-id>" (the
	// receiving server's header, trusted by configuration) or "dkim" (checked here).
	Source string `json:"source,omitempty"`
}

// Sender authentication verdicts.
const (
	AuthPass = "pass"
	AuthFail = "fail"
	AuthNone = "none"
)

// Profile is what the channel tells about the sender. Verified is set only when the channel
// proved it (a site-signed identity on live chat, an API account vouching for its users).
type Profile struct {
	Name       string `json:"name,omitempty"`
	ExternalID string `json:"external_id,omitempty"`
	Email      string `json:"email,omitempty"`
	Phone      string `json:"phone,omitempty"`
	Verified   bool   `json:"verified,omitempty"`
}
