package telegram

import (
	"strings"

	"github.com/switchboardhq/switchboard/schema"
)

// messageOf normalizes a new message: text or caption, media, location, contact, reply-to.
func messageOf(b *bot, tm *tgMessage) (*schema.Message, string) {
	m, why := newMessage(b, tm.Chat, tm.From, tm.Date)
	if m == nil {
		return nil, why
	}
	content(m, tm)
	return m, ""
}

// editOf normalizes an edited message: Kind edit, the new text, and the message it edits.
func editOf(b *bot, tm *tgMessage) (*schema.Message, string) {
	m, why := newMessage(b, tm.Chat, tm.From, tm.EditDate)
	if m == nil {
		return nil, why
	}
	content(m, tm)
	m.Kind = schema.KindEdit
	if m.Thread == nil {
		m.Thread = &schema.Thread{}
	}
	m.Thread.EditOfExternalID = ref(tm.Chat.ID, tm.MessageID)
	return m, ""
}

func content(m *schema.Message, tm *tgMessage) {
	m.Metadata = setMeta(m.Metadata, MessageRefMetadata, ref(tm.Chat.ID, tm.MessageID))
	m.Text = tm.Text
	if m.Text == "" {
		m.Text = tm.Caption
	}
	if tm.ReplyToMessage != nil {
		m.Thread = &schema.Thread{ReplyToExternalID: ref(tm.Chat.ID, tm.ReplyToMessage.MessageID)}
	}
	media(m, tm)
	switch {
	case tm.Venue != nil:
		v := tm.Venue
		m.Location = &schema.Location{Latitude: v.Location.Latitude, Longitude: v.Location.Longitude, Name: v.Title, Address: v.Address}
	case tm.Location != nil:
		m.Location = &schema.Location{Latitude: tm.Location.Latitude, Longitude: tm.Location.Longitude}
	}
	if c := tm.Contact; c != nil {
		m.Text = strings.TrimSpace("Contact: " + strings.TrimSpace(c.FirstName+" "+c.LastName) + " " + c.PhoneNumber)
	}
	if m.Text == "" && len(m.Attachments) == 0 && m.Location == nil {
		m.Problems = append(m.Problems, "the message has no text, media or location Switchboard understands")
	}
}

// media adds the message's file, if any: the largest photo size, or the document, video,
// audio, voice note, animation or sticker.
func media(m *schema.Message, tm *tgMessage) {
	if n := len(tm.Photo); n > 0 {
		best := tm.Photo[0]
		for _, p := range tm.Photo[1:] {
			if p.Width*p.Height > best.Width*best.Height {
				best = p
			}
		}
		m.Attachments = append(m.Attachments, schema.Attachment{URL: FileScheme + best.FileID, ContentType: "image/jpeg", Size: best.FileSize})
		return
	}
	for _, f := range []struct {
		file  *tgFile
		ctype string
	}{{tm.Document, ""}, {tm.Video, "video/mp4"}, {tm.Audio, "audio/mpeg"}, {tm.Voice, "audio/ogg"},
		{tm.Animation, "video/mp4"}, {tm.VideoNote, "video/mp4"}, {tm.Sticker, "image/webp"}} {
		if f.file == nil || f.file.FileID == "" {
			continue
		}
		ctype := f.file.MimeType
		if ctype == "" {
			ctype = f.ctype
		}
		m.Attachments = append(m.Attachments, schema.Attachment{URL: FileScheme + f.file.FileID, Name: f.file.FileName,
			ContentType: ctype, Size: f.file.FileSize})
		return
	}
}

// callbackOf normalizes an inline button press: Kind action with the button's data, and the
// button's text when the message it was on is included.
func callbackOf(b *bot, cq *tgCallback) (*schema.Message, string) {
	chat := tgChat{Type: "private"}
	if cq.Message != nil {
		chat = cq.Message.Chat
	}
	m, why := newMessage(b, chat, &cq.From, 0)
	if m == nil {
		return nil, why
	}
	title := buttonText(cq.Message, cq.Data)
	m.Kind, m.Text = schema.KindAction, title
	m.Action = &schema.Action{Type: "callback_query", Title: title, Payload: cq.Data}
	if cq.Message != nil {
		m.Thread = &schema.Thread{ReplyToExternalID: ref(cq.Message.Chat.ID, cq.Message.MessageID)}
	}
	return m, ""
}

func buttonText(tm *tgMessage, data string) string {
	if tm == nil || tm.ReplyMarkup == nil {
		return ""
	}
	for _, row := range tm.ReplyMarkup.InlineKeyboard {
		for _, btn := range row {
			if btn.CallbackData == data {
				return btn.Text
			}
		}
	}
	return ""
}

// reactionOf normalizes a reaction change on a message: the new emoji, or the removal of
// the old one.
func reactionOf(b *bot, r *tgReaction) (*schema.Message, string) {
	if r.User == nil {
		return nil, "anonymous reaction"
	}
	m, why := newMessage(b, r.Chat, r.User, r.Date)
	if m == nil {
		return nil, why
	}
	m.Kind = schema.KindReaction
	rx := &schema.Reaction{TargetExternalID: ref(r.Chat.ID, r.MessageID)}
	switch {
	case len(r.NewReaction) > 0:
		rx.Emoji = reactionEmoji(r.NewReaction[0])
	case len(r.OldReaction) > 0:
		rx.Emoji, rx.Removed = reactionEmoji(r.OldReaction[0]), true
	}
	m.Reaction = rx
	return m, ""
}

func reactionEmoji(t tgReactionType) string {
	if t.Emoji != "" {
		return t.Emoji
	}
	return t.Type
}
