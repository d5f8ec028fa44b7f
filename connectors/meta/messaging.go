package meta

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/switchboardhq/switchboard/connectors"
	"github.com/switchboardhq/switchboard/schema"
)

// messagingEntry normalizes one Messenger or Instagram entry: its messaging[] events.
func (c *Connector) messagingEntry(b *batch, app string, ch schema.Channel, i int, e *entry) error {
	what := "page"
	if ch == schema.ChannelInstagram {
		what = "Instagram account"
	}
	a, err := c.lookup(app, ch, string(e.ID), what)
	if err != nil {
		return err
	}
	if len(e.Standby) > 0 {
		b.ignore("entry[%d]: %d standby event(s): another app owns these threads", i, len(e.Standby))
	}
	for j, raw := range e.Messaging {
		path := fmt.Sprintf("entry[%d].messaging[%d]", i, j)
		var ev messagingEvent
		if err := decodeAt(raw, &ev, path); err != nil {
			return err
		}
		if err := messagingEventOf(b, a, &ev, raw, path); err != nil {
			return err
		}
	}
	return nil
}

// messagingEventOf normalizes one event: a message, postback, reaction or edit becomes a
// message; receipts become statuses; echoes of the page's own messages are ignored.
func messagingEventOf(b *batch, a *account, ev *messagingEvent, raw json.RawMessage, path string) error {
	if (ev.Message != nil && ev.Message.IsEcho) || (ev.Sender.ID != "" && string(ev.Sender.ID) == a.id) {
		b.ignore("%s: echo of a message %s sent", path, a.id)
		return nil
	}
	from, err := customer(a, ev.Sender, path)
	if err != nil {
		return err
	}
	if ev.Delivery != nil || ev.Read != nil {
		receiptsOf(b, a, ev, from.Value, raw)
		return nil
	}
	m := &schema.Message{Channel: a.channel, Account: a.name, Direction: schema.Inbound, Kind: schema.KindMessage, From: from, SentAt: msTime(ev.Timestamp), Raw: raw}
	switch {
	case ev.Message != nil:
		err = messageOf(m, ev.Message, path+".message")
	case ev.Postback != nil:
		postbackOf(m, ev.Postback, int64(ev.Timestamp))
	case ev.Reaction != nil:
		err = reactionOf(m, ev.Reaction, int64(ev.Timestamp), path+".reaction")
	case ev.MessageEdit != nil:
		err = editOf(m, ev.MessageEdit, path+".message_edit")
	default:
		b.ignore("%s: not a message, postback, reaction, edit or receipt", path)
		return nil
	}
	if err != nil {
		return err
	}
	b.message(m)
	return nil
}

// customer is the sender's address: page-scoped, so "<page>:<psid>".
func customer(a *account, p party, path string) (schema.Address, error) {
	kind := "psid"
	if a.channel == schema.ChannelInstagram {
		kind = "igsid"
	}
	switch {
	case p.ID != "":
		return schema.Address{Kind: kind, Value: a.id + ":" + string(p.ID)}, nil
	case p.UserRef != "":
		return schema.Address{Kind: kind, Value: a.id + ":" + userRefPrefix + p.UserRef}, nil
	}
	return schema.Address{}, connectors.BadField(path+".sender.id", "is required")
}

// userRefPrefix marks a chat-plugin guest, addressed by user_ref until it has a PSID.
const userRefPrefix = "user_ref:"

func msTime(ms flexInt) *time.Time {
	if ms <= 0 {
		return nil
	}
	t := time.UnixMilli(int64(ms)).UTC()
	return &t
}

func postbackOf(m *schema.Message, pb *fbPostback, ts int64) {
	m.Kind = schema.KindAction
	m.Action = &schema.Action{Type: "postback", Title: pb.Title, Payload: pb.Payload}
	m.Text = pb.Title
	m.ExternalID = pb.MID
	if m.ExternalID == "" { // older API versions: the click has no id of its own
		m.ExternalID = fmt.Sprintf("postback:%s:%d", m.From.Value, ts)
	}
	if pb.Referral != nil {
		m.Metadata = referralMetadata(m.Metadata, pb.Referral)
	}
}

func reactionOf(m *schema.Message, r *fbReaction, ts int64, path string) error {
	if r.MID == "" {
		return connectors.BadField(path+".mid", "is required")
	}
	emoji := r.Emoji
	if emoji == "" {
		emoji = r.Reaction
	}
	m.Kind = schema.KindReaction
	m.Reaction = &schema.Reaction{Emoji: emoji, TargetExternalID: r.MID, Removed: r.Action == "unreact"}
	m.ExternalID = fmt.Sprintf("reaction:%s:%s:%d", r.MID, r.Action, ts)
	return nil
}

func editOf(m *schema.Message, e *fbEdit, path string) error {
	if e.MID == "" {
		return connectors.BadField(path+".mid", "is required")
	}
	m.Kind = schema.KindEdit
	m.Text = e.Text
	m.Thread = &schema.Thread{EditOfExternalID: e.MID}
	m.ExternalID = fmt.Sprintf("%s:edit:%d", e.MID, e.NumEdit)
	return nil
}

func referralMetadata(md map[string]string, r *fbReferral) map[string]string {
	return putMeta(md, "referral_ref", r.Ref, "referral_source", r.Source, "referral_type", r.Type, "referral_ad_id", r.AdID)
}
