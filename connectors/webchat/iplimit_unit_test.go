package webchat

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestClientAddrBehindTrustedProxies(t *testing.T) {
	trusted, err := parsePrefixes([]string{"10.0.0.0/8", "192.0.2.7"})
	if err != nil {
		t.Fatal(err)
	}
	l := newIPLimits(limits{ipSockets: 1, ipRate: 1, ipBurst: 1}, trusted)
	for _, tc := range []struct{ remote, xff, want string }{
		{"203.0.113.5:4000", "", "203.0.113.5"},
		{"203.0.113.5:4000", "198.51.100.1", "203.0.113.5"},                  // not a proxy of ours: its header is ignored
		{"10.1.2.3:4000", "198.51.100.1", "198.51.100.1"},                    // our proxy: the client it names
		{"10.1.2.3:4000", "1.2.3.4, 198.51.100.1, 10.9.9.9", "198.51.100.1"}, // spoofed first hop skipped
		{"192.0.2.7:4000", "garbage, 198.51.100.2", "198.51.100.2"},
		{"10.1.2.3:4000", "198.51.100.1, nonsense", "10.1.2.3"}, // a malformed hop: trust nothing before it
		{"[::ffff:10.1.2.3]:4000", "2001:db8::1", "2001:db8::1"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tc.remote
		if tc.xff != "" {
			r.Header.Set("X-Forwarded-For", tc.xff)
		}
		if got := l.clientAddr(r); got != netip.MustParseAddr(tc.want) {
			t.Errorf("remote %s, X-Forwarded-For %q: %v, want %s", tc.remote, tc.xff, got, tc.want)
		}
	}
	if _, err := parsePrefixes([]string{"not-an-ip"}); err == nil {
		t.Fatal("a bad trusted proxy was accepted")
	}
}
