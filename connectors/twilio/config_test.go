package twilio

import (
	"strings"
	"testing"

	"github.com/switchboardhq/switchboard/configs/cfg"
	"github.com/switchboardhq/switchboard/connectors"
	"github.com/switchboardhq/switchboard/schema"
)

type configFile struct {
	Twilio Config `yaml:"twilio"`
}

func TestConfigErrorsAreLocated(t *testing.T) {
	t.Setenv("TW_TOKEN", testToken)
	src := `twilio:
  accounts:
    main:
      account_sid: AC123
      auth_token: {env: TW_TOKEN}
      numbers: ["+14155550100", "messenger:42", "call me"]
      messaging_service_sid: PN0123
      default_region: XX
      api_key_sid: SK0123456789abcdef0123456789abcdef
      public_url: gw.example.com
    "bad.name":
      account_sid: AC0123456789abcdef0123456789abcdef
      auth_token: {env: TW_MISSING_TOKEN}
      numbrs: []
`
	var c configFile
	_, err := cfg.Decode("switchboard.yaml", []byte(src), &c)
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	for _, want := range []string{
		"switchboard.yaml:4:20: twilio.accounts.main.account_sid: must be AC followed by 32 hex digits",
		"twilio.accounts.main.numbers[1]",
		"twilio.accounts.main.numbers[2]",
		"twilio.accounts.main.messaging_service_sid: must be MG",
		"twilio.accounts.main.default_region",
		"twilio.accounts.main.api_key_sid: give both",
		"twilio.accounts.main.public_url",
		"twilio.accounts.bad.name",
		"TW_MISSING_TOKEN",
		"numbrs",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("missing %q in:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, testToken) {
		t.Fatal("an error shows the auth token")
	}
}

func TestConfigMinimal(t *testing.T) {
	t.Setenv("TW_TOKEN", testToken)
	var c configFile
	src := "twilio:\n  accounts:\n    main: {account_sid: " + testSID + ", auth_token: {env: TW_TOKEN}, default_region: gb}\n"
	if _, err := cfg.Decode("x.yaml", []byte(src), &c); err != nil {
		t.Fatal(err)
	}
	a := compile("main", c.Twilio.Accounts["main"], "")
	if a.region != "GB" || len(a.keys) != 1 || !a.ours("sms", "+447911123456", "") {
		t.Fatalf("%+v", a)
	}
	if _, e164, _ := parseNumber("07911 123456", a.region); e164 != "+447911123456" {
		t.Fatalf("national number read as %s", e164)
	}
}

// Each account sends on sms and whatsapp under its own name, and fetches only its own media,
// so Meta's WhatsApp accounts (other names) can share the whatsapp channel.
func TestSendersAndMediaAreScopedToAccounts(t *testing.T) {
	c := New(Config{Accounts: map[string]*Account{"us": testAccount(), "eu": testAccount()}}, connectors.Host{})
	var got []string
	for _, s := range c.Senders() {
		got = append(got, string(s.Channel)+"/"+s.Account)
	}
	if strings.Join(got, ",") != "sms/eu,whatsapp/eu,sms/us,whatsapp/us" {
		t.Fatalf("senders %v", got)
	}
	if m := c.MediaAccounts(schema.ChannelWhatsApp); strings.Join(m, ",") != "eu,us" {
		t.Fatalf("media accounts %v", m)
	}
}
