package meta

import (
	"fmt"
	"net/url"
	"path"
	"strings"

	"github.com/switchboardhq/switchboard/connectors"
	"github.com/switchboardhq/switchboard/schema"
)

// messageOf fills m from a Messenger or Instagram message: text, quick reply, reply-to,
// attachments, locations, shared links.
func messageOf(m *schema.Message, msg *fbMessage, field string) error {
	if msg.MID == "" {
		return connectors.BadField(field+".mid", "is required")
	}
	m.ExternalID, m.Text = msg.MID, msg.Text
	if msg.IsDeleted {
		m.Kind, m.Text, m.Flags = schema.KindEdit, "", []string{"deleted"}
		m.ExternalID = msg.MID + ":deleted"
		m.Thread = &schema.Thread{EditOfExternalID: msg.MID}
		return nil
	}
	if msg.QuickReply != nil {
		m.Kind = schema.KindAction
		m.Action = &schema.Action{Type: "quick_reply", Title: msg.Text, Payload: msg.QuickReply.Payload}
	}
	if rt := msg.ReplyTo; rt != nil {
		replyToOf(m, rt)
	}
	for k, at := range msg.Attachments {
		attachmentOf(m, k, &at)
	}
	if msg.Referral != nil {
		m.Metadata = referralMetadata(m.Metadata, msg.Referral)
	}
	switch {
	case msg.IsUnsupported:
		m.Problems = append(m.Problems, "the customer sent a message type the API does not deliver (is_unsupported)")
	case m.Text == "" && len(m.Attachments) == 0 && m.Location == nil:
		m.Problems = append(m.Problems, "the message has no text and no attachment Switchboard understands")
	}
	return nil
}

func replyToOf(m *schema.Message, rt *fbReplyTo) {
	if rt.MID != "" {
		m.Thread = &schema.Thread{ReplyToExternalID: rt.MID}
	}
	if rt.Story != nil {
		m.Metadata = putMeta(m.Metadata, "reply_to_story_id", string(rt.Story.ID), "reply_to_story_url", rt.Story.URL)
	}
}

// mediaTypes are attachment types whose payload.url is a copy of the media on Meta's CDN,
// fetched into the object store. Other URLs (a shared link's page) are never fetched.
var mediaTypes = map[string]bool{
	"image": true, "video": true, "audio": true, "file": true, "animated_image": true,
	"share": true, "story_mention": true, "ig_reel": true, "reel": true, "ig_post": true,
}

func attachmentOf(m *schema.Message, k int, at *fbAttachment) {
	p := at.Payload
	if p == nil {
		p = &fbAttachPayload{}
	}
	switch {
	case at.Type == "location" && p.Coordinates != nil:
		m.Location = &schema.Location{Latitude: p.Coordinates.Lat, Longitude: p.Coordinates.Long, Name: at.Title}
	case at.Type == "fallback":
		link := strings.TrimSpace(strings.Join([]string{at.Title, firstNonEmpty(at.URL, p.URL)}, " "))
		m.Text = strings.TrimSpace(m.Text + "\n" + link)
	case mediaTypes[at.Type] && isHTTPURL(p.URL):
		a := schema.Attachment{URL: p.URL}
		if at.Type == "file" {
			a.Name = fileName(p.URL)
		}
		m.Attachments = append(m.Attachments, a)
		if p.StickerID != "" {
			m.Metadata = putMeta(m.Metadata, "sticker_id", string(p.StickerID))
		}
	default:
		m.Problems = append(m.Problems, fmt.Sprintf("attachment %d: type %q is not supported", k, at.Type))
	}
}

func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}

// fileName is the last path segment of a CDN URL, which Meta sets to the file's name.
func fileName(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	name := path.Base(u.Path)
	if name == "." || name == "/" {
		return ""
	}
	return name
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// putMeta sets key, value pairs whose value is not empty.
func putMeta(md map[string]string, kv ...string) map[string]string {
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			continue
		}
		if md == nil {
			md = map[string]string{}
		}
		md[kv[i]] = kv[i+1]
	}
	return md
}
