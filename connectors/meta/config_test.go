package meta

import (
	"strings"
	"testing"

	"github.com/switchboardhq/switchboard/configs/cfg"
)

func TestConfigErrorsAreLocated(t *testing.T) {
	t.Setenv("SECRET", "x")
	var doc struct {
		Meta Config `yaml:"meta"`
	}
	_, err := cfg.Decode("sb.yaml", []byte(`meta:
  api_version: "23"
  apps:
    one: {app_secret: {env: SECRET}, verify_token: {env: SECRET}}
    two: {app_secret: {env: SECRET}}
  messenger:
    "bad name": {app: one, page_id: "1", access_token: {env: SECRET}}
    p1: {page_id: "1", access_token: {env: SECRET}}
    p2: {app: three, page_id: "1", access_token: {env: SECRET}}
  whatsapp:
    w1: {app: one, phone_number_id: "+1555", access_token: {env: SECRET}}
`), &doc)
	if err == nil {
		t.Fatal("no errors")
	}
	for _, want := range []string{
		"sb.yaml:2:16: meta.api_version: must look like v23.0",
		"meta.apps.two.verify_token: is required",
		`meta.messenger.bad name: account names may hold only`,
		"meta.messenger.p1.app: is required when more than one app is configured",
		`meta.messenger.p2.app: no app "three"`,
		"meta.messenger.p2.page_id: 1 is also configured as",
		`meta.whatsapp.w1.phone_number_id: must be the numeric id Meta puts in webhooks, not "+1555"`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
}

func TestConfigSingleAppNeedsNoReference(t *testing.T) {
	t.Setenv("SECRET", "x")
	var doc struct {
		Meta Config `yaml:"meta"`
	}
	if _, err := cfg.Decode("sb.yaml", []byte(`meta:
  apps:
    only: {app_secret: {env: SECRET}, verify_token: {env: SECRET}}
  whatsapp:
    w1: {phone_number_id: "106540352242922", access_token: {env: SECRET}}
`), &doc); err != nil {
		t.Fatal(err)
	}
	c := New(doc.Meta, connectorsHost())
	if a := c.byName["whatsapp"]["w1"]; a == nil || a.app != "only" || a.token != "x" || a.api != DefaultGraphURL+"/"+DefaultAPIVersion {
		t.Fatalf("compiled account %+v", a)
	}
}
