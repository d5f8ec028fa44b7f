package app_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/cmd/switchboard/app/apptest"
	"github.com/switchboardhq/switchboard/schema"
)

// routingConfig is DefaultConfig plus a router section; rules is the rules file's contents.
func routingConfig(t *testing.T, router, rules string) string {
	t.Helper()
	cfg := apptest.DefaultConfig + router
	if rules != "" {
		path := filepath.Join(t.TempDir(), "rules.yaml")
		if err := os.WriteFile(path, []byte(rules), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg += fmt.Sprintf("  rules_file: %s\n", path)
	}
	return cfg
}

func TestSmokeAssign(t *testing.T) {
	g := apptest.Start(t, routingConfig(t, `
router:
  agents:
    - {id: alice, skills: [billing]}
`, `
queues:
  billing: {skills: [billing]}
rules:
  - name: all
    targets: [{queue: billing}]
`))
	if st, body := g.Do("PUT", "/v1/agents/alice/presence", apptest.Token, map[string]string{"status": "available"}); st != 200 {
		t.Fatalf("presence: %d %s", st, body)
	}
	g.PostAPI("x1", "bob@example.com", "hello")
	evs := g.Events("sb.conv.>", 3, 10*time.Second)
	t.Log(apptest.Sprint(evs))
	if evs[2].Type != schema.EventAssigned || evs[2].Routing.AgentID != "alice" {
		t.Fatalf("%+v", evs[2].Routing)
	}
	t.Log(evs[2].Reason)
}
