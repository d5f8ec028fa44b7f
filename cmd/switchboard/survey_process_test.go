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

// TestSurveySentOnceAcrossKill9: the gateway is killed with SIGKILL while a resolved
// conversation's survey waits for its delay; restarted on the same data directory, the
// survey is sent when due, once, and its expiry timer still stands.
func TestSurveySentOnceAcrossKill9(t *testing.T) {
	dir := t.TempDir()
	rulesPath := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(rulesPath, []byte(`
queues: {general: {skills: [general]}}
default_queue: general
surveys:
  - {name: csat, kind: csat, delay: 3s}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	config := processConfig + "router:\n  rules_file: " + rulesPath + "\n  agents: [{id: ann, skills: [general]}]\n"
	dataDir := filepath.Join(dir, "data")
	g := startProcessWith(t, dataDir, config)
	g.post(t, "s1", "survey@example.com")
	conv := waitEvents(t, g, 1, "sb.conv.*.opened")[0].ConversationID
	g.command(t, "/v1/conversations/"+conv+"/resolve", `{"reason":"done"}`)
	scheduled := waitEvents(t, g, 1, "sb.conv.*.survey_scheduled")[0]
	if err := g.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-g.exited
	g2 := startProcessWith(t, dataDir, config)
	sent := waitEvents(t, g2, 1, "sb.conv.*.survey_sent")[0]
	time.Sleep(2 * time.Second) // a second copy would come now
	all := eventsOf(t, g2, "sb.conv.*.survey_sent", "sb.conv.*.survey_scheduled", "sb.conv.*.survey_skipped")
	var types []string
	for _, e := range all {
		types = append(types, string(e.Type))
	}
	if got := strings.Join(types, ","); got != "survey_scheduled,survey_sent" {
		t.Fatalf("survey events %s, want survey_scheduled,survey_sent once each\n%s", got, g2.log())
	}
	late := sent.At.Sub(*scheduled.Survey.DueAt)
	t.Logf("survey_sent %s after its due time (after kill -9 and restart)", late)
	if late < -time.Second || late > 10*time.Second || sent.Survey.ExpiresAt == nil || sent.Survey.ID != scheduled.Survey.ID {
		t.Fatalf("sent %+v, %s late", sent.Survey, late)
	}
	if msgs := eventsOf(t, g2, "sb.conv."+conv+".message"); len(msgs) != 2 || msgs[1].Message.Kind != schema.KindSurvey {
		t.Fatalf("%d message events, want the customer's and one survey question", len(msgs))
	}
}

// waitEvents waits until n events match the filters.
func waitEvents(t *testing.T, g *gateway, n int, filters ...string) []*schema.Event {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		evs := eventsOf(t, g, filters...)
		if len(evs) >= n {
			return evs
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d events of %v, want %d\n%s", len(evs), filters, n, g.log())
		}
		time.Sleep(100 * time.Millisecond)
	}
}
