package twilio

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"

	contentapi "github.com/twilio/twilio-go/rest/content/v1"

	"github.com/switchboardhq/switchboard/connectors"
	"github.com/switchboardhq/switchboard/schema"
)

// Twilio sends WhatsApp reply buttons and lists only as Content templates
// (twilio.com/docs/content): a twilio/quick-reply (up to three buttons) or a
// twilio/list-picker (up to ten items), which inside the 24-hour window need no approval. The
// connector creates one through the Content API the first time it needs it and keeps its
// Content SID in the connector state (keyed by the content's hash), so a survey's question
// is created once per text and language, not once per message.
const (
	maxQuickReply    = 3
	maxListItems     = 10
	listItemTitle    = 24
	listDescription  = 72
	quickReplyTitle  = 20
	contentBodyLimit = 1024
)

// contentFor returns the Content SID of choices rendered natively ("" when they do not fit a
// list: the numbered text is sent instead).
func (c *Connector) contentFor(ctx context.Context, a *account, ch *schema.Choices, lang string) (string, error) {
	req := contentRequest(ch, lang)
	if req == nil {
		return "", nil
	}
	body, _ := json.Marshal(req)
	sum := sha256.Sum256(body)
	key := "twilio.content." + a.name + "." + hex.EncodeToString(sum[:12])
	if sid, ok := a.contents.Load(key); ok {
		return sid.(string), nil
	}
	if c.host.State != nil {
		if v, _, err := c.host.State.Get(ctx, key); err == nil {
			a.contents.Store(key, string(v))
			return string(v), nil
		}
	}
	if err := ctx.Err(); err != nil {
		return "", connectors.Temporary(err, 0)
	}
	res, err := a.rest.ContentV1.CreateContent(&contentapi.CreateContentParams{ContentCreateRequest: req})
	if err != nil {
		return "", classify(err)
	}
	if res.Sid == nil || !strings.HasPrefix(*res.Sid, "HX") {
		return "", connectors.Permanent("bad_response", "the Content API answered without a Content SID")
	}
	if c.host.State != nil {
		if _, err := c.host.State.Put(ctx, key, []byte(*res.Sid)); err != nil {
			return "", connectors.Temporary(err, 0)
		}
	}
	a.contents.Store(key, *res.Sid)
	return *res.Sid, nil
}

// contentRequest is the Content API request for choices: quick-reply buttons for up to
// three, a list picker for up to ten (nil for more, or when a title or the body is too
// long). A survey's item ids are its scores, so one content serves every survey of the same
// text; the answer comes back as ButtonPayload (or ListId), or the title as Body.
func contentRequest(ch *schema.Choices, lang string) *contentapi.ContentCreateRequest {
	if ch == nil || len(ch.Options) == 0 || len(ch.Options) > maxListItems || ch.Prompt == "" || len([]rune(ch.Prompt)) > contentBodyLimit {
		return nil
	}
	if lang == "" {
		lang = "en"
	}
	req := &contentapi.ContentCreateRequest{Language: lang}
	id := func(o schema.Choice) string {
		if strings.HasPrefix(o.Payload, "survey:") {
			return o.Payload[strings.LastIndexByte(o.Payload, ':')+1:]
		}
		return o.Payload
	}
	if len(ch.Options) <= maxQuickReply {
		qr := &contentapi.TwilioQuickReply{Body: ch.Prompt}
		for _, o := range ch.Options {
			qr.Actions = append(qr.Actions, contentapi.QuickReplyAction{Title: clip(o.Title, quickReplyTitle), Id: id(o)})
		}
		req.Types.TwilioQuickReply = qr
	} else {
		button := ch.Button
		if button == "" {
			button = "Choose"
		}
		lp := &contentapi.TwilioListPicker{Body: ch.Prompt, Button: clip(button, quickReplyTitle)}
		for _, o := range ch.Options {
			lp.Items = append(lp.Items, contentapi.ListItem{Item: clip(o.Title, listItemTitle), Id: id(o), Description: clip(o.Description, listDescription)})
		}
		req.Types.TwilioListPicker = lp
	}
	req.Types.TwilioText = &contentapi.TwilioText{Body: ch.Prompt}
	sum := sha256.Sum256([]byte(ch.Prompt))
	req.FriendlyName = "switchboard_choices_" + hex.EncodeToString(sum[:6])
	return req
}

func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n])
	}
	return s
}
