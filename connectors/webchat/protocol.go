package webchat

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/switchboardhq/switchboard/schema"
)

// Frame types a browser sends (docs/channels/webchat.md, "Wire protocol").
const (
	frameHello   = "hello"
	frameMessage = "message"
	frameTyping  = "typing"
	frameRead    = "read"
)

// clientFrame is any frame a browser sends; which fields apply depends on Type.
type clientFrame struct {
	Type string `json:"type"`
	// hello
	Token        string    `json:"token,omitempty"`
	Identity     *identity `json:"identity,omitempty"`
	Conversation string    `json:"conversation_id,omitempty"`
	After        uint64    `json:"after,omitempty"`
	Seen         uint64    `json:"seen,omitempty"`
	Name         string    `json:"name,omitempty"`
	Page         string    `json:"page,omitempty"`
	// message
	ID          string   `json:"id,omitempty"`
	Text        string   `json:"text,omitempty"`
	Attachments []string `json:"attachments,omitempty"`
	// Payload is the choice a visitor clicked (a survey's star, a flow's option).
	Payload string `json:"payload,omitempty"`
	// typing
	State string `json:"state,omitempty"`
	// read
	MessageID string `json:"message_id,omitempty"`
}

// identity is a signed-in user the site vouches for.
type identity struct {
	UserID    string `json:"user_id"`
	UserHash  string `json:"user_hash"`
	Email     string `json:"email,omitempty"`
	EmailHash string `json:"email_hash,omitempty"`
	Name      string `json:"name,omitempty"`
}

// protoError is a frame the server refuses; it answers with an error frame.
type protoError struct {
	code, msg string
}

func (e *protoError) Error() string { return e.code + ": " + e.msg }

func badFrame(format string, args ...any) *protoError {
	return &protoError{code: "bad_frame", msg: fmt.Sprintf(format, args...)}
}

const maxAttachmentsPerMessage = 10

// decodeFrame parses and checks one client frame strictly: unknown fields, wrong types,
// trailing data, bad ids and over-long text are refused.
func decodeFrame(data []byte, maxText int) (*clientFrame, *protoError) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var f clientFrame
	if err := dec.Decode(&f); err != nil {
		return nil, badFrame("not a valid frame: %v", err)
	}
	if dec.More() {
		return nil, badFrame("data after the frame")
	}
	switch f.Type {
	case frameHello:
		return &f, checkHello(&f)
	case frameMessage:
		return &f, checkMessage(&f, maxText)
	case frameTyping:
		if f.State != "start" && f.State != "stop" {
			return nil, badFrame("typing state must be start or stop")
		}
	case frameRead:
		if !schema.ValidToken(f.MessageID) {
			return nil, badFrame("read needs a message_id")
		}
	default:
		return nil, badFrame("unknown frame type %q", f.Type)
	}
	return &f, nil
}

func checkHello(f *clientFrame) *protoError {
	switch {
	case len(f.Token) > 512:
		return badFrame("token too long")
	case f.Conversation != "" && !schema.ValidToken(f.Conversation):
		return badFrame("bad conversation_id")
	case len(f.Name) > 200 || len(f.Page) > 2048:
		return badFrame("name or page too long")
	case f.Identity != nil && (f.Identity.UserID == "" || len(f.Identity.UserID) > 256 || len(f.Identity.Email) > 320 || len(f.Identity.Name) > 200):
		return badFrame("identity needs a user_id (at most 256 bytes)")
	}
	return nil
}

