package api

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/connectors"
	"github.com/switchboardhq/switchboard/schema"
)

// postBody is the JSON body of POST /v1/channels/api/{account}/messages.
type postBody struct {
	ExternalID  string            `json:"external_id"`
	From        json.RawMessage   `json:"from"`
	Name        string            `json:"name"`
	Subject     string            `json:"subject"`
	Text        string            `json:"text"`
	HTML        string            `json:"html"`
	Language    string            `json:"language"`
	Attachments []postAttachment  `json:"attachments"`
	Metadata    map[string]string `json:"metadata"`
	SentAt      *time.Time        `json:"sent_at"`
	Profile     *schema.Profile   `json:"profile"`
	ReplyTo     string            `json:"reply_to_external_id"`
	// Payload is the choice the customer picked, one of a message.survey callback's
	// data.choices.options[].payload (text then is its title, or empty).
	Payload string `json:"payload"`
}

type postAttachment struct {
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	URL         string `json:"url"`
	Data        string `json:"data"` // base64
}

// Limits on fields.
const (
	maxExternalID  = 256
	maxAttachments = 20
)

func (c *Connector) receive(ctx context.Context, r *connectors.Request) (*connectors.Response, error) {
	name := r.PathValue("account")
	acct, err := c.authenticate(name, r.Header("Authorization"))
	if err != nil {
		return nil, err
	}
	if ct, _, _ := mime.ParseMediaType(r.Header("Content-Type")); ct != "application/json" {
		return nil, connectors.UnsupportedMediaType("application/json")
	}
	if int64(len(r.Body)) > int64(acct.MaxBody) {
		return nil, &connectors.HTTPError{Status: http.StatusRequestEntityTooLarge, Code: "too_large",
			Message: fmt.Sprintf("body exceeds %d bytes", acct.MaxBody)}
	}
	var body postBody
	if err := connectors.DecodeJSON(r.Body, &body); err != nil {
		return nil, err
	}
	m, err := c.normalize(ctx, name, acct, &body, r.Body)
	if err != nil {
		return nil, err
	}
	rc, err := c.host.Publisher.Publish(ctx, m)
	if err != nil {
		return nil, err
	}
	return connectors.JSON(http.StatusAccepted, map[string]any{"id": rc.ID, "duplicate": rc.Duplicate}), nil
}

func (c *Connector) authenticate(name, header string) (*Account, error) {
	acct, ok := c.cfg.Accounts[name]
	token, found := strings.CutPrefix(header, "Bearer ")
	if !found {
		return nil, connectors.Unauthorized("missing Authorization: Bearer <token>")
	}
	if !ok {
		// Compare anyway so that timing does not tell which accounts exist.
		subtle.ConstantTimeCompare([]byte(token), []byte("\x00unknown-account"))
		return nil, connectors.Unauthorized("invalid token for account %q", name)
	}
	if subtle.ConstantTimeCompare([]byte(token), []byte(acct.Token.Value())) != 1 {
		return nil, connectors.Unauthorized("invalid token for account %q", name)
	}
	return acct, nil
}

// maxPayload bounds a chosen option's payload.
const maxPayload = 1000

