package identity

import (
	"fmt"
	"strings"
	"testing"

	"github.com/switchboardhq/switchboard/schema"
)

func TestNormalizeIdentities(t *testing.T) {
	n := NewNormalizer(Config{DefaultRegion: "US", Regions: map[string]string{"uk": "GB", "sms/de-line": "DE"}})
	cases := []struct {
		ch, account, kind, value string
		want                     string
		bad                      bool
	}{
		{"email", "x", "email", "  Alice@Example.COM ", "email:alice@example.com", false},
		{"email", "x", "email", "mailto:bob@example.com", "email:bob@example.com", false},
		{"email", "x", "email", "Bob <bob@example.com>", "email:bob@example.com", false},
		{"email", "x", "email", "not-an-address", "email:not-an-address", true},
		{"sms", "x", "phone", "+1 (415) 555-0100", "phone:+14155550100", false},
		{"whatsapp", "x", "phone", "whatsapp:+14155550100", "phone:+14155550100", false},
		{"whatsapp", "x", "whatsapp", "+14155550100", "phone:+14155550100", false},
		{"sms", "x", "phone", "(415) 555-0100", "phone:+14155550100", false},
		{"sms", "uk", "phone", "07911 123456", "phone:+447911123456", false},
		{"sms", "de-line", "phone", "030 1234567", "phone:+49301234567", false},
		{"sms", "uk", "phone", "0044 7911 123456", "phone:+447911123456", false},
		{"sms", "x", "phone", "tel:+44 7911 123456", "phone:+447911123456", false},
		{"sms", "x", "phone", "12", "phone:12", true},
		{"api", "shop", "external", "user-7", "external:shop/user-7", false},
		{"messenger", "x", "psid", "page1:123", "psid:page1:123", false},
		{"telegram", "x", "Telegram", "bot:42", "telegram:bot:42", false},
	}
	for _, c := range cases {
		id, err := n.Identity(schema.Channel(c.ch), c.account, schema.Address{Kind: c.kind, Value: c.value})
		if got := Key(id); got != c.want || (err != nil) != c.bad {
			t.Errorf("%s/%s %s %q: got %s, err %v; want %s (error %v)", c.ch, c.account, c.kind, c.value, got, err, c.want, c.bad)
		}
	}
}

func TestNationalNumberWithoutRegionIsAProblemNotAGuess(t *testing.T) {
	n := NewNormalizer(Config{})
	_, err := n.Identity("sms", "x", schema.Address{Kind: "phone", Value: "07911 123456"})
	if err == nil || !strings.Contains(err.Error(), "default_region") {
		t.Fatalf("err %v", err)
	}
}

func FuzzNormalizePhone(f *testing.F) {
	for _, s := range []string{"+14155550100", "whatsapp:+447911123456", "(415) 555-0100", "0044 7911", "tel:", "+", "00", "+1 415 555 0100 ext. 12", "٠٧٩١١"} {
		f.Add(s, "US")
		f.Add(s, "")
	}
	f.Fuzz(func(t *testing.T, s, region string) {
		v, err := NormalizePhone(s, region)
		if err == nil && !strings.HasPrefix(v, "+") {
			t.Fatalf("%q (%s) normalized to %q without +", s, region, v)
		}
		if err == nil {
			again, err2 := NormalizePhone(v, region)
			if err2 != nil || again != v {
				t.Fatalf("not idempotent: %q -> %q -> %q (%v)", s, v, again, err2)
			}
		}
	})
}

func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range []string{"a@b.c", "Alice <ALICE@example.com>", "mailto:x@y", "@", "a@", "<>", "a b@c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := NormalizeEmail(s)
		if err != nil {
			return
		}
		if v != strings.ToLower(v) || !strings.Contains(v, "@") {
			t.Fatalf("%q -> %q", s, v)
		}
		if again, err := NormalizeEmail(v); err != nil || again != v {
			t.Fatalf("not idempotent: %q -> %q -> %q (%v)", s, v, again, err)
		}
	})
}

// The normalizer remembers phone numbers it has seen; the answers it remembers are the
// ones NormalizePhone gives, errors included, and the memory starts over when full.
func TestNormalizerRemembersPhonesFaithfully(t *testing.T) {
	n := NewNormalizer(Config{DefaultRegion: "US"})
	inputs := []string{"+14155550100", "(415) 555-0100", "whatsapp:+44 20 7946 0958", "12", "", "tel:0044 20 7946 0958"}
	for round := range 2 {
		for _, in := range inputs {
			got, gotErr := n.Identity("sms", "acme", schema.Address{Kind: "phone", Value: in})
			want, wantErr := NormalizePhone(in, "US")
			if got.Value != want || (gotErr == nil) != (wantErr == nil) {
				t.Fatalf("round %d, %q: %q %v, want %q %v", round, in, got.Value, gotErr, want, wantErr)
			}
		}
	}
	for i := range phoneCacheMax + 10 {
		_, _ = n.phone(fmt.Sprintf("+1415555%04d", i%10000)+fmt.Sprint(i), "US")
	}
	if len(n.phones) > phoneCacheMax {
		t.Fatalf("%d phones remembered, at most %d", len(n.phones), phoneCacheMax)
	}
}
