package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

const exampleFlows = "../../router/flows/testdata/triage.yaml"

// The example flow checks and passes its dialogues; a broken flow is located; a failing
// dialogue exits 1 naming the turn.
func TestFlowsCommands(t *testing.T) {
	var out bytes.Buffer
	if err := runFlowsCheck([]string{exampleFlows}, &out); err != nil || !strings.Contains(out.String(), "flow triage ok") {
		t.Fatalf("check: %v\n%s", err, out.String())
	}
	out.Reset()
	if err := runFlowsTest([]string{"--flows", exampleFlows, "../../router/flows/testdata/triage.cases.yaml"}, &out); err != nil ||
		!strings.Contains(out.String(), "5 dialogue(s), 0 failed") {
		t.Fatalf("test: %v\n%s", err, out.String())
	}
	broken := writeFile(t, "broken.yaml", "flows:\n  f:\n    start: a\n    steps:\n      a: {say: hi, next: a}\n")
	if code := run(context.Background(), []string{"flows", "check", broken}); code != 1 {
		t.Fatalf("a looping flow: exit %d", code)
	}
	cases := writeFile(t, "cases.yaml", "cases:\n  - name: wrong\n    flow: triage\n    dialogue:\n      - step: menu\n      - customer: \"3\"\n        resolved: true\n")
	out.Reset()
	if err := runFlowsTest([]string{"--flows", exampleFlows, cases}, &out); err != errFailed ||
		!strings.Contains(out.String(), "FAIL  wrong") || !strings.Contains(out.String(), `turn 1: resolved: false (outcome ""), want true`) {
		t.Fatalf("failing dialogue: %v\n%s", err, out.String())
	}
}
