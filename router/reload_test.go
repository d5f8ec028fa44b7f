package router

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/zap"

	"github.com/switchboardhq/switchboard/router/rules"
)

// A bad rules file on disk keeps the rules in force, and a roster change meanwhile is
// compiled with the rules in force, not with the bad file; the file's reload stays failed.
func TestRosterChangeWhileTheRulesFileIsBad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rules.yaml")
	good := "queues: {billing: {skills: [billing]}}\ndefault_queue: billing\n"
	if err := os.WriteFile(path, []byte(good), 0o600); err != nil {
		t.Fatal(err)
	}
	roster := rules.NewLiveRoster(nil, nil, nil, true)
	h, err := NewRulesHolder(path, roster, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("queues: {billing: {strategy: fastest}}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Reload(); err == nil {
		t.Fatal("a bad file reloaded")
	}
	dana := rules.NewLiveRoster(nil, []rules.AgentConfig{{ID: "dana", Skills: []string{"billing"}}}, nil, true)
	rs, err := h.UseRoster(dana)
	if err != nil {
		t.Fatalf("a roster change while the file is bad: %v", err)
	}
	if _, ok := rs.Roster().Lookup("dana"); !ok || !rs.Queue("billing") || len(rs.Warnings) != 0 {
		t.Fatalf("rules after the roster change: %+v", rs)
	}
	if ok, err := h.Status(); ok || err == nil || !strings.Contains(err.Error(), "fastest") {
		t.Fatalf("status after the roster change: %v %v", ok, err)
	}
	// A config reload reads the file: still bad, so it fails and changes nothing.
	if _, err := h.ReloadWith(roster); err == nil {
		t.Fatal("a config reload took the bad file")
	}
	if _, ok := h.Current().Roster().Lookup("dana"); !ok {
		t.Fatal("the failed config reload changed the roster")
	}
}
