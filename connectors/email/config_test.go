package email

import (
	"strings"
	"testing"

	"github.com/switchboardhq/switchboard/configs/cfg"
)

type wrapper struct {
	Email Config `yaml:"email"`
}

func TestConfigDefaultsAndSecrets(t *testing.T) {
	t.Setenv("IMAP_PW", "imap-secret")
	t.Setenv("MSGID", "k")
	var w wrapper
	_, err := cfg.Decode("t.yaml", []byte(`
email:
  accounts:
    support:
      address: support@example.com
      message_id_secret: {env: MSGID}
      imap:
        host: imap.example.com
        password: {env: IMAP_PW}
`), &w)
	if err != nil {
		t.Fatal(err)
	}
	a := w.Email.Accounts["support"]
	if a.IMAP.Password.Value() != "imap-secret" || a.IMAP.port(993, 143) != 993 || a.IMAP.folders()[0] != "INBOX" ||
		!a.IMAP.useIdle() || a.limits().attachments != 20 || a.IMAP.username(a) != "support@example.com" {
		t.Fatalf("defaults: %+v", a.IMAP)
	}
	if s := newDialer(&a.IMAP.Server, 993, 143); !s.implicit || s.addr != "imap.example.com:993" {
		t.Fatalf("dialer %+v", s)
	}
}

func TestConfigErrorsAreLocated(t *testing.T) {
	t.Setenv("PW", "x")
	var w wrapper
	_, err := cfg.Decode("t.yaml", []byte(`
email:
  accounts:
    bad.name:
      address: not an address
      imap:
        host: imap.example.com
        tls: none
        foldrs: [INBOX]
        after_ingest: move
      smtp:
        host: smtp.example.com
        auth: xoauth2
        password: {env: PW}
`), &w)
	if err == nil {
		t.Fatal("a bad config was accepted")
	}
	msg := err.Error()
	for _, want := range []string{
		`t.yaml:4:`, "account names may hold only",
		"address: must be a plain email address",
		"tls: none is allowed only for loopback",
		`unknown field "foldrs"`,
		"move_to: is required",
		"imap.password: is required",
		"message_id_secret: is required with smtp",
		"smtp.oauth2: is required",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error does not mention %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "x\n") || strings.Contains(msg, `"x"`) {
		t.Errorf("a secret leaked into the error:\n%s", msg)
	}
}
