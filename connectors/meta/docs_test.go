package meta

import (
	"testing"

	"github.com/switchboardhq/switchboard/configs/cfg"
	"github.com/switchboardhq/switchboard/connectors/connectortest"
)

// The example on docs/channels/meta.md must be a valid configuration.
func TestDocumentedConfigIsValid(t *testing.T) {
	for _, env := range []string{"META_APP_SECRET", "META_VERIFY_TOKEN", "META_PAGE_TOKEN", "META_IG_TOKEN", "META_WA_TOKEN"} {
		t.Setenv(env, "x")
	}
	var doc struct {
		Channels struct {
			Meta *Config `yaml:"meta"`
		} `yaml:"channels"`
	}
	if _, err := cfg.Decode("docs/channels/meta.md", connectortest.DocExample(t, "../../docs/channels/meta.md"), &doc); err != nil {
		t.Fatal(err)
	}
	if c := New(*doc.Channels.Meta, connectorsHost()); len(c.Senders()) != 3 {
		t.Fatalf("%d senders from the documented example, want 3", len(c.Senders()))
	}
}
