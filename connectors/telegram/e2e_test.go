package telegram_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/cmd/switchboard/app"
	"github.com/switchboardhq/switchboard/cmd/switchboard/app/apptest"
	"github.com/switchboardhq/switchboard/connectors/connectortest"
	"github.com/switchboardhq/switchboard/pipeline/streams"
	"github.com/switchboardhq/switchboard/schema"
)

const (
	botToken = "7000000001:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
	secret   = "s3cr3t-webhook_token"
	webhook  = "/v1/channels/telegram/acme-bot/webhook"
)

// telegramSection is appended to apptest's default config, under its channels.
const telegramSection = `
  telegram:
    api_url: %s
    timeout: 5s
    bots:
      acme-bot: {token: {env: TEST_TG_TOKEN}, secret_token: {env: TEST_TG_SECRET}}
`

func startGateway(t testing.TB, api *fakeBotAPI) *apptest.Gateway {
	t.Helper()
	t.Setenv("TEST_TG_TOKEN", botToken)
	t.Setenv("TEST_TG_SECRET", secret)
	return apptest.Start(t, apptest.DefaultConfig+fmt.Sprintf(telegramSection, api.URL))
}

func fixture(t *testing.T, name string) []byte { return connectortest.ReadFile(t, "testdata/"+name) }

func deliver(t *testing.T, g *apptest.Gateway, body []byte) []byte {
	t.Helper()
	status, resp := g.Do("POST", webhook, "", body, "X-Telegram-Bot-Api-Secret-Token", secret)
	if status != http.StatusOK {
		t.Fatalf("webhook answered %d: %s", status, resp)
	}
	return resp
}

func TestWebhookRefusesBadInput(t *testing.T) {
	g := startGateway(t, newFakeBotAPI(t, botToken))
	good := fixture(t, "text.json")
	cases := []struct {
		name, path, secret string
		body               []byte
		status             int
		code               string
	}{
		{"no secret", webhook, "", good, 403, "bad_secret_token"},
		{"wrong secret", webhook, "s3cr3t-webhook_tokem", good, 403, "bad_secret_token"},
		{"unknown bot", "/v1/channels/telegram/other-bot/webhook", secret, good, 404, "not_found"},
		{"malformed json", webhook, secret, good[:30], 400, "invalid_json"},
		{"no update_id", webhook, secret, []byte(`{"message":{"message_id":1}}`), 400, "invalid_field"},
		{"wrong type", webhook, secret, []byte(`{"update_id":"7"}`), 400, "invalid_field"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, body := g.Do("POST", c.path, "", c.body, "X-Telegram-Bot-Api-Secret-Token", c.secret)
			connectortest.ExpectError(t, status, body, c.status, c.code)
		})
	}
	if n := g.StreamCount(streams.StreamInbound, ""); n != 0 {
		t.Fatalf("refused requests published %d messages", n)
	}
	apptest.Eventually(t, 5*time.Second, func() error {
		if n := g.StreamCount(streams.StreamRejected, ""); n != 3 {
			return fmt.Errorf("%d forensic records, want 3", n)
		}
		return nil
	})
	status, _ := g.Do("GET", "/v1/channels/telegram/acme-bot/webhook", "", nil)
	if status != http.StatusMethodNotAllowed {
		t.Fatalf("GET webhook: %d", status)
	}
}

