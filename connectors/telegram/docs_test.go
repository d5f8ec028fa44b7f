package telegram

import (
	"testing"

	"github.com/switchboardhq/switchboard/configs/cfg"
	"github.com/switchboardhq/switchboard/connectors"
	"github.com/switchboardhq/switchboard/connectors/connectortest"
)

// The example on docs/channels/telegram.md must be a valid configuration.
func TestDocumentedConfigIsValid(t *testing.T) {
	t.Setenv("TELEGRAM_BOT_TOKEN", testToken)
	t.Setenv("TELEGRAM_WEBHOOK_SECRET", testSecret)
	var doc struct {
		Channels struct {
			Telegram *Config `yaml:"telegram"`
		} `yaml:"channels"`
	}
	if _, err := cfg.Decode("docs/channels/telegram.md", connectortest.DocExample(t, "../../docs/channels/telegram.md"), &doc); err != nil {
		t.Fatal(err)
	}
	if c := New(*doc.Channels.Telegram, connectors.Host{}); c.bots["support"] == nil || c.bots["support"].id != testBotID {
		t.Fatalf("bots from the documented example: %+v", c.bots)
	}
}
