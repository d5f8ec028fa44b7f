package email

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"
)

// FuzzNormalize feeds arbitrary bytes to the parser and normalizer: it must never panic,
// always produce a publishable message (a sender, a dedupe key, valid UTF-8 text, a JSON
// size the stream takes), and give the same dedupe key for the same bytes.
func FuzzNormalize(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.eml")
	for _, s := range seeds {
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(rfc822("a@example.com", "x@y", "hi", "body")))
	f.Add([]byte("From: a\r\n\r\n"))
	f.Add([]byte("Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nhi\r\n--x"))
	n := &normalizer{account: "support", folder: "INBOX", lim: limits{message: 1 << 20, attachment: 1 << 16, attachments: 5},
		signer: newSigner("k", testUser)}
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, _ := n.build(&fetched{uid: 1, raw: raw, size: int64(len(raw))})
		texts := []string{m.Text, m.StrippedText, m.Subject, m.HTML, m.From.Name, m.From.Value, m.ExternalID}
		for _, a := range m.To {
			texts = append(texts, a.Name, a.Value)
		}
		if m.Thread != nil {
			texts = append(append(append(texts, m.Thread.MessageID, m.Thread.ThreadIndex), m.Thread.InReplyTo...), m.Thread.References...)
		}
		for _, p := range m.Problems {
			texts = append(texts, p)
		}
		for _, a := range m.Attachments {
			texts = append(texts, a.Name, a.ContentType, a.ContentID)
		}
		checkPublishable(t, m.From.Value, m.ExternalID, texts...)
		data, err := json.Marshal(m)
		if err != nil || len(data) > maxJSON {
			t.Fatalf("message does not fit the stream: %d bytes, %v", len(data), err)
		}
		if again, _ := n.build(&fetched{uid: 2, raw: raw, size: int64(len(raw))}); again.ExternalID != m.ExternalID {
			t.Fatal("dedupe key depends on more than the bytes")
		}
	})
}

func checkPublishable(t testing.TB, from, externalID string, texts ...string) {
	t.Helper()
	if from == "" || externalID == "" {
		t.Fatalf("from %q external id %q", from, externalID)
	}
	for _, s := range texts {
		if !utf8.ValidString(s) {
			t.Fatalf("invalid UTF-8: %q", s)
		}
	}
}

// BenchmarkNormalize measures parsing and normalizing (no storage) of the fixtures.
func BenchmarkNormalize(b *testing.B) {
	files, _ := filepath.Glob("testdata/*.eml")
	var raws [][]byte
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		raws = append(raws, data)
	}
	n := &normalizer{account: "support", folder: "INBOX", lim: (&Account{}).limits(), signer: newSigner("k", testUser)}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		raw := raws[i%len(raws)]
		n.build(&fetched{uid: 1, raw: raw, size: int64(len(raw))})
	}
}