// TestUpdatesAreHandedOffOnce: Telegram's retry of an update stores nothing new; group chats
// and channel posts are acknowledged and ignored; a callback query is answered in the
// response once it is durable.
func TestUpdatesAreHandedOffOnce(t *testing.T) {
	g := startGateway(t, newFakeBotAPI(t, botToken))
	first := deliver(t, g, fixture(t, "text.json"))
	if again := deliver(t, g, fixture(t, "text.json")); !bytes.Equal(first, again) {
		t.Fatalf("retry answered %s, first %s", again, first)
	}
	for _, name := range []string{"group_message.json", "channel_post.json"} {
		if resp := deliver(t, g, fixture(t, name)); !bytes.Contains(resp, []byte("ignored")) {
			t.Fatalf("%s: %s", name, resp)
		}
	}
	resp := deliver(t, g, fixture(t, "callback_query.json"))
	var answer map[string]string
	_ = json.Unmarshal(resp, &answer)
	if !reflect.DeepEqual(answer, map[string]string{"method": "answerCallbackQuery", "callback_query_id": "4382bfdwdsb323b2d9"}) {
		t.Fatalf("callback query answer %s", resp)
	}
	if n := g.StreamCount(streams.StreamInbound, ""); n != 2 {
		t.Fatalf("SB_INBOUND holds %d messages, want 2", n)
	}
	evs := g.Events("sb.conv.*.message", 2, 15*time.Second)
	if evs[0].Message.Text != "Olá! Meu pedido não chegou 😕" || evs[1].Message.Kind != schema.KindAction ||
		evs[1].Message.Action.Payload != "csat:yes" || evs[0].ConversationID != evs[1].ConversationID {
		t.Fatalf("events:\n%s %+v", apptest.Sprint(evs), evs[1].Message)
	}
}

// TestRoundTrip: a photo is fetched with getFile into the object store; an agent's reply goes
// out with sendMessage and comes back as a delivery event; a block is a failed delivery that
// never shows the token; a 429 is retried after retry_after.
func TestRoundTrip(t *testing.T) {
	api := newFakeBotAPI(t, botToken)
	api.files["photos/AgACAgQAAxkBAAIBY2c-large.jpg"] = []byte("\xff\xd8\xff label photo")
	g := startGateway(t, api)
	deliver(t, g, fixture(t, "photo.json"))
	ev := g.Events("sb.conv.*.message", 1, 15*time.Second)[0]
	a := ev.Message.Attachments[0]
	if status, data := g.Do("GET", "/v1/attachments/"+a.Key, apptest.Token, nil); a.Key == "" || status != 200 || string(data) != "\xff\xd8\xff label photo" {
		t.Fatalf("photo not fetched: %+v (%d %q)", a, status, data)
	}
	conv := ev.ConversationID
	apptest.Eventually(t, 5*time.Second, func() error {
		if status, _ := g.Do("GET", "/v1/conversations/"+conv, apptest.Token, nil); status != 200 {
			return fmt.Errorf("conversation not stored yet")
		}
		return nil
	})

	reply := func(text string) string {
		status, resp := g.Do("POST", "/v1/conversations/"+conv+"/messages", apptest.Token, map[string]any{"text": text})
		if status != http.StatusAccepted {
			t.Fatalf("reply: %d %s", status, resp)
		}
		var r struct{ ID string }
		_ = json.Unmarshal(resp, &r)
		return r.ID
	}
	delivery := func(n int) *schema.Delivery {
		return g.Events("sb.conv."+conv+".delivery", n, 15*time.Second)[n-1].Delivery
	}
	id := reply("Thanks! A new one ships today.")
	d := delivery(1)
	sends := api.requests("sendMessage")
	if d.MessageID != id || d.Status != schema.StatusSent || len(sends) != 1 || d.ExternalID != fmt.Sprintf("1111111:%d", 5002) {
		t.Fatalf("delivery %+v after %d sends", d, len(sends))
	}
	var body map[string]string
	if err := json.Unmarshal(sends[0].Body, &body); err != nil || sends[0].ContentType != "application/json" ||
		!reflect.DeepEqual(body, map[string]string{"chat_id": "1111111", "text": "Thanks! A new one ships today."}) {
		t.Fatalf("sendMessage request %s %s", sends[0].ContentType, sends[0].Body)
	}

	api.setFail(func(string) (int, string) {
		return 403, `{"ok":false,"error_code":403,"description":"Forbidden: bot was blocked by the user"}`
	})
	reply("hello?")
	if d := delivery(2); d.Status != schema.StatusFailed || d.ErrorCode != "telegram_403" || !strings.Contains(d.ErrorMessage, "blocked") ||
		strings.Contains(d.ErrorMessage, "AAHdqTcv") {
		t.Fatalf("blocked: %+v", d)
	}
	var throttled atomic.Bool
	api.setFail(func(string) (int, string) {
		if throttled.CompareAndSwap(false, true) {
			return 429, `{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 1","parameters":{"retry_after":1}}`
		}
		return 0, ""
	})
	reply("one more thing")
	if d := delivery(3); d.Status != schema.StatusSent || d.Attempts != 2 {
		t.Fatalf("throttled: %+v", d)
	}
}

