package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/schema"
)

// slaEventsOf reads the SLA events on the conversation stream of a running gateway.
func slaEventsOf(t *testing.T, g *gateway) []*schema.Event {
	t.Helper()
	return eventsOf(t, g, "sb.conv.*.sla_applied", "sb.conv.*.sla_warning", "sb.conv.*.sla_breached", "sb.conv.*.sla_satisfied")
}

// TestSLATimersSurviveKill9: the gateway is killed with SIGKILL right after the clocks
// started; restarted on the same data directory, the warning and the breach still fire on
// time, once each.
func TestSLATimersSurviveKill9(t *testing.T) {
	dir := t.TempDir()
	rulesPath := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(rulesPath, []byte(`
queues: {general: {skills: [general]}}
default_queue: general
sla:
  - {name: fast, warn: 50%, targets: {first_response: 10s}}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	config := processConfig + "router:\n  rules_file: " + rulesPath + "\n  agents: [{id: ann, skills: [general]}]\n"
	dataDir := filepath.Join(dir, "data")
	g := startProcessWith(t, dataDir, config)
	g.post(t, "k1", "late@example.com")
	deadline := time.Now().Add(10 * time.Second)
	for len(slaEventsOf(t, g)) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no sla_applied\n%s", g.log())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := g.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-g.exited
	g2 := startProcessWith(t, dataDir, config)
	var evs []*schema.Event
	deadline = time.Now().Add(30 * time.Second)
	for {
		evs = slaEventsOf(t, g2)
		if len(evs) >= 3 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(time.Second) // a second copy would come now
	evs = slaEventsOf(t, g2)
	var types []string
	for _, e := range evs {
		types = append(types, string(e.Type))
		var due time.Time
		switch e.Type {
		case schema.EventSLAWarning:
			due = e.SLA.Clock.WarnAt
		case schema.EventSLABreached:
			due = e.SLA.Clock.DueAt
		default:
			continue
		}
		late := e.At.Sub(due)
		t.Logf("%s %s after its time (after kill -9 and restart)", e.Type, late)
		if late < -time.Second || late > 1500*time.Millisecond {
			t.Errorf("%s came %s after its time", e.Type, late)
		}
	}
	if got := strings.Join(types, ","); got != "sla_applied,sla_warning,sla_breached" {
		t.Fatalf("SLA events %s, want sla_applied,sla_warning,sla_breached once each\n%s", got, g2.log())
	}
}
