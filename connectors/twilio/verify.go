package twilio

import (
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // Twilio's signature scheme is HMAC-SHA1
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// signatureKey checks X-Twilio-Signature the way twilio-go's client.RequestValidator.Validate
// does (the fuzz test holds it to that validator on arbitrary input), at a fraction of the
// cost: the parameters are concatenated once, and the URL as Twilio called it, which is
// always one of the validator's two candidates, is tried first, so a genuine webhook costs
// one HMAC and no URL parsing. The validator parses the URL up to five times and computes
// both HMACs for every request.
type signatureKey []byte

// valid reports whether sig signs a POST of params to rawURL. params holds each
// parameter's only value (the caller refuses repeats).
func (k signatureKey) valid(rawURL string, params map[string]string, sig string) bool {
	names := make([]string, 0, len(params))
	n := len(rawURL)
	for name, v := range params {
		names = append(names, name)
		n += len(name) + len(v)
	}
	slices.Sort(names)
	buf := make([]byte, 0, n+32)
	buf = append(buf, rawURL...)
	for _, name := range names {
		buf = append(buf, name...)
		buf = append(buf, params[name]...)
	}
	if k.matches(buf, sig) {
		return true
	}
	// The validator's other candidate: the URL with its scheme's default port added when it
	// has none, or with its port removed when it has one.
	alt := otherPortForm(rawURL)
	if alt == rawURL {
		return false
	}
	return k.matches(append([]byte(alt), buf[len(rawURL):]...), sig)
}

func (k signatureKey) matches(signed []byte, sig string) bool {
	mac := hmac.New(sha1.New, k)
	mac.Write(signed)
	var sum [sha1.Size]byte
	var enc [28]byte // base64 of 20 bytes
	base64.StdEncoding.Encode(enc[:], mac.Sum(sum[:0]))
	return subtle.ConstantTimeCompare(enc[:], []byte(sig)) == 1
}

// otherPortForm is twilio-go's addPort(u) when u has no port and its removePort(u) when it
// has one, byte for byte (including how net/url re-serializes, and its host splitting).
func otherPortForm(u string) string {
	parsed, err := url.Parse(u)
	if err != nil {
		return u
	}
	if parsed.Port() != "" {
		parsed.Host = strings.Split(parsed.Host, ":")[0]
		return parsed.String()
	}
	port := 80
	if parsed.Scheme == "https" {
		port = 443
	}
	// addPort → updatePort parses again; the second parse of the same string agrees.
	parsed.Host = fmt.Sprintf("%s:%d", parsed.Host, port)
	return parsed.String()
}
