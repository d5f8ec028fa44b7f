package twilio

import (
	"net/url"
	"strings"
	"testing"

	"github.com/twilio/twilio-go/client"
)

// portVariants are URLs a signer may have used for rawURL: as given, with the scheme's
// default port, without its port (built here by plain string surgery, independently of the
// code under test).
func portVariants(rawURL string) []string {
	out := []string{rawURL}
	scheme, rest, ok := strings.Cut(rawURL, "://")
	if !ok {
		return out
	}
	host, path, _ := strings.Cut(rest, "/")
	if h, _, hasPort := strings.Cut(host, ":"); hasPort {
		out = append(out, scheme+"://"+h+"/"+path)
	} else {
		port := ":80"
		if scheme == "https" {
			port = ":443"
		}
		out = append(out, scheme+"://"+host+port+"/"+path)
	}
	return out
}

// FuzzSignatureAgreesWithTwilioGo holds the cheaper check to twilio-go's own validator: for
// any URL, form, token and signature (genuine for one of the URL's forms, or not), both
// give the same answer.
func FuzzSignatureAgreesWithTwilioGo(f *testing.F) {
	for _, u := range []string{"https://example.com/twilio/main/sms", "https://example.com:443/twilio/main/sms?x=1",
		"http://gw.local:8080/twilio/a/sms", "http://example.com/p", "https://[::1]:443/x", "https://a/b%2Fc?d=%20e",
		"http://user:pw@host/p", "https://EXAMPLE.com./x#frag", "not a url", "", "https://h:/x", "https://h:99999/x"} {
		for mode := range uint8(4) {
			f.Add(u, "MessageSid=SM1&From=%2B14155550100&Body=Hello+%F0%9F%91%8B", "12345678901234567890123456789012", mode)
		}
	}
	f.Add("https://example.com/x", "", "t", uint8(0))
	f.Add("https://example.com/x", "a=1&b=2&B=3&a%00=4", "", uint8(1))
	f.Fuzz(func(t *testing.T, rawURL, body, token string, mode uint8) {
		form, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		params := map[string]string{}
		for k, v := range form {
			if len(v) > 1 {
				return // refused before any signature check
			}
			params[k] = v[0]
		}
		variants := portVariants(rawURL)
		var sig string
		switch mode % 4 {
		case 0, 1:
			sig = Sign(token, variants[int(mode%4)%len(variants)], form)
		case 2:
			sig = Sign(token+"x", rawURL, form) // another token's
		default:
			sig = body
		}
		oracle := client.NewRequestValidator(token)
		want := oracle.Validate(rawURL, params, sig)
		if got := signatureKey(token).valid(rawURL, params, sig); got != want {
			t.Fatalf("url %q params %v sig %q: twilio-go says %v, we say %v", rawURL, params, sig, want, got)
		}
	})
}

// BenchmarkSignature compares the check with twilio-go's validator on a genuine webhook
// (go test -run '^$' -bench Signature -benchmem ./connectors/twilio).
func BenchmarkSignature(b *testing.B) {
	body := string(readFixture(b, "sms.form"))
	form, _ := url.ParseQuery(body)
	params := map[string]string{}
	for k, v := range form {
		params[k] = v[0]
	}
	u := testPublic + inboundPath
	sig := Sign(testToken, u, form)
	b.Run("twilio-go", func(b *testing.B) {
		v := client.NewRequestValidator(testToken)
		b.ReportAllocs()
		for b.Loop() {
			if !v.Validate(u, params, sig) {
				b.Fatal("refused")
			}
		}
	})
	b.Run("switchboard", func(b *testing.B) {
		k := signatureKey(testToken)
		b.ReportAllocs()
		for b.Loop() {
			if !k.valid(u, params, sig) {
				b.Fatal("refused")
			}
		}
	})
}
