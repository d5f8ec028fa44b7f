package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestBinaryImportsNoTestHelpers: the shipped binary links none of the project's test helper
// packages (apptest, twiliotest, emailtest, natstest, ...).
func TestBinaryImportsNoTestHelpers(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if strings.HasPrefix(pkg, "github.com/switchboardhq/switchboard/") && strings.HasSuffix(pkg, "test") {
			t.Errorf("the binary imports the test helper %s", pkg)
		}
	}
}
