package meta

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/connectors"
	"github.com/switchboardhq/switchboard/schema"
)

// MediaScheme prefixes a WhatsApp media id in Attachment.URL ("whatsapp-media:<id>"): the
// bytes are fetched from the Graph API with the number's token, outside the webhook path.
const MediaScheme = "whatsapp-media:"

// whatsappEntry normalizes one WhatsApp Business account entry: its changes' messages and
// statuses.
func (c *Connector) whatsappEntry(b *batch, app string, i int, e *entry) error {
	for j, ch := range e.Changes {
		path := fmt.Sprintf("entry[%d].changes[%d]", i, j)
		if ch.Field != "messages" {
			b.ignore("%s: field %q is not messages", path, ch.Field)
			continue
		}
		var v waValue
		if err := decodeAt(ch.Value, &v, path+".value"); err != nil {
			return err
		}
		a, err := c.lookup(app, schema.ChannelWhatsApp, string(v.Metadata.PhoneNumberID), "WhatsApp phone number id")
		if err != nil {
			return err
		}
		if err := whatsappValue(b, a, &v, path+".value"); err != nil {
			return err
		}
	}
	return nil
}

func whatsappValue(b *batch, a *account, v *waValue, path string) error {
	names := map[string]string{}
	for _, ct := range v.Contacts {
		names[ct.WaID] = ct.Profile.Name
	}
	for k, raw := range v.Messages {
		field := fmt.Sprintf("%s.messages[%d]", path, k)
		var wm waMessage
		if err := decodeAt(raw, &wm, field); err != nil {
			return err
		}
		m, err := waMessageOf(a, &wm, names, raw, field)
		if err != nil {
			return err
		}
		if m == nil {
			b.ignore("%s: %s is not a customer message", field, wm.Type)
			continue
		}
		b.message(m)
	}
	for k, raw := range v.Statuses {
		field := fmt.Sprintf("%s.statuses[%d]", path, k)
		var st waStatus
		if err := decodeAt(raw, &st, field); err != nil {
			return err
		}
		if err := waStatusOf(b, a, &st, raw, field); err != nil {
			return err
		}
	}
	for _, e := range v.Errors {
		b.ignore("%s: webhook error %d %s", path, e.Code, e.Title)
	}
	return nil
}

// waMessageOf normalizes one WhatsApp message; nil for events that are not a customer's
// words (request_welcome).
func waMessageOf(a *account, wm *waMessage, names map[string]string, raw json.RawMessage, field string) (*schema.Message, error) {
	if wm.ID == "" {
		return nil, connectors.BadField(field+".id", "is required")
	}
	if wm.From == "" || strings.Trim(wm.From, "0123456789") != "" {
		return nil, connectors.BadField(field+".from", "must be the customer's WhatsApp number (digits)")
	}
	if wm.Type == "request_welcome" {
		return nil, nil
	}
	m := &schema.Message{Channel: schema.ChannelWhatsApp, Account: a.name, Direction: schema.Inbound, Kind: schema.KindMessage,
		ExternalID: wm.ID, Raw: raw,
		From: schema.Address{Kind: "phone", Value: "+" + wm.From, Name: names[wm.From]}, SentAt: unixTime(wm.Timestamp)}
	waContent(m, wm)
	if ctx := wm.Context; ctx != nil {
		if ctx.ID != "" && m.Kind != schema.KindReaction {
			m.Thread = &schema.Thread{ReplyToExternalID: ctx.ID}
		}
		if ctx.Forwarded || ctx.FrequentlyForwarded {
			m.Flags = append(m.Flags, "forwarded")
		}
	}
	if r := wm.Referral; r != nil {
		m.Metadata = putMeta(m.Metadata, "referral_source_url", r.SourceURL, "referral_source_type", r.SourceType,
			"referral_source_id", r.SourceID, "referral_headline", r.Headline)
	}
	for _, e := range wm.Errors {
		m.Problems = append(m.Problems, fmt.Sprintf("WhatsApp error %d: %s", e.Code, errorText(&e)))
	}
	return m, nil
}

