// Package connectortest holds what connector tests share: documented payloads in testdata,
// golden files beside them, and the error body every endpoint answers with.
package connectortest

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Fixtures lists the payloads in dir (*.json but not *.golden.json); none is an error.
func Fixtures(t testing.TB, dir string) []string {
	t.Helper()
	all, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range all {
		if !strings.HasSuffix(f, ".golden.json") {
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		t.Fatalf("no fixtures in %s", dir)
	}
	return out
}

// ReadFile reads a file or fails the test.
func ReadFile(t testing.TB, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// Golden compares v, as indented JSON, with <fixture without .json>.golden.json; with update
// it rewrites the file instead (review the diff before committing it).
func Golden(t *testing.T, fixture string, v any, update bool) {
	t.Helper()
	got, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	golden := strings.TrimSuffix(fixture, ".json") + ".golden.json"
	if update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if want := ReadFile(t, golden); !bytes.Equal(got, want) {
		t.Errorf("normalized output differs from %s (run with -update to accept):\n%s", golden, got)
	}
}

// ExpectError checks an answer is status with the {"error": {"code", "message"}} body.
func ExpectError(t testing.TB, status int, body []byte, wantStatus int, wantCode string) {
	t.Helper()
	var e struct {
		Error struct{ Code, Message string }
	}
	_ = json.Unmarshal(body, &e)
	if status != wantStatus || e.Error.Code != wantCode || e.Error.Message == "" {
		t.Fatalf("%d %s, want %d %s", status, body, wantStatus, wantCode)
	}
}

// DocExample returns the first ```yaml block of a documentation page, so that a channel's
// test can decode it: the docs show settings that exist.
func DocExample(t testing.TB, page string) []byte {
	t.Helper()
	doc := string(ReadFile(t, page))
	_, rest, ok := strings.Cut(doc, "```yaml\n")
	block, _, closed := strings.Cut(rest, "```")
	if !ok || !closed {
		t.Fatalf("%s has no yaml block", page)
	}
	return []byte(block)
}

// UncommentExample returns a config file with the commented example section of one channel
// (the block starting "  # <section>:" up to the next blank line) uncommented, so a test can
// keep the example in configs/switchboard.yaml valid.
func UncommentExample(t testing.TB, path, section string) []byte {
	t.Helper()
	lines := strings.Split(string(ReadFile(t, path)), "\n")
	on, found := false, false
	for i, line := range lines {
		switch {
		case strings.HasPrefix(line, "  # "+section+":"):
			on, found = true, true
		case on && strings.TrimSpace(line) == "":
			on = false
		}
		if on {
			lines[i] = "  " + strings.TrimPrefix(line, "  # ")
		}
	}
	if !found {
		t.Fatalf("%s has no %s example", path, section)
	}
	return []byte(strings.Join(lines, "\n"))
}

// CPUTime is the CPU time (user + system) this process has used: a benchmark of a whole
// in-process gateway divides its difference by the messages handled.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
