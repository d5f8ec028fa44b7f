package telegram

import (
	"testing"

	"github.com/switchboardhq/switchboard/configs/cfg"
	"github.com/switchboardhq/switchboard/connectors/connectortest"
)

const (
	testAccount = "acme-bot"
	testBotID   = "7000000001"
	testToken   = testBotID + ":AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
	testSecret  = "s3cr3t-webhook_token"
)

func testConfig(apiURL string) Config {
	return Config{APIURL: apiURL, Bots: map[string]*Bot{testAccount: {
		Token: BotToken{cfg.NewSecret(testToken)}, SecretToken: WebhookSecret{cfg.NewSecret(testSecret)}}}}
}

func fixtures(t testing.TB) []string { return connectortest.Fixtures(t, "testdata") }

func readFile(t testing.TB, path string) []byte { return connectortest.ReadFile(t, path) }
