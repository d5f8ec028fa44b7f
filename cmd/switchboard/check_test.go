package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// captureStderr runs f with os.Stderr redirected and returns what it wrote.
func captureStderr(t *testing.T, f func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stderr
	os.Stderr = w
	done := make(chan string)
	go func() { b, _ := io.ReadAll(r); done <- string(b) }()
	f()
	os.Stderr = old
	w.Close()
	return <-done
}

func TestCheckReportsEveryErrorWithLocation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.yaml")
	err := os.WriteFile(path, []byte(`log: {level: loud}
http:
  listen: nowhere
channels:
  api:
    accounts:
      "bad name": {token: {env: CHECK_TEST_UNSET}}
      ok: {tokn: {env: X}}
pipeline:
  retention: {inbound: 1000h, messages: 720h, outbox: 1h}
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	var code int
	out := captureStderr(t, func() { code = run(context.Background(), []string{"check", "--config", path}) })
	if code != 1 {
		t.Fatalf("exit %d, want 1; output:\n%s", code, out)
	}
	for _, want := range []string{
		path + `:1:14: log.level: must be debug, info, warn or error, not "loud"`,
		path + ":3:11: http.listen: must be host:port",
		path + `:7:7: channels.api.accounts.bad name: account names may hold only letters, digits, - and _`,
		path + `:7:33: channels.api.accounts.bad name.token.env: environment variable CHECK_TEST_UNSET is not set`,
		path + `:8:12: channels.api.accounts.ok.tokn: unknown field "tokn"; did you mean "token"?`,
		path + `:8:7: channels.api.accounts.ok.token: is required`,
		path + `:10:41: pipeline.retention.messages: must be at least retention.inbound (1000h)`,
		path + `:10:55: pipeline.retention.outbox: must be at least retention.dead_letter (720h)`,
		path + `:10:55: pipeline.retention.outbox: must be at least retention.outbound (168h)`,
		"error(s)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
}

func TestCheckAcceptsTheExampleConfig(t *testing.T) {
	t.Setenv("SWITCHBOARD_API_TOKEN", "x")
	if code := run(context.Background(), []string{"check", "--config", "../../configs/switchboard.yaml"}); code != 0 {
		t.Fatalf("exit %d", code)
	}
}

// TestCheckWithoutTheSecrets: a config can be linted in CI or on a laptop without the
// production secrets: unset variables are warnings (errors with --require-secrets), and the
// shipped routing cases pass without the token.
func TestCheckWithoutTheSecrets(t *testing.T) {
	t.Setenv("SWITCHBOARD_API_TOKEN", "") // empty counts as not set
	var code int
	out := captureStderr(t, func() {
		code = run(context.Background(), []string{"check", "--config", "../../configs/switchboard.yaml"})
	})
	if code != 0 || !strings.Contains(out, "warning: ") || !strings.Contains(out, "environment variable SWITCHBOARD_API_TOKEN is not set") {
		t.Fatalf("exit %d, want 0 with a warning:\n%s", code, out)
	}
	out = captureStderr(t, func() {
		code = run(context.Background(), []string{"check", "--require-secrets", "--config", "../../configs/switchboard.yaml"})
	})
	if code != 1 || !strings.Contains(out, "error: ") || !strings.Contains(out, "SWITCHBOARD_API_TOKEN is not set") {
		t.Fatalf("--require-secrets: exit %d, want 1:\n%s", code, out)
	}
	out = captureStderr(t, func() {
		code = run(context.Background(), []string{"rules", "test", "--config", "../../configs/switchboard.yaml", "../../configs/rules.cases.yaml"})
	})
	if code != 0 {
		t.Fatalf("rules test without the token: exit %d\n%s", code, out)
	}
}

// TestCheckReportsConfigAndRulesErrorsTogether: a config error does not hide the rules file's.
func TestCheckReportsConfigAndRulesErrorsTogether(t *testing.T) {
	dir := t.TempDir()
	rules := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(rules, []byte("queues: {general: {skills: [general]}}\nrules:\n  - {name: r, targets: [{queue: nowhere}]}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "switchboard.yaml")
	if err := os.WriteFile(conf, []byte("log: {level: loud}\nrouter:\n  rules_file: rules.yaml\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var code int
	out := captureStderr(t, func() { code = run(context.Background(), []string{"check", "--config", conf}) })
	if code != 1 || !strings.Contains(out, conf+":1:") || !strings.Contains(out, rules+":3:") {
		t.Fatalf("exit %d, want 1 naming both files:\n%s", code, out)
	}
}

func TestCheckLocatesUnknownInsightHoursAndZone(t *testing.T) {
	dir := t.TempDir()
	rules := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(rules, []byte("queues: {general: {}}\ndefault_queue: general\nbusiness_hours:\n  office: {weekly: {mon-fri: [\"09:00-17:00\"]}}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "switchboard.yaml")
	if err := os.WriteFile(conf, []byte("router:\n  rules_file: rules.yaml\ninsight:\n  business_hours: ofice\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var code int
	out := captureStderr(t, func() { code = run(context.Background(), []string{"check", "--config", conf}) })
	if code != 1 || !strings.Contains(out, conf+":4:19") || !strings.Contains(out, `unknown business hours "ofice"`) || !strings.Contains(out, "office") {
		t.Fatalf("exit %d, want 1 locating insight.business_hours:\n%s", code, out)
	}
	if err := os.WriteFile(conf, []byte("insight:\n  timezone: Mars/Olympus\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out = captureStderr(t, func() { code = run(context.Background(), []string{"check", "--config", conf}) })
	if code != 1 || !strings.Contains(out, conf+":2:13") || !strings.Contains(out, "Mars/Olympus") {
		t.Fatalf("exit %d, want 1 locating insight.timezone:\n%s", code, out)
	}
}

func TestCheckRefusesSLATargetsLongerThanTheTimersAreKept(t *testing.T) {
	dir := t.TempDir()
	rules := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(rules, []byte("queues: {general: {}}\ndefault_queue: general\nsla:\n  - {name: slow, targets: {resolution: 240h}}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "switchboard.yaml")
	if err := os.WriteFile(conf, []byte("router:\n  rules_file: rules.yaml\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var code int
	out := captureStderr(t, func() { code = run(context.Background(), []string{"check", "--config", conf}) })
	if code != 1 || !strings.Contains(out, "sla[0].targets.resolution: 240h0m0s") || !strings.Contains(out, "pipeline.retention.route (168h0m0s)") {
		t.Fatalf("exit %d, want 1 naming the target:\n%s", code, out)
	}
	if err := os.WriteFile(conf, []byte("router:\n  rules_file: rules.yaml\npipeline:\n  retention: {route: 720h}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out = captureStderr(t, func() { code = run(context.Background(), []string{"check", "--config", conf}) })
	if code != 0 {
		t.Fatalf("with a month of route retention: exit %d\n%s", code, out)
	}
}
