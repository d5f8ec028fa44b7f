package meta

import (
	"context"
	"encoding/json"
	"time"

	"github.com/switchboardhq/switchboard/connectors"
	"github.com/switchboardhq/switchboard/schema"
)

// Send API text limits: Messenger 2000 characters, Instagram 1000.
var textLimit = map[schema.Channel]int{schema.ChannelMessenger: 2000, schema.ChannelInstagram: 1000}

// sendRequest is a Send API body.
type sendRequest struct {
	Recipient     map[string]string `json:"recipient"`
	MessagingType string            `json:"messaging_type"`
	Tag           string            `json:"tag,omitempty"`
	Message       sendMessage       `json:"message"`
}

type sendMessage struct {
	Text         string          `json:"text,omitempty"`
	Attachment   *sendAttachment `json:"attachment,omitempty"`
	QuickReplies []quickReply    `json:"quick_replies,omitempty"`
}

// quickReply is a Send API quick reply (developers.facebook.com/docs/messenger-platform/send-messages/quick-replies):
// at most 13, titles of 20 characters, payloads of 1000.
type quickReply struct {
	ContentType string `json:"content_type"`
	Title       string `json:"title"`
	Payload     string `json:"payload"`
}

const (
	maxQuickReplies   = 13
	quickReplyTitle   = 20
	quickReplyPayload = 1000
)

// quickReplies renders choices as quick replies; nil when they do not fit.
func quickReplies(ch *schema.Choices) []quickReply {
	if ch == nil || len(ch.Options) == 0 || len(ch.Options) > maxQuickReplies || ch.Prompt == "" {
		return nil
	}
	var out []quickReply
	for _, o := range ch.Options {
		if len(o.Payload) > quickReplyPayload {
			return nil
		}
		out = append(out, quickReply{ContentType: "text", Title: clip(o.Title, quickReplyTitle), Payload: o.Payload})
	}
	return out
}

type sendAttachment struct {
	Type    string         `json:"type"`
	Payload map[string]any `json:"payload"`
}

type sendResponse struct {
	RecipientID string `json:"recipient_id"`
	MessageID   string `json:"message_id"`
}

// sendMessaging sends a Messenger or Instagram reply through the Send API
// (POST /{page or account}/messages).
func (s *sender) sendMessaging(ctx context.Context, m *schema.Message) (connectors.SendResult, error) {
	kind := "psid"
	if s.acct.channel == schema.ChannelInstagram {
		kind = "igsid"
	}
	to, err := s.recipient(m, kind)
	if err != nil {
		return connectors.SendResult{}, err
	}
	if m.Template != nil {
		return connectors.SendResult{}, connectors.Permanent("template_unsupported", "%s has no message templates; send text", s.acct.channel)
	}
	typ, tag, err := s.messagingType(m)
	if err != nil {
		return connectors.SendResult{}, err
	}
	base := sendRequest{Recipient: recipientField(to), MessagingType: typ, Tag: tag}
	parts, err := s.messagingParts(m, base)
	if err != nil {
		return connectors.SendResult{}, err
	}
	started := s.c.now()
	ids, err := connectors.SendParts(ctx, s.c.host.State, m.ID, parts)
	if len(ids) > 0 && s.acct.channel == schema.ChannelMessenger {
		s.c.rememberSent(context.WithoutCancel(ctx), s.acct.name, m.To[0].Value, ids, started.Add(-time.Second))
	}
	if err != nil {
		return connectors.SendResult{}, err
	}
	return result(ids, schema.StatusSent), nil
}

// recipientField addresses a PSID, or a chat-plugin guest by user_ref.
func recipientField(to string) map[string]string {
	if ref, ok := cutPrefix(to, userRefPrefix); ok {
		return map[string]string{"user_ref": ref}
	}
	return map[string]string{"id": to}
}

func (s *sender) messagingParts(m *schema.Message, base sendRequest) ([]connectors.Part, error) {
	if qr := quickReplies(m.Choices); qr != nil && len(m.Attachments) == 0 && len([]rune(m.Choices.Prompt)) <= textLimit[s.acct.channel] {
		req := base
		req.Message = sendMessage{Text: m.Choices.Prompt, QuickReplies: qr}
		return []connectors.Part{s.sendPart(req)}, nil
	}
	var parts []connectors.Part
	for _, chunk := range connectors.SplitText(m.Text, textLimit[s.acct.channel]) {
		req := base
		req.Message = sendMessage{Text: chunk}
		parts = append(parts, s.sendPart(req))
	}
	for i := range m.Attachments {
		a := &m.Attachments[i]
		if err := checkAttachment(i, a); err != nil {
			return nil, err
		}
		if a.Key != "" && s.acct.channel == schema.ChannelInstagram {
			return nil, connectors.Permanent("bad_attachment", "Instagram sends attachments by public URL only; attachment %d has none", i)
		}
		parts = append(parts, s.attachmentPart(base, a))
	}
	if len(parts) == 0 {
		return nil, connectors.Permanent("empty_message", "%s replies need text or attachments (HTML is not sent)", s.acct.channel)
	}
	return parts, nil
}

func (s *sender) sendPart(req sendRequest) connectors.Part {
	return func(ctx context.Context) (string, error) {
		var resp sendResponse
		if err := s.c.postJSON(ctx, s.acct.api+"/"+s.acct.sendAs+"/messages", s.acct.token, req, &resp); err != nil {
			return "", err
		}
		return resp.MessageID, nil
	}
}

// attachmentPart sends an attachment by URL (Meta fetches it) or uploads the stored bytes.
func (s *sender) attachmentPart(base sendRequest, a *schema.Attachment) connectors.Part {
	if a.Key == "" {
		req := base
		req.Message = sendMessage{Attachment: &sendAttachment{Type: mediaKind(a.ContentType, "file"),
			Payload: map[string]any{"url": a.URL, "is_reusable": false}}}
		return s.sendPart(req)
	}
	return func(ctx context.Context) (string, error) {
		rc, ctype, err := s.openBlob(ctx, a)
		if err != nil {
			return "", err
		}
		defer rc.Close()
		recipient, _ := json.Marshal(base.Recipient)
		message, _ := json.Marshal(sendMessage{Attachment: &sendAttachment{Type: mediaKind(ctype, "file"),
			Payload: map[string]any{"is_reusable": false}}})
		fields := [][2]string{{"recipient", string(recipient)}, {"message", string(message)}, {"messaging_type", base.MessagingType}}
		if base.Tag != "" {
			fields = append(fields, [2]string{"tag", base.Tag})
		}
		body, ctypeForm, err := connectors.Multipart(fields, connectors.FilePart{Field: "filedata", Name: attachmentName(a),
			ContentType: ctype, Body: rc, Max: maxUpload})
		if err != nil {
			return "", connectors.Permanent("bad_attachment", "%v", err)
		}
		var resp sendResponse
		if err := s.c.call(ctx, "POST", s.acct.api+"/"+s.acct.sendAs+"/messages", s.acct.token, ctypeForm, bytesReader(body), &resp); err != nil {
			return "", err
		}
		return resp.MessageID, nil
	}
}
