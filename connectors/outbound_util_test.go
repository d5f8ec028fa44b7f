package connectors

import (
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/switchboardhq/switchboard/pipeline/kernel"
)

func TestSplitText(t *testing.T) {
	para := strings.Repeat("word ", 30) + "\n\n" + strings.Repeat("más ", 30)
	for _, c := range []struct {
		text string
		max  int
		n    int
	}{
		{"", 10, 0},
		{"  short  ", 10, 1},
		{para, 200, 2},
		{strings.Repeat("é", 25), 10, 3}, // no separator: cut at the limit, never inside a character
	} {
		parts := SplitText(c.text, c.max)
		if len(parts) != c.n {
			t.Fatalf("%q/%d: %d parts %q, want %d", c.text, c.max, len(parts), parts, c.n)
		}
		for _, p := range parts {
			if utf8.RuneCountInString(p) > c.max || !utf8.ValidString(p) || p == "" {
				t.Fatalf("bad part %q (max %d)", p, c.max)
			}
		}
		if strings.Join(strings.Fields(strings.Join(parts, "")), "") != strings.Join(strings.Fields(c.text), "") {
			t.Fatalf("%q: text lost or changed: %q", c.text, parts)
		}
	}
	if parts := SplitText(para, 200); !strings.HasSuffix(parts[0], "word") {
		t.Fatalf("did not cut at the blank line: %q", parts[0])
	}
}

func TestMultipart(t *testing.T) {
	body, ctype, err := Multipart([][2]string{{"chat_id", "42"}},
		FilePart{Field: "document", Name: "a.txt", ContentType: "text/plain", Body: strings.NewReader("hello"), Max: 5})
	if err != nil {
		t.Fatal(err)
	}
	_, params, _ := mime.ParseMediaType(ctype)
	r := multipart.NewReader(strings.NewReader(string(body)), params["boundary"])
	form, err := r.ReadForm(1 << 20)
	if err != nil {
		t.Fatal(err)
	}
	f, _ := form.File["document"][0].Open()
	data, _ := io.ReadAll(f)
	if form.Value["chat_id"][0] != "42" || string(data) != "hello" || form.File["document"][0].Filename != "a.txt" {
		t.Fatalf("form %v, file %q", form.Value, data)
	}
	_, _, err = Multipart(nil, FilePart{Field: "f", Name: "x", ContentType: "text/plain", Body: strings.NewReader("toolong"), Max: 5})
	if !errors.Is(err, kernel.ErrTooLarge) {
		t.Fatalf("oversized file: %v", err)
	}
}
