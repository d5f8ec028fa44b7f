package telegram

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/connectors"
	"github.com/switchboardhq/switchboard/schema"
)

// FileScheme prefixes a Telegram file id in Attachment.URL ("telegram-file:<file_id>"): the
// bytes are fetched with getFile outside the webhook path.
const FileScheme = "telegram-file:"

// MessageRefMetadata is the Message.Metadata key holding the Telegram message's own
// reference, "<chat id>:<message_id>": the form replies, edits and reactions refer to it by,
// and the ExternalID of messages Switchboard sends.
const MessageRefMetadata = "telegram_message"

// normalized is one update, normalized: a message to hand off, or why it was ignored, and
// the callback query to answer in the webhook response.
type normalized struct {
	Message  *schema.Message `json:"message,omitempty"`
	Ignored  string          `json:"ignored,omitempty"`
	Callback string          `json:"callback_query_id,omitempty"`
}

// normalize turns a webhook body into a message. Updates that are not a customer writing to
// the bot in a private chat are ignored (answered 200, so Telegram does not retry them).
func normalize(b *bot, body []byte) (*normalized, error) {
	var u update
	if err := json.Unmarshal(body, &u); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, connectors.BadField(te.Field, "expected %s, got %s", te.Type, te.Value)
		}
		return nil, connectors.BadRequest("invalid_json", "body is not valid JSON: %v", err)
	}
	if u.UpdateID == nil {
		return nil, connectors.BadField("update_id", "is required")
	}
	n := &normalized{}
	var m *schema.Message
	switch {
	case u.Message != nil:
		m, n.Ignored = messageOf(b, u.Message)
	case u.EditedMessage != nil:
		m, n.Ignored = editOf(b, u.EditedMessage)
	case u.CallbackQuery != nil:
		m, n.Ignored = callbackOf(b, u.CallbackQuery)
		n.Callback = u.CallbackQuery.ID
	case u.MessageReaction != nil:
		m, n.Ignored = reactionOf(b, u.MessageReaction)
	case u.ChannelPost != nil || u.EditedChannelPost != nil:
		n.Ignored = "channel posts are not customer messages"
	default:
		n.Ignored = "update type not handled"
	}
	if m != nil {
		m.ExternalID = b.id + ":" + strconv.FormatInt(*u.UpdateID, 10)
		m.Raw = json.RawMessage(body)
		n.Message = m
	}
	return n, nil
}

// newMessage starts a message from a user in a private chat, or says why it is ignored.
func newMessage(b *bot, chat tgChat, from *tgUser, date int64) (*schema.Message, string) {
	switch {
	case chat.Type != "private":
		return nil, fmt.Sprintf("%s chats are not served (only private chats with the bot)", chat.Type)
	case from == nil:
		return nil, "no sender"
	case from.IsBot:
		return nil, "sent by a bot"
	}
	m := &schema.Message{Channel: schema.ChannelTelegram, Account: b.account, Direction: schema.Inbound,
		Kind: schema.KindMessage, From: address(b, from), Language: from.LanguageCode, SentAt: unixTime(date)}
	if from.Username != "" {
		m.Metadata = map[string]string{"telegram_username": from.Username}
	}
	return m, ""
}

// address is the user as seen by this bot: "<bot id>:<user id>".
func address(b *bot, u *tgUser) schema.Address {
	name := strings.TrimSpace(u.FirstName + " " + u.LastName)
	if name == "" {
		name = u.Username
	}
	return schema.Address{Kind: "telegram", Value: b.id + ":" + strconv.FormatInt(u.ID, 10), Name: name}
}

// ref is a message's reference, "<chat id>:<message_id>".
func ref(chat int64, msg int64) string {
	return strconv.FormatInt(chat, 10) + ":" + strconv.FormatInt(msg, 10)
}

func unixTime(s int64) *time.Time {
	if s <= 0 {
		return nil
	}
	t := time.Unix(s, 0).UTC()
	return &t
}

func setMeta(md map[string]string, k, v string) map[string]string {
	if md == nil {
		md = map[string]string{}
	}
	md[k] = v
	return md
}