func checkMessage(f *clientFrame, maxText int) *protoError {
	if !validClientID(f.ID) {
		return badFrame("message id must be 1-64 letters, digits, - or _")
	}
	if strings.TrimSpace(f.Text) == "" && len(f.Attachments) == 0 {
		return &protoError{code: "empty", msg: "a message needs text or attachments"}
	}
	if utf8.RuneCountInString(f.Text) > maxText {
		return &protoError{code: "too_long", msg: fmt.Sprintf("text is longer than %d characters", maxText)}
	}
	if len(f.Attachments) > maxAttachmentsPerMessage {
		return badFrame("at most %d attachments", maxAttachmentsPerMessage)
	}
	if len(f.Payload) > maxPayload || !utf8.ValidString(f.Payload) {
		return badFrame("payload longer than %d bytes", maxPayload)
	}
	return nil
}

// maxPayload bounds a clicked choice's payload.
const maxPayload = 256

func validClientID(id string) bool { return len(id) <= 64 && schema.ValidToken(id) }

// Server frames.

type welcomeFrame struct {
	Type         string     `json:"type"` // welcome
	Visitor      string     `json:"visitor_id"`
	Token        string     `json:"token"`
	Conversation string     `json:"conversation_id,omitempty"`
	Verified     bool       `json:"verified,omitempty"`
	Limits       wireLimits `json:"limits"`
	// Title and Greeting are the site's configured ones; a tag's data-title and
	// data-greeting win over them.
	Title    string `json:"title,omitempty"`
	Greeting string `json:"greeting,omitempty"`
}

type wireLimits struct {
	MaxText     int      `json:"max_text"`
	MaxFrame    int      `json:"max_frame"`
	UploadBytes int64    `json:"upload_max_bytes"`
	UploadTypes []string `json:"upload_types,omitempty"`
}

type ackFrame struct {
	Type      string `json:"type"` // ack
	ID        string `json:"id"`
	MessageID string `json:"message_id"`
	Duplicate bool   `json:"duplicate,omitempty"`
}

type errorFrame struct {
	Type       string `json:"type"` // error
	ID         string `json:"id,omitempty"`
	Code       string `json:"code"`
	Message    string `json:"message"`
	RetryAfter int64  `json:"retry_after_ms,omitempty"`
}

type eventFrame struct {
	Type         string       `json:"type"` // event
	Conversation string       `json:"conversation_id"`
	Seq          uint64       `json:"seq"`
	Event        string       `json:"event"`
	At           time.Time    `json:"at"`
	Message      *wireMessage `json:"message,omitempty"`
	MessageID    string       `json:"message_id,omitempty"` // delivery
	Status       string       `json:"status,omitempty"`     // delivery
}

type wireMessage struct {
	ID        string `json:"id"`
	ClientID  string `json:"client_id,omitempty"`
	Direction string `json:"direction"`
	Author    string `json:"author"` // visitor | agent
	// Automated marks an agent-side message no person wrote (a flow's, a survey's).
	Automated   bool             `json:"automated,omitempty"`
	Text        string           `json:"text,omitempty"`
	Attachments []wireAttachment `json:"attachments,omitempty"`
	// Choices are buttons to offer (a survey's stars or 0–10 scale): a click sends a message
	// with the choice's payload.
	Choices *wireChoices `json:"choices,omitempty"`
}

type wireChoices struct {
	Style   string       `json:"style,omitempty"` // stars, scale, buttons
	Options []wireChoice `json:"options"`
}

type wireChoice struct {
	Payload string `json:"payload"`
	Title   string `json:"title"`
	Label   string `json:"label,omitempty"`
}

type wireAttachment struct {
	Name        string `json:"name,omitempty"`
	ContentType string `json:"content_type,omitempty"`
	Size        int64  `json:"size,omitempty"`
	URL         string `json:"url,omitempty"`
}

type typingFrame struct {
	Type  string `json:"type"` // typing
	Actor string `json:"actor"`
	State string `json:"state"`
}

type readFrame struct {
	Type      string `json:"type"` // read
	MessageID string `json:"message_id"`
}

type conversationFrame struct {
	Type         string `json:"type"` // conversation
	Conversation string `json:"conversation_id"`
}

func encode(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("webchat: encode frame: " + err.Error())
	}
	return b
}
