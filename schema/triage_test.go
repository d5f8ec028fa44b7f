package schema_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/switchboardhq/switchboard/schema"
)

// A normalized tag normalizes to itself, is short and lower-case, and anything else is an
// error, never a panic.
func FuzzNormalizeTag(f *testing.F) {
	for _, s := range []string{"VIP", " refund ", "İstanbul", "a b", "", "x/y:z", strings.Repeat("a", 65), "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := schema.NormalizeTag(s)
		if err != nil {
			return
		}
		if n == "" || len(n) > schema.MaxTagLength || n != strings.ToLower(n) || !utf8.ValidString(n) {
			t.Fatalf("%q → %q", s, n)
		}
		if again, err := schema.NormalizeTag(n); err != nil || again != n {
			t.Fatalf("%q → %q → %q %v", s, n, again, err)
		}
	})
}

func TestNormalizeTag(t *testing.T) {
	for in, want := range map[string]string{"VIP": "vip", " Refund ": "refund", "İstanbul": "istanbul", "ISPARTA": "isparta", "öncelik:yüksek": "öncelik:yüksek", "tier/2": "tier/2"} {
		if got, err := schema.NormalizeTag(in); err != nil || got != want {
			t.Errorf("%q: %q %v, want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "  ", "two words", "a,b", strings.Repeat("x", 65)} {
		if got, err := schema.NormalizeTag(bad); err == nil {
			t.Errorf("%q accepted as %q", bad, got)
		}
	}
}
