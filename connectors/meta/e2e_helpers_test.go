package meta_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/cmd/switchboard/app"
	"github.com/switchboardhq/switchboard/cmd/switchboard/app/apptest"
	"github.com/switchboardhq/switchboard/connectors/connectortest"
	"github.com/switchboardhq/switchboard/schema"
)

// The identities of the fixtures in testdata.
const (
	appSecret     = "7d3f9c2b1e8a4f6d5c0b9a8e7f6d5c4b"
	verifyToken   = "verify-me-please"
	pageID        = "104060651234567"
	igID          = "17841400000000001"
	phoneID       = "106540352242922"
	psid          = "6900123456789012"
	pageToken     = "EAAGpage-token"
	whatsappToken = "EAAGwa-token"
	webhook       = "/v1/channels/meta/acme/webhook"
)

// metaSection is appended to apptest's default config, under its channels.
const metaSection = `
  meta:
    graph_url: %s
    timeout: 5s
    apps:
      acme: {app_secret: {env: TEST_META_APP_SECRET}, verify_token: {env: TEST_META_VERIFY_TOKEN}}
    messenger:
      acme-page: {page_id: "104060651234567", access_token: {env: TEST_META_PAGE_TOKEN}}
    instagram:
      acme-ig: {account_id: "17841400000000001", access_token: {env: TEST_META_IG_TOKEN}}
    whatsapp:
      acme-wa: {phone_number_id: "106540352242922", access_token: {env: TEST_META_WA_TOKEN}}
`

// startGateway runs a whole gateway whose Graph API is the fake.
func startGateway(t testing.TB, graph *fakeGraph) *apptest.Gateway {
	t.Helper()
	for k, v := range map[string]string{"TEST_META_APP_SECRET": appSecret, "TEST_META_VERIFY_TOKEN": verifyToken,
		"TEST_META_PAGE_TOKEN": pageToken, "TEST_META_IG_TOKEN": "IGQVig-token", "TEST_META_WA_TOKEN": whatsappToken} {
		t.Setenv(k, v)
	}
	return apptest.Start(t, apptest.DefaultConfig+fmt.Sprintf(metaSection, graph.URL))
}

// sign computes X-Hub-Signature-256 the documented way, independently of the connector:
// "sha256=" + hex(HMAC-SHA256(app secret, body)).
func sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// deliver posts a webhook body signed with the app secret.
func deliver(g *apptest.Gateway, body []byte) (int, []byte) {
	g.T.Helper()
	return g.Do("POST", webhook, "", body, "X-Hub-Signature-256", sign(appSecret, body))
}

func fixture(t *testing.T, name string) []byte { return connectortest.ReadFile(t, "testdata/"+name) }

type receipt struct {
	Messages, Duplicates, Statuses, Ignored int
}

func mustDeliver(t *testing.T, g *apptest.Gateway, body []byte) receipt {
	t.Helper()
	status, resp := deliver(g, body)
	if status != http.StatusOK {
		t.Fatalf("webhook answered %d: %s", status, resp)
	}
	var r receipt
	if err := json.Unmarshal(resp, &r); err != nil {
		t.Fatalf("receipt %s: %v", resp, err)
	}
	return r
}

// reply posts an agent's reply through the REST API and returns its message id.
func reply(t *testing.T, g *apptest.Gateway, conv string, body map[string]any) string {
	t.Helper()
	status, resp := g.Do("POST", "/v1/conversations/"+conv+"/messages", apptest.Token, body)
	if status != http.StatusAccepted {
		t.Fatalf("reply: %d %s", status, resp)
	}
	var r struct{ ID string }
	_ = json.Unmarshal(resp, &r)
	return r.ID
}

// delivery waits for the n-th delivery event of a conversation.
func delivery(t *testing.T, g *apptest.Gateway, conv string, n int) *schema.Delivery {
	t.Helper()
	evs := g.Events("sb.conv."+conv+".delivery", n, 15*time.Second)
	return evs[n-1].Delivery
}

// messagePayload is a Messenger text message from psid, at now, as Meta sends it.
func messagePayload(mid, text string) []byte {
	return []byte(fmt.Sprintf(`{"object":"page","entry":[{"id":%q,"time":%d,"messaging":[{"sender":{"id":%q},"recipient":{"id":%q},"timestamp":%d,"message":{"mid":%q,"text":%q}}]}]}`,
		pageID, time.Now().UnixMilli(), psid, pageID, time.Now().UnixMilli(), mid, text))
}

// TestExampleConfig keeps the commented meta example in configs/switchboard.yaml valid.
func TestExampleConfig(t *testing.T) {
	for _, v := range []string{"SWITCHBOARD_API_TOKEN", "META_APP_SECRET", "META_VERIFY_TOKEN", "META_PAGE_TOKEN", "META_WA_TOKEN"} {
		t.Setenv(v, "x")
	}
	c, err := app.ParseConfig("switchboard.yaml", connectortest.UncommentExample(t, "../../configs/switchboard.yaml", "meta"))
	if err != nil {
		t.Fatal(err)
	}
	if m := c.Channels.Meta; m == nil || len(m.Messenger)+len(m.Instagram)+len(m.WhatsApp) != 3 {
		t.Fatalf("meta example: %+v", c.Channels.Meta)
	}
}
