package survey

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Token is what an email survey link proves: the survey of a conversation, until Expires.
// It is signed (HMAC-SHA256) with the gateway's survey key, so it cannot be guessed or
// altered; the score is the link's query parameter, chosen by the customer.
type Token struct {
	Conversation string
	Survey       string
	Expires      time.Time
}

// Token errors.
var (
	ErrTokenInvalid = errors.New("the survey link is not valid (it was altered or not issued by us)")
	ErrTokenExpired = errors.New("the survey link has expired")
)

const tokenVersion = "v1"

// Sign encodes t signed with key: "v1.<payload>.<mac>" in unpadded base64url.
func Sign(key []byte, t Token) string {
	payload := base64.RawURLEncoding.EncodeToString([]byte(t.Conversation + "|" + t.Survey + "|" + strconv.FormatInt(t.Expires.Unix(), 10)))
	return tokenVersion + "." + payload + "." + base64.RawURLEncoding.EncodeToString(mac(key, payload))
}

// Verify checks a token's signature and expiry at now.
func Verify(key []byte, s string, now time.Time) (Token, error) {
	parts := strings.Split(s, ".")
	if len(parts) != 3 || parts[0] != tokenVersion || len(s) > 1024 {
		return Token{}, ErrTokenInvalid
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || !hmac.Equal(sig, mac(key, parts[1])) {
		return Token{}, ErrTokenInvalid
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return Token{}, ErrTokenInvalid
	}
	f := strings.Split(string(raw), "|")
	if len(f) != 3 || f[0] == "" || f[1] == "" {
		return Token{}, ErrTokenInvalid
	}
	exp, err := strconv.ParseInt(f[2], 10, 64)
	if err != nil {
		return Token{}, ErrTokenInvalid
	}
	t := Token{Conversation: f[0], Survey: f[1], Expires: time.Unix(exp, 0).UTC()}
	if Sign(key, t) != s {
		return Token{}, ErrTokenInvalid // not in canonical form (base64 decoding skips newlines)
	}
	if !now.Before(t.Expires) {
		return t, ErrTokenExpired
	}
	return t, nil
}

func mac(key []byte, payload string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(tokenVersion + "." + payload))
	return h.Sum(nil)
}
