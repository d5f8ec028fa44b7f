package apptest

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// FlowRules are routing rules for the shipped flows: the "office" hours they branch on,
// open all week, and the queues they hand off to.
const FlowRules = `
business_hours:
  office: {timezone: UTC, weekly: {mon-sun: ["00:00-23:59"]}}
queues: {general: {skills: [general]}, billing: {skills: [billing]}, technical: {skills: [technical]}}
default_queue: general
`

// RepoPath is a path in the repository (configs/flows.yaml, …).
func RepoPath(rel string) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "..", rel)
}

// ShippedFlows is a router section that runs the shipped flows (configs/flows.yaml, with
// the shipped knowledge base configs/kb) under [FlowRules]; agents is the roster's YAML
// list ("[{id: ann, skills: [general]}]").
func ShippedFlows(t testing.TB, agents string) string {
	t.Helper()
	rules := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(rules, []byte(FlowRules), 0o600); err != nil {
		t.Fatal(err)
	}
	return "router:\n  agents: " + agents + "\n  rules_file: " + rules + "\n  flows_file: " + RepoPath("configs/flows.yaml") +
		"\n  knowledge_base: " + RepoPath("configs/kb") + "\n"
}
