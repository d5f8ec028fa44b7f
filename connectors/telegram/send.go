package telegram

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/switchboardhq/switchboard/connectors"
	"github.com/switchboardhq/switchboard/pipeline/kernel"
	"github.com/switchboardhq/switchboard/schema"
)

// sender sends replies for one bot.
type sender struct {
	c   *Connector
	bot *bot
}

var _ connectors.Sender = (*sender)(nil)

// Limits: sendMessage text is at most 4096 characters; bots upload files up to 50MB.
const (
	textLimit = 4096
	maxUpload = 50 << 20
)

// Send implements [connectors.Sender]: the text with sendMessage (in 4096-character pieces),
// then each attachment with sendPhoto or sendDocument. The result's ExternalID is the first
// message's reference, "<chat id>:<message_id>".
func (s *sender) Send(ctx context.Context, m *schema.Message) (connectors.SendResult, error) {
	chat, err := s.chatID(m)
	if err != nil {
		return connectors.SendResult{}, err
	}
	if m.Template != nil {
		return connectors.SendResult{}, connectors.Permanent("template_unsupported", "telegram has no message templates; send text")
	}
	var parts []connectors.Part
	if kb := inlineKeyboard(m.Choices); kb != nil && len(m.Attachments) == 0 && len([]rune(m.Choices.Prompt)) <= textLimit {
		parts = append(parts, s.keyboardPart(chat, m.Choices.Prompt, kb))
	}
	for _, chunk := range connectors.SplitText(m.Text, textLimit) {
		if len(parts) > 0 {
			break // the keyboard message carries the question
		}
		parts = append(parts, s.textPart(chat, chunk))
	}
	for i := range m.Attachments {
		a := &m.Attachments[i]
		if a.Key == "" && !strings.HasPrefix(a.URL, "https://") && !strings.HasPrefix(a.URL, "http://") {
			return connectors.SendResult{}, connectors.Permanent("bad_attachment", "attachment %d needs an http(s) url or a stored key", i)
		}
		parts = append(parts, s.filePart(chat, a))
	}
	if len(parts) == 0 {
		return connectors.SendResult{}, connectors.Permanent("empty_message", "telegram replies need text or attachments (HTML is not sent)")
	}
	ids, err := connectors.SendParts(ctx, s.c.host.State, m.ID, parts)
	if err != nil {
		return connectors.SendResult{}, err
	}
	return connectors.SendResult{ExternalID: ids[0], OtherExternalIDs: ids[1:], Status: schema.StatusSent}, nil
}

// chatID is the customer's chat with this bot, from "<bot id>:<user id>".
func (s *sender) chatID(m *schema.Message) (string, error) {
	if len(m.To) == 0 || m.To[0].Kind != "telegram" {
		return "", connectors.Permanent("bad_recipient", "telegram replies need a telegram address")
	}
	botID, chat, ok := strings.Cut(m.To[0].Value, ":")
	if !ok || botID != s.bot.id {
		return "", connectors.Permanent("bad_recipient", "telegram user %q is not a user of bot %s", m.To[0].Value, s.bot.id)
	}
	if _, err := strconv.ParseInt(chat, 10, 64); err != nil {
		return "", connectors.Permanent("bad_recipient", "telegram user id %q is not a number", chat)
	}
	return chat, nil
}

// sent is the part of a Bot API Message the sender needs.
type sent struct {
	MessageID int64 `json:"message_id"`
	Chat      struct {
		ID int64 `json:"id"`
	} `json:"chat"`
}

func (r sent) ref() string { return ref(r.Chat.ID, r.MessageID) }

func (s *sender) textPart(chat, text string) connectors.Part {
	return func(ctx context.Context) (string, error) {
		var r sent
		if err := s.c.callJSON(ctx, s.bot, "sendMessage", map[string]string{"chat_id": chat, "text": text}, &r); err != nil {
			return "", err
		}
		return r.ref(), nil
	}
}

// callbackDataLimit is the Bot API's limit on a button's callback_data (1–64 bytes).
const callbackDataLimit = 64

// inlineKeyboard lays choices out as an inline keyboard (core.telegram.org/bots/api#inlinekeyboardmarkup):
// up to six buttons a row, one a row when their titles are long; nil when a payload does not
// fit callback_data.
func inlineKeyboard(ch *schema.Choices) [][]map[string]string {
	if ch == nil || len(ch.Options) == 0 || ch.Prompt == "" {
		return nil
	}
	perRow := 6
	for _, o := range ch.Options {
		if len(o.Payload) == 0 || len(o.Payload) > callbackDataLimit {
			return nil
		}
		if len([]rune(o.Title)) > 3 {
			perRow = 1
		}
	}
	var rows [][]map[string]string
	for i, o := range ch.Options {
		if i%perRow == 0 {
			rows = append(rows, nil)
		}
		title := o.Title
		if perRow == 1 && o.Description != "" {
			title += "  " + o.Description
		}
		rows[len(rows)-1] = append(rows[len(rows)-1], map[string]string{"text": title, "callback_data": o.Payload})
	}
	return rows
}

// keyboardPart sends text with an inline keyboard.
func (s *sender) keyboardPart(chat, text string, kb [][]map[string]string) connectors.Part {
	return func(ctx context.Context) (string, error) {
		var r sent
		body := map[string]any{"chat_id": chat, "text": text, "reply_markup": map[string]any{"inline_keyboard": kb}}
		if err := s.c.callJSON(ctx, s.bot, "sendMessage", body, &r); err != nil {
			return "", err
		}
		return r.ref(), nil
	}
}

// filePart sends an image with sendPhoto and anything else with sendDocument, by URL (Telegram
// fetches it) or uploading the stored bytes.
func (s *sender) filePart(chat string, a *schema.Attachment) connectors.Part {
	return func(ctx context.Context) (string, error) {
		method, field := "sendDocument", "document"
		if isPhoto(a.ContentType) {
			method, field = "sendPhoto", "photo"
		}
		var r sent
		if a.Key == "" {
			err := s.c.callJSON(ctx, s.bot, method, map[string]string{"chat_id": chat, field: a.URL}, &r)
			return r.ref(), err
		}
		return s.upload(ctx, chat, a, &r)
	}
}

func (s *sender) upload(ctx context.Context, chat string, a *schema.Attachment, r *sent) (string, error) {
	rc, ctype, err := s.c.host.Blobs.Open(ctx, a.Key)
	if errors.Is(err, kernel.ErrNotFound) {
		return "", connectors.Permanent("attachment_missing", "attachment %s is not in the object store", a.Key)
	}
	if err != nil {
		return "", connectors.Temporary(err, 0)
	}
	defer rc.Close()
	if a.ContentType != "" {
		ctype = a.ContentType
	}
	method, field := "sendDocument", "document"
	if isPhoto(ctype) {
		method, field = "sendPhoto", "photo"
	}
	name := a.Name
	if name == "" {
		name = "attachment"
	}
	body, form, err := connectors.Multipart([][2]string{{"chat_id", chat}},
		connectors.FilePart{Field: field, Name: name, ContentType: ctype, Body: rc, Max: maxUpload})
	if err != nil {
		return "", connectors.Permanent("bad_attachment", "%v", err)
	}
	if err := s.c.call(ctx, s.bot, method, form, bytesReader(body), r); err != nil {
		return "", err
	}
	return r.ref(), nil
}

func isPhoto(ctype string) bool {
	return ctype == "image/jpeg" || ctype == "image/png" || ctype == "image/webp"
}
