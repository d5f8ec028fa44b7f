package telegram_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/cmd/switchboard/app/apptest"
)

// textUpdate is a private chat's text message from Ana (chat 1111111).
func textUpdate(id int, text string) []byte {
	return []byte(fmt.Sprintf(`{"update_id":%d,"message":{"message_id":%d,"from":{"id":1111111,"is_bot":false,"first_name":"Ana","language_code":"en"},"chat":{"id":1111111,"first_name":"Ana","type":"private"},"date":%d,"text":%q}}`,
		id, id, time.Now().Unix(), text))
}

// TestFlowOnTelegram runs the shipped triage flow: the menu is an inline keyboard (one
// button a row, the exact request checked), a tap's callback answers it, the invoice
// number is checked and the conversation is handed to billing with it.
func TestFlowOnTelegram(t *testing.T) {
	api := newFakeBotAPI(t, botToken)
	t.Setenv("TEST_TG_TOKEN", botToken)
	t.Setenv("TEST_TG_SECRET", secret)
	g := apptest.Start(t, apptest.DefaultConfig+fmt.Sprintf(telegramSection, api.URL)+apptest.ShippedFlows(t, "[{id: ann, skills: [general, billing]}]"))
	deliver(t, g, textUpdate(483930001, "hello"))
	sent := func(n int) map[string]any {
		t.Helper()
		var body map[string]any
		apptest.Eventually(t, 15*time.Second, func() error {
			calls := api.requests("sendMessage")
			if len(calls) < n {
				return fmt.Errorf("%d sendMessage calls, want %d", len(calls), n)
			}
			return json.Unmarshal(calls[n-1].Body, &body)
		})
		return body
	}
	if hello := sent(1); hello["text"] != `Hi Ana, this is the Acme assistant. Type "agent" at any time to talk to a person.` {
		t.Fatalf("hello: %v", hello)
	}
	menu, _ := json.Marshal(sent(2))
	want := `{"chat_id":"1111111","reply_markup":{"inline_keyboard":[[{"callback_data":"flow:billing","text":"Billing"}],[{"callback_data":"flow:technical","text":"Technical problem"}],[{"callback_data":"flow:order","text":"Where is my order?"}],[{"callback_data":"flow:other","text":"Something else"}]]},"text":"What can I help you with?"}`
	if string(menu) != want {
		t.Fatalf("the menu request:\n%s\nwant\n%s", menu, want)
	}
	conv := g.Events("sb.conv.*.opened", 1, 15*time.Second)[0].ConversationID
	tap := fmt.Sprintf(`{"update_id":483930002,"callback_query":{"id":"cbq-f1","from":{"id":1111111,"is_bot":false,"first_name":"Ana"},"message":{"message_id":5002,"from":{"id":7000000001,"is_bot":true,"first_name":"Acme"},"chat":{"id":1111111,"type":"private"},"date":%d,"text":"What can I help you with?"},"chat_instance":"-1","data":"flow:billing"}}`, time.Now().Unix())
	deliver(t, g, []byte(tap))
	if ask := sent(3); ask["text"] != "What is your invoice number? (INV- and 6 digits)" {
		t.Fatalf("after the tap: %v", ask)
	}
	deliver(t, g, textUpdate(483930003, "it is 123"))
	if again := sent(4); again["text"] != "That does not look like an invoice number: INV- and 6 digits, e.g. INV-123456." {
		t.Fatalf("after a bad number: %v", again)
	}
	deliver(t, g, textUpdate(483930004, "inv-654321 "))
	deliver(t, g, textUpdate(483930005, "INV-654321"))
	h := g.Events("sb.conv."+conv+".flow_handoff", 1, 15*time.Second)[0]
	if h.Flow.Queue != "billing" || h.Flow.Answers["invoice"] != "INV-654321" {
		t.Fatalf("hand-off %+v", h.Flow)
	}
	if q := g.Events("sb.conv."+conv+".queued", 1, 15*time.Second)[0]; q.Routing.Queue != "billing" || q.Reason == "" {
		t.Fatalf("queued %+v", q.Routing)
	}
}
