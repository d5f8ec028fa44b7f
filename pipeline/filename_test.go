package pipeline

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestSafeFileName(t *testing.T) {
	long := strings.Repeat("ş", 150) + ".pdf" // 300 bytes of name
	for in, want := range map[string]string{
		"invoice.pdf":           "invoice.pdf",
		"fatura-şubat.pdf":      "fatura-şubat.pdf",
		"../../../etc/passwd":   "passwd",
		`..\..\windows\win.ini`: "win.ini",
		"/abs/path/x.txt":       "x.txt",
		"..":                    "attachment",
		"":                      "attachment",
		" . ":                   "attachment",
		"a\x00b\x1fc\x7f.txt":   "a_b_c_.txt",
		`what?<>:"|*.doc`:       "what_______.doc",
		"CON":                   "_CON",
		"nul.txt":               "_nul.txt",
		"com1.log":              "_com1.log",
		"COMPUTER.txt":          "COMPUTER.txt",
		"report.":               "report",
		"bad\xff\xfeutf8.txt":   "bad_utf8.txt",
		"line\nbreak\r.eml":     "line_break_.eml",
		"trailing dots...":      "trailing dots",
		long:                    strings.Repeat("ş", 98) + ".pdf",
	} {
		if got := SafeFileName(in); got != want {
			t.Errorf("SafeFileName(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzSafeFileName(f *testing.F) {
	for _, s := range []string{"../../etc/passwd", "CON.txt", "a\x00b", strings.Repeat("x", 300) + ".zip", "ş.pdf", ".."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got := SafeFileName(in)
		if got == "" || len(got) > maxFileName || !utf8.ValidString(got) || strings.ContainsAny(got, `/\<>:"|?*`) ||
			got == "." || got == ".." || strings.HasPrefix(got, ".") || strings.HasSuffix(got, " ") || reservedDevice(got) {
			t.Fatalf("SafeFileName(%q) = %q", in, got)
		}
		for _, r := range got {
			if unicode.IsControl(r) {
				t.Fatalf("SafeFileName(%q) = %q keeps a control character", in, got)
			}
		}
		if SafeFileName(got) != got {
			t.Fatalf("SafeFileName is not idempotent on %q: %q", got, SafeFileName(got))
		}
	})
}