func (c *Connector) normalize(ctx context.Context, account string, acct *Account, b *postBody, raw []byte) (*schema.Message, error) {
	if b.ExternalID == "" {
		return nil, connectors.BadField("external_id", "is required (your id for this message; reposting it is a no-op)")
	}
	if len(b.ExternalID) > maxExternalID {
		return nil, connectors.BadField("external_id", "is longer than %d bytes", maxExternalID)
	}
	from, err := parseFrom(b.From, b.Name)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(b.Text) == "" && strings.TrimSpace(b.HTML) == "" && len(b.Attachments) == 0 && b.Payload == "" {
		return nil, connectors.BadField("text", "a message needs text, html, attachments or a payload")
	}
	if len(b.Payload) > maxPayload {
		return nil, connectors.BadField("payload", "is longer than %d bytes", maxPayload)
	}
	m := &schema.Message{
		Channel: schema.ChannelAPI, Account: account, ExternalID: b.ExternalID, From: from,
		Subject: b.Subject, Text: b.Text, HTML: b.HTML, Language: b.Language, Metadata: b.Metadata,
		SentAt: b.SentAt, Profile: b.Profile, Raw: raw,
	}
	if b.Payload != "" {
		m.Kind, m.Action = schema.KindAction, &schema.Action{Type: "choice", Title: b.Text, Payload: b.Payload}
	}
	if m.Profile != nil {
		m.Profile.Verified = acct.Verified && m.Profile.ExternalID != ""
	}
	if b.ReplyTo != "" {
		m.Thread = &schema.Thread{ReplyToExternalID: b.ReplyTo}
	}
	m.ID = schema.MessageID(schema.DedupeKey(m.Channel, account, b.ExternalID))
	if m.Attachments, err = c.attachments(ctx, m.ID, b.Attachments); err != nil {
		return nil, err
	}
	return m, nil
}

// parseFrom accepts "alice@example.com", "+15551234567", "any-id", or
// {"kind": "...", "value": "...", "name": "..."}.
func parseFrom(raw json.RawMessage, name string) (schema.Address, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return schema.Address{}, connectors.BadField("from", "is required")
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return addressOf(strings.TrimSpace(s), name)
	}
	var a schema.Address
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&a); err != nil {
		return a, connectors.BadField("from", "must be a string or {kind, value, name}")
	}
	if a.Kind == "" || a.Value == "" {
		return a, connectors.BadField("from", "needs kind and value")
	}
	if a.Name == "" {
		a.Name = name
	}
	return a, nil
}

func addressOf(s, name string) (schema.Address, error) {
	switch {
	case s == "":
		return schema.Address{}, connectors.BadField("from", "is empty")
	case len(s) > 320:
		return schema.Address{}, connectors.BadField("from", "is longer than 320 bytes")
	case strings.Contains(s, "@"):
		return schema.Address{Kind: "email", Value: strings.ToLower(s), Name: name}, nil
	case strings.HasPrefix(s, "+") && len(s) > 4 && strings.Trim(s[1:], "0123456789") == "":
		return schema.Address{Kind: "phone", Value: s, Name: name}, nil
	}
	return schema.Address{Kind: "external", Value: s, Name: name}, nil
}

// attachments stores inline (base64) attachments before the message is published, so the
// message never references bytes that are not durable. URLs are kept as references.
func (c *Connector) attachments(ctx context.Context, id string, in []postAttachment) ([]schema.Attachment, error) {
	if len(in) > maxAttachments {
		return nil, connectors.BadField("attachments", "at most %d attachments", maxAttachments)
	}
	out := make([]schema.Attachment, 0, len(in))
	for i, a := range in {
		field := fmt.Sprintf("attachments[%d]", i)
		att := schema.Attachment{Name: a.Name, ContentType: a.ContentType, URL: a.URL}
		switch {
		case (a.Data == "") == (a.URL == ""):
			return nil, connectors.BadField(field, "give exactly one of data (base64) and url")
		case a.URL != "" && !strings.HasPrefix(a.URL, "https://") && !strings.HasPrefix(a.URL, "http://"):
			return nil, connectors.BadField(field+".url", "must be an http(s) URL")
		case a.Data != "":
			data, err := base64.StdEncoding.DecodeString(a.Data)
			if err != nil {
				return nil, connectors.BadField(field+".data", "is not valid base64")
			}
			if att.ContentType == "" {
				att.ContentType = http.DetectContentType(data)
			}
			ref, err := c.host.Blobs.Put(ctx, fmt.Sprintf("att/%s/%d", id, i), att.ContentType, bytes.NewReader(data), int64(len(data)))
			if err != nil {
				return nil, err
			}
			att.Bucket, att.Key, att.Size, att.Digest = ref.Bucket, ref.Key, ref.Size, ref.Digest
		}
		out = append(out, att)
	}
	return out, nil
}
