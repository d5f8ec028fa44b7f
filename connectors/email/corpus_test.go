package email

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// corpusModule is an established MIME library whose test data holds real-world and
// deliberately broken messages; the test downloads it from the Go module proxy.
const corpusModule = "github.com/jhillyerd/enmime/v2@v2.3.0"

// TestRealWorldCorpus runs every message of the corpus through the normalizer: none may
// panic or be lost silently. A message is either normalized with content (text, HTML or
// attachments) or carries problems that say what could not be read.
func TestRealWorldCorpus(t *testing.T) {
	dir := downloadModule(t, corpusModule)
	var files []string
	_ = filepath.WalkDir(filepath.Join(dir, "testdata"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.HasSuffix(p, ".raw") || strings.HasSuffix(p, ".eml")) {
			files = append(files, p)
		}
		return nil
	})
	if len(files) < 50 {
		t.Fatalf("corpus has only %d messages", len(files))
	}
	n := &normalizer{account: "support", folder: "INBOX", lim: (&Account{}).limits(), signer: newSigner("k", testUser)}
	var withProblems, automated int
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m, p := n.build(&fetched{uid: 1, raw: raw, size: int64(len(raw))})
		name := strings.TrimPrefix(f, dir+"/")
		checkPublishable(t, m.From.Value, m.ExternalID, m.Text, m.StrippedText, m.Subject, m.HTML)
		if data, err := json.Marshal(m); err != nil || len(data) > maxJSON {
			t.Errorf("%s: does not fit the stream (%d bytes, %v)", name, len(data), err)
		}
		hasContent := strings.TrimSpace(m.Text) != "" || strings.TrimSpace(m.HTML) != "" || len(p.parts) > 0
		if !hasContent && len(m.Problems) == 0 && hasBody(raw) {
			t.Errorf("%s: a body was there, but neither content nor a problem came out", name)
		}
		if len(m.Problems) > 0 {
			withProblems++
			t.Logf("%s: %q", name, m.Problems)
		}
		if m.Kind != "message" {
			automated++
		}
	}
	t.Logf("%d corpus messages: %d with recorded problems, %d flagged automated", len(files), withProblems, automated)
}

// hasBody reports whether raw has non-blank bytes after its header.
func hasBody(raw []byte) bool {
	raw = bytes.ReplaceAll(raw, []byte("\r\n"), []byte("\n"))
	_, body, found := bytes.Cut(raw, []byte("\n\n"))
	return found && len(bytes.TrimSpace(body)) > 0
}

// downloadModule fetches a module with the go command (the module proxy) and returns its
// directory. Without network it skips, unless SWITCHBOARD_REQUIRE_INTEROP=1 says it must run.
func downloadModule(t *testing.T, mod string) string {
	t.Helper()
	cmd := exec.Command("go", "mod", "download", "-json", mod)
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GO111MODULE=on")
	done := make(chan struct{})
	timer := time.AfterFunc(2*time.Minute, func() {
		if cmd.Process != nil {
			_ = cmd.Process.Kill()
		}
		close(done)
	})
	out, err := cmd.Output()
	timer.Stop()
	var info struct{ Dir, Error string }
	if err == nil {
		err = json.Unmarshal(out, &info)
	}
	if err != nil || info.Dir == "" {
		msg := "cannot download " + mod + " from the module proxy: " + info.Error
		if err != nil {
			msg += " (" + err.Error() + ")"
		}
		if os.Getenv("SWITCHBOARD_REQUIRE_INTEROP") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return info.Dir
}
