package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/zap"
)

// TestLogsHaveNoStackTraces: a warning (a failed send, say) is one line for the operator in
// both formats, not a Go stack trace with build paths.
func TestLogsHaveNoStackTraces(t *testing.T) {
	for _, format := range []string{"console", "json"} {
		zc, err := loggerConfig(LogConfig{Format: format})
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "log")
		zc.OutputPaths, zc.ErrorOutputPaths = []string{path}, []string{path}
		log, err := zc.Build()
		if err != nil {
			t.Fatal(err)
		}
		log.Warn("outbound message failed", zap.String("code", "no_callback"))
		log.Error("something broke")
		_ = log.Sync()
		data, _ := os.ReadFile(path)
		if lines := strings.Count(strings.TrimSpace(string(data)), "\n") + 1; lines != 2 || strings.Contains(string(data), "logger_test.go:") && strings.Contains(string(data), "testing.tRunner") {
			t.Fatalf("%s: %d lines, want one per entry:\n%s", format, lines, data)
		}
	}
}