// TestExampleConfig keeps the commented telegram example in configs/switchboard.yaml valid.
func TestExampleConfig(t *testing.T) {
	t.Setenv("SWITCHBOARD_API_TOKEN", "x")
	t.Setenv("TELEGRAM_BOT_TOKEN", botToken)
	t.Setenv("TELEGRAM_WEBHOOK_SECRET", secret)
	c, err := app.ParseConfig("switchboard.yaml", connectortest.UncommentExample(t, "../../configs/switchboard.yaml", "telegram"))
	if err != nil {
		t.Fatal(err)
	}
	if tg := c.Channels.Telegram; tg == nil || tg.Bots["support"] == nil {
		t.Fatalf("telegram example: %+v", c.Channels.Telegram)
	}
}

// TestReplyWithFiles: text with sendMessage, a stored photo uploaded to sendPhoto as
// multipart, a PDF by URL with sendDocument; every part's id maps back to the reply.
func TestReplyWithFiles(t *testing.T) {
	api := newFakeBotAPI(t, botToken)
	api.files["photos/AgACAgQAAxkBAAIBY2c-large.jpg"] = []byte("\xff\xd8\xff label photo")
	g := startGateway(t, api)
	deliver(t, g, fixture(t, "photo.json"))
	ev := g.Events("sb.conv.*.message", 1, 15*time.Second)[0]
	stored := ev.Message.Attachments[0]
	apptest.Eventually(t, 5*time.Second, func() error {
		if status, _ := g.Do("GET", "/v1/conversations/"+ev.ConversationID, apptest.Token, nil); status != 200 || stored.Key == "" {
			return fmt.Errorf("conversation or photo not stored yet (%+v)", stored)
		}
		return nil
	})
	status, resp := g.Do("POST", "/v1/conversations/"+ev.ConversationID+"/messages", apptest.Token, map[string]any{
		"text": "Here you go", "attachments": []schema.Attachment{
			{Key: stored.Key, Name: "label.jpg", ContentType: "image/jpeg"},
			{URL: "https://files.example.com/guide.pdf", Name: "guide.pdf", ContentType: "application/pdf"}}})
	if status != http.StatusAccepted {
		t.Fatalf("reply: %d %s", status, resp)
	}
	d := g.Events("sb.conv."+ev.ConversationID+".delivery", 1, 15*time.Second)[0].Delivery
	if d.Status != schema.StatusSent {
		t.Fatalf("delivery %+v", d)
	}
	photo, doc := api.requests("sendPhoto"), api.requests("sendDocument")
	if len(api.requests("sendMessage")) != 1 || len(photo) != 1 || len(doc) != 1 {
		t.Fatalf("calls: %d sendMessage, %d sendPhoto, %d sendDocument", len(api.requests("sendMessage")), len(photo), len(doc))
	}
	req := &http.Request{Method: "POST", Header: http.Header{"Content-Type": {photo[0].ContentType}},
		Body: io.NopCloser(bytes.NewReader(photo[0].Body))}
	if err := req.ParseMultipartForm(1 << 20); err != nil {
		t.Fatal(err)
	}
	f, fh, _ := req.FormFile("photo")
	data, _ := io.ReadAll(f)
	if req.FormValue("chat_id") != "1111111" || fh.Filename != "label.jpg" || string(data) != "\xff\xd8\xff label photo" {
		t.Fatalf("sendPhoto form %v file %s %q", req.MultipartForm.Value, fh.Filename, data)
	}
	var body map[string]string
	if err := json.Unmarshal(doc[0].Body, &body); err != nil ||
		!reflect.DeepEqual(body, map[string]string{"chat_id": "1111111", "document": "https://files.example.com/guide.pdf"}) {
		t.Fatalf("sendDocument %s", doc[0].Body)
	}
}
