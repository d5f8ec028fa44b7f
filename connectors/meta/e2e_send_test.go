package meta_test

import (
	"encoding/json"
	"fmt"
	"mime"
	"mime/multipart"
	"net/http"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/cmd/switchboard/app/apptest"
	"github.com/switchboardhq/switchboard/pipeline/streams"
	"github.com/switchboardhq/switchboard/schema"
)

// openConversation delivers body and returns the conversation it opened.
func openConversation(t *testing.T, g *apptest.Gateway, body []byte) string {
	t.Helper()
	mustDeliver(t, g, body)
	conv := g.Events("sb.conv.>", 1, 15*time.Second)[0].ConversationID
	apptest.Eventually(t, 5*time.Second, func() error {
		if status, body := g.Do("GET", "/v1/conversations/"+conv, apptest.Token, nil); status != http.StatusOK {
			return fmt.Errorf("conversation %s: %d %s", conv, status, body)
		}
		return nil
	})
	return conv
}

func jsonEqual(t *testing.T, got []byte, want string) {
	t.Helper()
	var a, b any
	if err := json.Unmarshal(got, &a); err != nil {
		t.Fatalf("request body %s: %v", got, err)
	}
	_ = json.Unmarshal([]byte(want), &b)
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("request body\n got %s\nwant %s", got, want)
	}
}

// TestMessengerReplyRoundTrip: inbound message → conversation; REST reply → Send API with
// the page token → "sent"; Meta's delivery receipt (by mid) → "delivered"; its read receipt
// (a watermark only) → "read"; a late delivery receipt changes nothing.
func TestMessengerReplyRoundTrip(t *testing.T) {
	graph := newFakeGraph(t)
	g := startGateway(t, graph)
	conv := openConversation(t, g, messagePayload("m_in1", "hi, where is my order?"))
	id := reply(t, g, conv, map[string]any{"text": "It ships today."})

	d := delivery(t, g, conv, 1)
	if d.MessageID != id || d.Status != schema.StatusSent || !strings.HasPrefix(d.ExternalID, "m_sent") {
		t.Fatalf("first delivery event %+v", d)
	}
	calls := graph.requests("POST", "/v23.0/"+pageID+"/messages")
	if len(calls) != 1 || calls[0].Auth != "Bearer "+pageToken || calls[0].ContentType != "application/json" {
		t.Fatalf("send API calls %+v", calls)
	}
	jsonEqual(t, calls[0].Body, `{"recipient":{"id":"`+psid+`"},"messaging_type":"RESPONSE","message":{"text":"It ships today."}}`)

	receipt := func(kind, inner string) []byte {
		return []byte(fmt.Sprintf(`{"object":"page","entry":[{"id":%q,"time":%d,"messaging":[{"sender":{"id":%q},"recipient":{"id":%q},"timestamp":%d,%q:%s}]}]}`,
			pageID, time.Now().UnixMilli(), psid, pageID, time.Now().UnixMilli(), kind, inner))
	}
	mustDeliver(t, g, receipt("delivery", `{"mids":["`+d.ExternalID+`"],"watermark":`+fmt.Sprint(time.Now().UnixMilli())+`}`))
	if d := delivery(t, g, conv, 2); d.Status != schema.StatusDelivered || d.MessageID != id {
		t.Fatalf("after the delivery receipt: %+v", d)
	}
	if r := mustDeliver(t, g, receipt("read", `{"watermark":`+fmt.Sprint(time.Now().UnixMilli())+`}`)); r.Statuses != 1 {
		t.Fatalf("read watermark resolved to %d statuses, want 1", r.Statuses)
	}
	if d := delivery(t, g, conv, 3); d.Status != schema.StatusRead || d.MessageID != id {
		t.Fatalf("after the read receipt: %+v", d)
	}
	mustDeliver(t, g, receipt("delivery", `{"mids":["`+d.ExternalID+`"],"watermark":1}`))
	time.Sleep(500 * time.Millisecond)
	if n := g.StreamCount(streams.StreamConversations, "sb.conv."+conv+".delivery"); n != 3 {
		t.Fatalf("a late receipt downgraded or repeated the status: %d delivery events", n)
	}
}

