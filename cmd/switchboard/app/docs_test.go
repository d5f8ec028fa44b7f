package app_test

import (
	"errors"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/switchboardhq/switchboard/cmd/switchboard/app"
	"github.com/switchboardhq/switchboard/cmd/switchboard/app/apptest"
	"github.com/switchboardhq/switchboard/configs/cfg"
)

// The configuration reference in docs/configuration.md must name real settings with the right
// types: decode it strictly and allow only semantic complaints (unset environment variables,
// embedded and url together), never unknown fields or type errors.
func TestConfigurationReferenceMatchesTheCode(t *testing.T) {
	doc, err := os.ReadFile("../../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	block := regexp.MustCompile("(?s)## Reference\\s*```yaml\\n(.*?)```").FindSubmatch(doc)
	if block == nil {
		t.Fatal("no yaml block under ## Reference")
	}
	var lines []string
	for _, l := range strings.Split(string(block[1]), "\n") {
		if !strings.Contains(l, "…") { // channel sections are documented on their own pages
			lines = append(lines, l)
		}
	}
	_, err = app.ParseConfig("docs/configuration.md", []byte(strings.Join(lines, "\n")))
	var es cfg.Errors
	if err != nil && !errors.As(err, &es) {
		t.Fatal(err)
	}
	for _, e := range es {
		if strings.Contains(e.Msg, "unknown field") || strings.Contains(e.Msg, "expected") || strings.Contains(e.Msg, "invalid") {
			t.Errorf("reference out of date: %v", e)
		}
	}
}

// The example config must load (with its environment variable set).
func TestExampleConfigLoads(t *testing.T) {
	t.Setenv("SWITCHBOARD_API_TOKEN", "x")
	if _, err := app.LoadConfig("../../../configs/switchboard.yaml"); err != nil {
		t.Fatal(err)
	}
}

// docs/configuration.md is generated from the config types (their doc comments and default
// tags): it must be what `go generate ./cmd/switchboard/app` writes now.
func TestConfigurationDocIsGenerated(t *testing.T) {
	want, err := app.ConfigurationDoc("../../..")
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("../../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Fatal("docs/configuration.md is out of date: run `go generate ./cmd/switchboard/app` and commit the result")
	}
}

// Every default declared in a tag decodes, for every section and channel.
func TestEveryDefaultTagDecodes(t *testing.T) {
	t.Setenv("APPTEST_TOKEN", apptest.Token)
	yaml := apptest.DefaultConfig
	c, err := app.ParseConfig("defaults.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	if c.Pipeline.Partitions != 4 || c.Pipeline.MaxAttempts != 20 || c.HTTP.Listen != "127.0.0.1:8080" ||
		c.Channels.API.Accounts["demo"].MaxBody != 1<<20 || c.HTTP.RateLimits.Channels[0] != "api" {
		t.Fatalf("defaults not applied: %+v", c)
	}
	if err := cfg.CheckDefaults(reflect.TypeFor[app.Config]()); err != nil {
		t.Fatal(err)
	}
}
