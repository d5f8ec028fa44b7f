package meta

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/switchboardhq/switchboard/connectors"
)

// signature is computed here from the documented algorithm, not by the code under test.
func signature(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

func TestVerifySignature(t *testing.T) {
	body := readFile(t, "testdata/messenger_text.json")
	good := signature(testSecret, body)
	if err := verify(testSecret, good, body); err != nil {
		t.Fatalf("valid signature refused: %v", err)
	}
	if err := verify(testSecret, "sha256="+strings.ToUpper(strings.TrimPrefix(good, "sha256=")), body); err != nil {
		t.Fatalf("upper-case hex refused: %v", err)
	}
	reencoded := strings.Replace(string(body), `arriv\u00e9e`, "arrivée", 1)
	for name, c := range map[string]struct {
		header string
		body   []byte
		code   string
	}{
		"re-encoded body":  {good, []byte(reencoded), "bad_signature"},
		"one byte changed": {good, append([]byte{}, append(body[:len(body)-1:len(body)-1], ' ')...), "bad_signature"},
		"other secret":     {signature("other", body), body, "bad_signature"},
		"truncated":        {good[:40], body, "bad_signature"},
		"not hex":          {"sha256=" + strings.Repeat("g", 64), body, "bad_signature"},
		"no prefix":        {strings.TrimPrefix(good, "sha256="), body, "missing_signature"},
		"empty":            {"", body, "missing_signature"},
	} {
		err := verify(testSecret, c.header, c.body)
		var he *connectors.HTTPError
		if !errors.As(err, &he) || he.Status != 403 || he.Code != c.code || !he.Reject {
			t.Errorf("%s: %v, want 403 %s recorded", name, err, c.code)
		}
	}
}