// TestWhatsAppRepliesAndStatuses: text and an attachment go out as two Cloud API messages;
// the status of either maps back to the reply; a template has its own body; a refusal is a
// failed delivery with Meta's code; a throttled send is retried.
func TestWhatsAppRepliesAndStatuses(t *testing.T) {
	graph := newFakeGraph(t)
	g := startGateway(t, graph)
	conv := openConversation(t, g, fixture(t, "whatsapp_text.json"))
	path := "/v23.0/" + phoneID + "/messages"

	id := reply(t, g, conv, map[string]any{"text": "Here is the label.",
		"attachments": []map[string]string{{"url": "https://files.example.com/label.pdf", "name": "label.pdf", "content_type": "application/pdf"}}})
	d := delivery(t, g, conv, 1)
	calls := graph.requests("POST", path)
	if d.MessageID != id || d.Status != schema.StatusQueued || len(calls) != 2 || calls[0].Auth != "Bearer "+whatsappToken {
		t.Fatalf("delivery %+v after %d calls", d, len(calls))
	}
	jsonEqual(t, calls[0].Body, `{"messaging_product":"whatsapp","recipient_type":"individual","to":"16505551234","type":"text","text":{"body":"Here is the label.","preview_url":false}}`)
	jsonEqual(t, calls[1].Body, `{"messaging_product":"whatsapp","recipient_type":"individual","to":"16505551234","type":"document","document":{"link":"https://files.example.com/label.pdf","filename":"label.pdf"}}`)

	second := "wamid.sent2" // the attachment's message
	status := `{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"` + phoneID + `"},"statuses":[{"id":"` + second + `","status":"delivered","timestamp":"1750263775","recipient_id":"16505551234"}]}}]}]}`
	mustDeliver(t, g, []byte(status))
	if d := delivery(t, g, conv, 2); d.MessageID != id || d.Status != schema.StatusSent || !d.Implied { // delivered implies sent
		t.Fatalf("implied status before the attachment's wamid: %+v", d)
	}
	if d := delivery(t, g, conv, 3); d.MessageID != id || d.Status != schema.StatusDelivered {
		t.Fatalf("status of the attachment's wamid: %+v", d)
	}

	reply(t, g, conv, map[string]any{"template": map[string]any{"name": "order_update", "language": "en_US",
		"variables": map[string]string{"1": "4521", "2": "Friday"}}})
	delivery(t, g, conv, 4)
	calls = graph.requests("POST", path)
	jsonEqual(t, calls[2].Body, `{"messaging_product":"whatsapp","recipient_type":"individual","to":"16505551234","type":"template","template":{"name":"order_update","language":{"code":"en_US"},"components":[{"type":"body","parameters":[{"type":"text","text":"4521"},{"type":"text","text":"Friday"}]}]}}`)

	graph.setFail(func(r *http.Request) (int, string) {
		return 400, `{"error":{"message":"(#131026) Message undeliverable","type":"OAuthException","code":131026,"error_data":{"messaging_product":"whatsapp","details":"Receiver is incapable of receiving this message"},"fbtrace_id":"A1"}}`
	})
	reply(t, g, conv, map[string]any{"text": "anyone there?"})
	if d := delivery(t, g, conv, 5); d.Status != schema.StatusFailed || d.ErrorCode != "131026" || !strings.Contains(d.ErrorMessage, "incapable") {
		t.Fatalf("refused send: %+v", d)
	}

	var throttled atomic.Bool
	graph.setFail(func(r *http.Request) (int, string) {
		if throttled.CompareAndSwap(false, true) {
			return 400, `{"error":{"message":"(#130429) Rate limit hit","type":"OAuthException","code":130429,"fbtrace_id":"A2"}}`
		}
		return 0, ""
	})
	reply(t, g, conv, map[string]any{"text": "sorry for the wait"})
	if d := delivery(t, g, conv, 6); d.Status != schema.StatusQueued || d.Attempts != 2 {
		t.Fatalf("throttled send: %+v", d)
	}
}

// TestWhatsAppReplyUploadsStoredMedia: an attachment already in the object store (here the
// customer's own photo) is uploaded to /media and sent by id.
func TestWhatsAppReplyUploadsStoredMedia(t *testing.T) {
	graph := newFakeGraph(t)
	graph.media["1003383421387256"] = []byte("\xff\xd8\xff photo")
	g := startGateway(t, graph)
	mustDeliver(t, g, fixture(t, "whatsapp_media.json"))
	evs := g.Events("sb.conv.*.message", 1, 15*time.Second)
	stored := evs[0].Message.Attachments[0]
	if stored.Key == "" {
		t.Fatalf("photo not stored: %+v", stored)
	}
	reply(t, g, evs[0].ConversationID, map[string]any{"attachments": []schema.Attachment{{Key: stored.Key, Name: "photo.jpg"}}})
	if d := delivery(t, g, evs[0].ConversationID, 1); d.Status != schema.StatusQueued {
		t.Fatalf("delivery %+v", d)
	}
	uploads := graph.requests("POST", "/v23.0/"+phoneID+"/media")
	if len(uploads) != 1 || uploads[0].Auth != "Bearer "+whatsappToken {
		t.Fatalf("uploads %+v", uploads)
	}
	_, params, _ := mime.ParseMediaType(uploads[0].ContentType)
	form, err := multipart.NewReader(strings.NewReader(string(uploads[0].Body)), params["boundary"]).ReadForm(1 << 20)
	if err != nil {
		t.Fatal(err)
	}
	f, _ := form.File["file"][0].Open()
	data := make([]byte, 64)
	n, _ := f.Read(data)
	if form.Value["messaging_product"][0] != "whatsapp" || form.Value["type"][0] != "image/jpeg" || string(data[:n]) != "\xff\xd8\xff photo" {
		t.Fatalf("upload form %v, file %q", form.Value, data[:n])
	}
	sends := graph.requests("POST", "/v23.0/"+phoneID+"/messages")
	jsonEqual(t, sends[0].Body, `{"messaging_product":"whatsapp","recipient_type":"individual","to":"16505551234","type":"image","image":{"id":"media1"}}`)
}

