package meta

import (
	"testing"

	"github.com/switchboardhq/switchboard/configs/cfg"
	"github.com/switchboardhq/switchboard/connectors"
	"github.com/switchboardhq/switchboard/connectors/connectortest"
)

// Test identities, the same as the fixtures'.
const (
	testApp      = "acme"
	testSecret   = "7d3f9c2b1e8a4f6d5c0b9a8e7f6d5c4b"
	testVerify   = "verify-me-please"
	testPageID   = "104060651234567"
	testIGID     = "17841400000000001"
	testPhoneID  = "106540352242922"
	testPSID     = "6900123456789012"
	testWaID     = "16505551234"
	pageToken    = "EAAGpage-token"
	igToken      = "IGQVig-token"
	whatsappTok  = "EAAGwa-token"
	pageAccount  = "acme-page"
	igAccount    = "acme-ig"
	phoneAccount = "acme-wa"
)

func testConfig(graphURL string) Config {
	return Config{
		GraphURL:  graphURL,
		Apps:      map[string]*App{testApp: {AppSecret: cfg.NewSecret(testSecret), VerifyToken: cfg.NewSecret(testVerify)}},
		Messenger: map[string]*Page{pageAccount: {PageID: testPageID, AccessToken: cfg.NewSecret(pageToken)}},
		Instagram: map[string]*Instagram{igAccount: {AccountID: testIGID, AccessToken: cfg.NewSecret(igToken)}},
		WhatsApp:  map[string]*WhatsApp{phoneAccount: {PhoneNumberID: testPhoneID, AccessToken: cfg.NewSecret(whatsappTok)}},
	}
}

func fixtures(t testing.TB) []string { return connectortest.Fixtures(t, "testdata") }

func readFile(t testing.TB, path string) []byte { return connectortest.ReadFile(t, path) }

func connectorsHost() connectors.Host { return connectors.Host{} }
