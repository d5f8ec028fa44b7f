package meta

import (
	"context"
	"sort"
	"strconv"

	"github.com/switchboardhq/switchboard/connectors"
	"github.com/switchboardhq/switchboard/schema"
)

// waTextLimit is the Cloud API's text body limit.
const waTextLimit = 4096

type waResponse struct {
	Messages []struct {
		ID string `json:"id"`
	} `json:"messages"`
}

// sendWhatsApp sends a reply through the Cloud API (POST /{phone number id}/messages): an
// approved template, or free-form text and media inside the customer service window.
func (s *sender) sendWhatsApp(ctx context.Context, m *schema.Message) (connectors.SendResult, error) {
	to, err := s.recipient(m, "phone")
	if err != nil {
		return connectors.SendResult{}, err
	}
	if err := s.checkServiceWindow(m); err != nil {
		return connectors.SendResult{}, err
	}
	parts, err := s.whatsappParts(m, to)
	if err != nil {
		return connectors.SendResult{}, err
	}
	ids, err := connectors.SendParts(ctx, s.c.host.State, m.ID, parts)
	if err != nil {
		return connectors.SendResult{}, err
	}
	return result(ids, schema.StatusQueued), nil
}

func (s *sender) whatsappParts(m *schema.Message, to string) ([]connectors.Part, error) {
	msg := func(typ string, content any) map[string]any {
		return map[string]any{"messaging_product": "whatsapp", "recipient_type": "individual", "to": to, "type": typ, typ: content}
	}
	if t := m.Template; t != nil {
		if m.Text != "" || len(m.Attachments) > 0 {
			return nil, connectors.Permanent("template_with_content", "a WhatsApp template reply carries no text or attachments of its own")
		}
		if t.Name == "" || t.Language == "" {
			return nil, connectors.Permanent("bad_template", "a WhatsApp template needs name and language (e.g. en_US)")
		}
		return []connectors.Part{s.waPart(msg("template", templateOf(t)))}, nil
	}
	if body := waChoices(m.Choices); body != nil && len(m.Attachments) == 0 {
		return []connectors.Part{s.waPart(msg("interactive", body))}, nil
	}
	var parts []connectors.Part
	for _, chunk := range connectors.SplitText(m.Text, waTextLimit) {
		parts = append(parts, s.waPart(msg("text", map[string]any{"body": chunk, "preview_url": false})))
	}
	for i := range m.Attachments {
		a := &m.Attachments[i]
		if err := checkAttachment(i, a); err != nil {
			return nil, err
		}
		parts = append(parts, s.waMediaPart(a, msg))
	}
	if len(parts) == 0 {
		return nil, connectors.Permanent("empty_message", "WhatsApp replies need text, attachments or a template (HTML is not sent)")
	}
	return parts, nil
}

// Interactive message limits (developers.facebook.com/docs/whatsapp/cloud-api/messages/interactive-list-messages,
// .../interactive-reply-buttons-messages): three reply buttons with 20-character titles; a list of
// ten rows with 24-character titles and 72-character descriptions; a 1024-character body.
const (
	waMaxButtons   = 3
	waMaxRows      = 10
	waButtonTitle  = 20
	waRowTitle     = 24
	waRowDesc      = 72
	waBodyLimit    = 1024
	waListButton   = 20
	waPayloadLimit = 200
)

// waChoices renders choices as reply buttons (up to three) or a list message (up to
// ten); nil when they do not fit (the text, which numbers the options, is sent instead).
func waChoices(ch *schema.Choices) map[string]any {
	if ch == nil || len(ch.Options) == 0 || len(ch.Options) > waMaxRows || ch.Prompt == "" || len([]rune(ch.Prompt)) > waBodyLimit {
		return nil
	}
	for _, o := range ch.Options {
		if len(o.Payload) > waPayloadLimit {
			return nil
		}
	}
	body := map[string]string{"text": ch.Prompt}
	if len(ch.Options) <= waMaxButtons {
		var buttons []map[string]any
		for _, o := range ch.Options {
			buttons = append(buttons, map[string]any{"type": "reply", "reply": map[string]string{"id": o.Payload, "title": clip(o.Title, waButtonTitle)}})
		}
		return map[string]any{"type": "button", "body": body, "action": map[string]any{"buttons": buttons}}
	}
	var rows []map[string]string
	for _, o := range ch.Options {
		row := map[string]string{"id": o.Payload, "title": clip(o.Title, waRowTitle)}
		if o.Description != "" {
			row["description"] = clip(o.Description, waRowDesc)
		}
		rows = append(rows, row)
	}
	button := ch.Button
	if button == "" {
		button = "Choose"
	}
	return map[string]any{"type": "list", "body": body,
		"action": map[string]any{"button": clip(button, waListButton), "sections": []map[string]any{{"rows": rows}}}}
}