// TestTaggedRepliesAndAttachments: a Messenger reply with a stored attachment is uploaded as
// multipart with the HUMAN_AGENT tag; an Instagram reply with a URL attachment goes to the
// account's Send API with its own token.
func TestTaggedRepliesAndAttachments(t *testing.T) {
	graph := newFakeGraph(t)
	graph.media["label.jpg"] = []byte("\xff\xd8\xff cdn bytes")
	g := startGateway(t, graph)
	now := time.Now().UnixMilli()
	inbound := fmt.Sprintf(`{"object":"page","entry":[{"id":%q,"time":%d,"messaging":[{"sender":{"id":%q},"recipient":{"id":%q},"timestamp":%d,"message":{"mid":"m_photo","attachments":[{"type":"image","payload":{"url":%q}}]}}]}]}`,
		pageID, now, psid, pageID, now, graph.URL+"/cdn/label.jpg")
	conv := openConversation(t, g, []byte(inbound))
	stored := g.Events("sb.conv."+conv+".message", 1, 15*time.Second)[0].Message.Attachments[0]
	if stored.Key == "" {
		t.Fatalf("CDN image not fetched: %+v", stored)
	}
	reply(t, g, conv, map[string]any{"attachments": []schema.Attachment{{Key: stored.Key, Name: "label.jpg"}},
		"metadata": map[string]string{"messenger_tag": "HUMAN_AGENT"}})
	if d := delivery(t, g, conv, 1); d.Status != schema.StatusSent {
		t.Fatalf("delivery %+v", d)
	}
	up := graph.requests("POST", "/v23.0/"+pageID+"/messages")[0]
	_, params, _ := mime.ParseMediaType(up.ContentType)
	form, err := multipart.NewReader(strings.NewReader(string(up.Body)), params["boundary"]).ReadForm(1 << 20)
	if err != nil || up.Auth != "Bearer "+pageToken {
		t.Fatalf("upload %s %s: %v", up.Auth, up.ContentType, err)
	}
	if form.Value["recipient"][0] != `{"id":"`+psid+`"}` || form.Value["messaging_type"][0] != "MESSAGE_TAG" || form.Value["tag"][0] != "HUMAN_AGENT" ||
		form.Value["message"][0] != `{"attachment":{"type":"image","payload":{"is_reusable":false}}}` || form.File["filedata"][0].Filename != "label.jpg" {
		t.Fatalf("upload form %v", form.Value)
	}

	igIn := fmt.Sprintf(`{"object":"instagram","entry":[{"id":%q,"time":%d,"messaging":[{"sender":{"id":"1234567890123456"},"recipient":{"id":%q},"timestamp":%d,"message":{"mid":"aWdf_in","text":"size?"}}]}]}`,
		igID, now, igID, now)
	mustDeliver(t, g, []byte(igIn))
	igConv := g.Events("sb.conv.*.opened", 2, 15*time.Second)[1].ConversationID
	apptest.Eventually(t, 5*time.Second, func() error {
		if status, _ := g.Do("GET", "/v1/conversations/"+igConv, apptest.Token, nil); status != 200 {
			return fmt.Errorf("instagram conversation %s not stored yet", igConv)
		}
		return nil
	})
	reply(t, g, igConv, map[string]any{"text": "M and L", "attachments": []map[string]string{{"url": "https://cdn.example.com/sizes.png", "content_type": "image/png"}}})
	if d := delivery(t, g, igConv, 1); d.Status != schema.StatusSent {
		t.Fatalf("instagram delivery %+v", d)
	}
	sends := graph.requests("POST", "/v23.0/"+igID+"/messages")
	if len(sends) != 2 || sends[0].Auth != "Bearer IGQVig-token" {
		t.Fatalf("instagram sends %+v", sends)
	}
	jsonEqual(t, sends[0].Body, `{"recipient":{"id":"1234567890123456"},"messaging_type":"RESPONSE","message":{"text":"M and L"}}`)
	jsonEqual(t, sends[1].Body, `{"recipient":{"id":"1234567890123456"},"messaging_type":"RESPONSE","message":{"attachment":{"type":"image","payload":{"url":"https://cdn.example.com/sizes.png","is_reusable":false}}}}`)
}
