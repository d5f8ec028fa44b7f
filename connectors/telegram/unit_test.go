package telegram

import (
	"net"
	"strings"
	"testing"

	"github.com/switchboardhq/switchboard/configs/cfg"
	"github.com/switchboardhq/switchboard/connectors"
	"github.com/switchboardhq/switchboard/schema"
)

func TestConfigChecksTokenShapesWithoutPrintingThem(t *testing.T) {
	t.Setenv("BAD_TOKEN", "not-a-token-value")
	t.Setenv("BAD_SECRET", "has spaces!")
	t.Setenv("GOOD_TOKEN", testToken)
	var doc struct {
		Telegram Config `yaml:"telegram"`
	}
	_, err := cfg.Decode("sb.yaml", []byte(`telegram:
  api_url: "ftp://x"
  bots:
    bad: {token: {env: BAD_TOKEN}, secret_token: {env: BAD_SECRET}}
    "no good": {token: {env: GOOD_TOKEN}}
`), &doc)
	if err == nil {
		t.Fatal("no errors")
	}
	for _, want := range []string{
		"sb.yaml:2:12: telegram.api_url: must be an absolute http(s) URL",
		"telegram.bots.bad.token: is not a bot token",
		"telegram.bots.bad.secret_token: must be 1-256 characters",
		"telegram.bots.no good: account names may hold only",
		"telegram.bots.no good.secret_token: is required",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
	for _, secret := range []string{"not-a-token-value", "has spaces!", testToken} {
		if strings.Contains(err.Error(), secret) {
			t.Fatalf("an error shows a secret: %v", err)
		}
	}
}

func TestBotIDComesFromTheToken(t *testing.T) {
	c := New(testConfig(""), connectors.Host{})
	if b := c.bots[testAccount]; b.id != testBotID || c.api != DefaultAPIURL {
		t.Fatalf("bot %+v api %s", b, c.api)
	}
}

// TestErrorsNeverShowTheToken: the token is in every Bot API URL, and net/http quotes URLs
// in its errors; what reaches logs and delivery events must not contain it.
func TestErrorsNeverShowTheToken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now: connection refused
	c := New(testConfig("http://"+addr), connectors.Host{})
	s := &sender{c: c, bot: c.bots[testAccount]}
	_, err = s.Send(t.Context(), &schema.Message{ID: "msg_1", Text: "hi", To: []schema.Address{{Kind: "telegram", Value: testBotID + ":42"}}})
	if _, temp := connectors.IsTemporary(err); !temp || strings.Contains(err.Error(), "AAHdqTcv") || !strings.Contains(err.Error(), "<token>") {
		t.Fatalf("unreachable API: %v", err)
	}
	_, _, err = c.FetchMedia(t.Context(), testAccount, &schema.Attachment{URL: FileScheme + "abc"})
	if err == nil || strings.Contains(err.Error(), "AAHdqTcv") {
		t.Fatalf("media fetch: %v", err)
	}
}

func TestSenderRefusesOtherBotsUsers(t *testing.T) {
	c := New(testConfig("http://127.0.0.1:1"), connectors.Host{})
	s := &sender{c: c, bot: c.bots[testAccount]}
	for _, to := range []schema.Address{{Kind: "telegram", Value: "999:42"}, {Kind: "phone", Value: "+1555"}, {Kind: "telegram", Value: testBotID + ":x"}} {
		_, err := s.Send(t.Context(), &schema.Message{ID: "msg_2", Text: "hi", To: []schema.Address{to}})
		if pe, ok := err.(*connectors.PermanentError); !ok || pe.Code != "bad_recipient" {
			t.Fatalf("%+v: %v", to, err)
		}
	}
}