// clip cuts s to n characters.
func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n])
	}
	return s
}

// templateOf builds a template message. Variables with numeric names ("1", "2") are the
// body's positional parameters in order; others are named parameters.
func templateOf(t *schema.Template) map[string]any {
	out := map[string]any{"name": t.Name, "language": map[string]string{"code": t.Language}}
	if len(t.Variables) == 0 {
		return out
	}
	names := make([]string, 0, len(t.Variables))
	for k := range t.Variables {
		names = append(names, k)
	}
	sort.Slice(names, func(i, j int) bool { return variableLess(names[i], names[j]) })
	params := make([]map[string]string, 0, len(names))
	for _, k := range names {
		p := map[string]string{"type": "text", "text": t.Variables[k]}
		if _, err := strconv.Atoi(k); err != nil {
			p["parameter_name"] = k
		}
		params = append(params, p)
	}
	out["components"] = []map[string]any{{"type": "body", "parameters": params}}
	return out
}

// variableLess orders numeric names numerically, before the other names in lexical order.
func variableLess(a, b string) bool {
	na, errA := strconv.Atoi(a)
	nb, errB := strconv.Atoi(b)
	switch {
	case errA == nil && errB == nil:
		return na < nb
	case errA == nil || errB == nil:
		return errA == nil
	}
	return a < b
}

func (s *sender) waPart(body map[string]any) connectors.Part {
	return func(ctx context.Context) (string, error) {
		var resp waResponse
		if err := s.c.postJSON(ctx, s.acct.api+"/"+s.acct.sendAs+"/messages", s.acct.token, body, &resp); err != nil {
			return "", err
		}
		if len(resp.Messages) == 0 || resp.Messages[0].ID == "" {
			return "", connectors.Permanent("bad_response", "the Cloud API accepted the message but returned no id")
		}
		return resp.Messages[0].ID, nil
	}
}

// waMediaPart sends an attachment by link (WhatsApp fetches it) or uploads the stored bytes
// first (POST /{phone number id}/media) and sends the media id.
func (s *sender) waMediaPart(a *schema.Attachment, msg func(string, any) map[string]any) connectors.Part {
	return func(ctx context.Context) (string, error) {
		kind := mediaKind(a.ContentType, "document")
		media := map[string]any{}
		if a.Key == "" {
			media["link"] = a.URL
		} else {
			id, ctype, err := s.uploadMedia(ctx, a)
			if err != nil {
				return "", err
			}
			kind = mediaKind(ctype, "document")
			media["id"] = id
		}
		if kind == "document" {
			media["filename"] = attachmentName(a)
		}
		return s.waPart(msg(kind, media))(ctx)
	}
}

func (s *sender) uploadMedia(ctx context.Context, a *schema.Attachment) (string, string, error) {
	rc, ctype, err := s.openBlob(ctx, a)
	if err != nil {
		return "", "", err
	}
	defer rc.Close()
	body, form, err := connectors.Multipart([][2]string{{"messaging_product", "whatsapp"}, {"type", ctype}},
		connectors.FilePart{Field: "file", Name: attachmentName(a), ContentType: ctype, Body: rc, Max: maxUpload})
	if err != nil {
		return "", "", connectors.Permanent("bad_attachment", "%v", err)
	}
	var resp struct {
		ID string `json:"id"`
	}
	if err := s.c.call(ctx, "POST", s.acct.api+"/"+s.acct.sendAs+"/media", s.acct.token, form, bytesReader(body), &resp); err != nil {
		return "", "", err
	}
	return resp.ID, ctype, nil
}
