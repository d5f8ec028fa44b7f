package telegram_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/cmd/switchboard/app/apptest"
	"github.com/switchboardhq/switchboard/schema"
)

const surveyRules = `
queues: {general: {}}
default_queue: general
surveys:
  - name: nps
    kind: nps
    text:
      en: {}
      tr: {question: "Bizi bir arkadaşınıza tavsiye eder misiniz?"}
`

// TestNPSSurveyOnTelegram: an NPS survey in the customer's language (their language
// attribute says Turkish) is an inline keyboard of 0–10; the tap's callback answers it and is
// acknowledged to Telegram; the report's NPS is computed from that one promoter.
func TestNPSSurveyOnTelegram(t *testing.T) {
	api := newFakeBotAPI(t, botToken)
	t.Setenv("TEST_TG_TOKEN", botToken)
	t.Setenv("TEST_TG_SECRET", secret)
	rules := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(rules, []byte(surveyRules), 0o600); err != nil {
		t.Fatal(err)
	}
	g := apptest.Start(t, apptest.DefaultConfig+fmt.Sprintf(telegramSection, api.URL)+
		fmt.Sprintf("router:\n  agents: [{id: ann}]\n  rules_file: %s\n", rules))

	deliver(t, g, fixture(t, "text.json"))
	opened := g.Events("sb.conv.*.opened", 1, 15*time.Second)[0]
	conv, cust := opened.ConversationID, opened.CustomerID
	if st, body := g.Do("PATCH", "/v1/customers/"+cust, apptest.Token, map[string]any{"attributes": map[string]string{"language": "tr"}}); st != 200 {
		t.Fatalf("set language: %d %s", st, body)
	}
	if st, body := g.Do("POST", "/v1/conversations/"+conv+"/resolve", apptest.Token, nil); st != 202 {
		t.Fatalf("resolve: %d %s", st, body)
	}
	sent := g.Events("sb.conv."+conv+".survey_sent", 1, 15*time.Second)[0].Survey
	if sent.Kind != schema.SurveyNPS || sent.Language != "tr" {
		t.Fatalf("survey_sent %+v", sent)
	}
	var req struct {
		ChatID      string `json:"chat_id"`
		Text        string `json:"text"`
		ReplyMarkup struct {
			InlineKeyboard [][]struct {
				Text         string `json:"text"`
				CallbackData string `json:"callback_data"`
			} `json:"inline_keyboard"`
		} `json:"reply_markup"`
	}
	apptest.Eventually(t, 15*time.Second, func() error {
		calls := api.requests("sendMessage")
		if len(calls) == 0 {
			return fmt.Errorf("no sendMessage yet")
		}
		return json.Unmarshal(calls[0].Body, &req)
	})
	kb := req.ReplyMarkup.InlineKeyboard
	if req.ChatID != "1111111" || req.Text != "Bizi bir arkadaşınıza tavsiye eder misiniz?" || len(kb) != 2 || len(kb[0]) != 6 || len(kb[1]) != 5 ||
		kb[0][0].Text != "0" || kb[1][4].Text != "10" || kb[1][3].CallbackData != "survey:"+sent.ID+":9" {
		t.Fatalf("sendMessage %+v", req)
	}
	tap := fmt.Sprintf(`{"update_id":483920099,"callback_query":{"id":"cbq-1","from":{"id":1111111,"is_bot":false,"first_name":"Ana"},"message":{"message_id":5001,"from":{"id":7000000001,"is_bot":true,"first_name":"Acme"},"chat":{"id":1111111,"type":"private"},"date":%d,"text":"x"},"chat_instance":"-1","data":"survey:%s:9"}}`,
		time.Now().Unix(), sent.ID)
	if resp := deliver(t, g, []byte(tap)); !json.Valid(resp) || string(resp) == "" || !strings.Contains(string(resp), "answerCallbackQuery") {
		t.Fatalf("webhook answer %s, want answerCallbackQuery", resp)
	}
	ans := g.Events("sb.conv."+conv+".survey_answered", 1, 15*time.Second)[0].Survey
	if *ans.Score != 9 || ans.Source != "button" || ans.Channel != schema.ChannelTelegram {
		t.Fatalf("answer %+v", ans)
	}
	// One answer, a promoter: NPS = 100 × (1 − 0) ÷ 1.
	apptest.Eventually(t, 15*time.Second, func() error {
		st, raw := g.Do("GET", "/v1/reports/surveys", apptest.Token, nil)
		var rep struct {
			Rows []struct {
				NPS struct {
					Sent, Answers, Promoters int64
					Score                    *float64 `json:"nps"`
				}
			}
		}
		if st != 200 || json.Unmarshal(raw, &rep) != nil || len(rep.Rows) != 1 {
			return fmt.Errorf("report %d %s", st, raw)
		}
		if n := rep.Rows[0].NPS; n.Sent != 1 || n.Answers != 1 || n.Promoters != 1 || n.Score == nil || *n.Score != 100 {
			return fmt.Errorf("nps %+v", n)
		}
		return nil
	})
}