// waContent fills the type-specific content of a message.
func waContent(m *schema.Message, wm *waMessage) {
	switch wm.Type {
	case "text":
		if wm.Text != nil {
			m.Text = wm.Text.Body
		}
	case "image", "video", "audio", "document", "sticker":
		waMediaOf(m, wm)
	case "location":
		if l := wm.Location; l != nil {
			m.Location = &schema.Location{Latitude: l.Latitude, Longitude: l.Longitude, Name: l.Name, Address: l.Address}
		}
	case "contacts":
		m.Text = sharedContacts(wm.Contacts)
	case "button":
		if bt := wm.Button; bt != nil {
			m.Kind, m.Text = schema.KindAction, bt.Text
			m.Action = &schema.Action{Type: "button", Title: bt.Text, Payload: bt.Payload}
		}
	case "interactive":
		waInteractiveOf(m, wm.Interactive)
	case "reaction":
		if r := wm.Reaction; r != nil {
			m.Kind = schema.KindReaction
			m.Reaction = &schema.Reaction{Emoji: r.Emoji, TargetExternalID: r.MessageID, Removed: r.Emoji == ""}
		}
	case "system":
		if s := wm.System; s != nil {
			m.Text, m.Flags = s.Body, append(m.Flags, "system")
		}
	}
	if m.Text == "" && len(m.Attachments) == 0 && m.Location == nil && m.Action == nil && m.Reaction == nil && len(wm.Errors) == 0 {
		m.Problems = append(m.Problems, fmt.Sprintf("WhatsApp message type %q is not supported", wm.Type))
	}
}

func waMediaOf(m *schema.Message, wm *waMessage) {
	media := map[string]*waMedia{"image": wm.Image, "video": wm.Video, "audio": wm.Audio,
		"document": wm.Document, "sticker": wm.Sticker}[wm.Type]
	if media == nil || media.ID == "" {
		return
	}
	m.Text = media.Caption
	m.Attachments = append(m.Attachments, schema.Attachment{URL: MediaScheme + media.ID,
		ContentType: media.MimeType, Name: media.Filename})
}

func waInteractiveOf(m *schema.Message, in *waInteractive) {
	if in == nil {
		return
	}
	var act *schema.Action
	switch {
	case in.ButtonReply != nil:
		act = &schema.Action{Type: "button_reply", Title: in.ButtonReply.Title, Payload: in.ButtonReply.ID}
	case in.ListReply != nil:
		act = &schema.Action{Type: "list_reply", Title: in.ListReply.Title, Payload: in.ListReply.ID}
	case in.NfmReply != nil:
		act = &schema.Action{Type: "flow_reply", Title: firstNonEmpty(in.NfmReply.Body, in.NfmReply.Name), Payload: in.NfmReply.ResponseJSON}
	default:
		return
	}
	m.Kind, m.Action, m.Text = schema.KindAction, act, act.Title
}

func sharedContacts(cs []waSharedContact) string {
	var lines []string
	for _, c := range cs {
		var phones []string
		for _, p := range c.Phones {
			phones = append(phones, p.Phone)
		}
		lines = append(lines, strings.TrimSpace("Contact: "+c.Name.FormattedName+" "+strings.Join(phones, ", ")))
	}
	return strings.Join(lines, "\n")
}

// waStatuses maps WhatsApp statuses to ours; others (deleted, warning) are ignored.
var waStatuses = map[string]schema.DeliveryStatus{
	"sent": schema.StatusSent, "delivered": schema.StatusDelivered, "read": schema.StatusRead,
	"played": schema.StatusRead, "failed": schema.StatusFailed,
}

func waStatusOf(b *batch, a *account, st *waStatus, raw json.RawMessage, field string) error {
	if st.ID == "" {
		return connectors.BadField(field+".id", "is required")
	}
	status, ok := waStatuses[st.Status]
	if !ok {
		b.ignore("%s: status %q", field, st.Status)
		return nil
	}
	u := &schema.StatusUpdate{Channel: schema.ChannelWhatsApp, Account: a.name, ExternalID: st.ID, Status: status, Raw: raw}
	if t := unixTime(st.Timestamp); t != nil {
		u.At = *t
	}
	if len(st.Errors) > 0 {
		u.ErrorCode = strconv.FormatInt(int64(st.Errors[0].Code), 10)
		u.ErrorMessage = errorText(&st.Errors[0])
	}
	b.status(u)
	return nil
}

func errorText(e *waError) string {
	text := firstNonEmpty(e.Title, e.Message)
	if e.ErrorData != nil && e.ErrorData.Details != "" {
		text += ": " + e.ErrorData.Details
	}
	return text
}

func unixTime(s flexInt) *time.Time {
	if s <= 0 {
		return nil
	}
	t := time.Unix(int64(s), 0).UTC()
	return &t
}
