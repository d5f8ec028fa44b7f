package webchat

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// signer makes and checks the HMAC-SHA256 tokens of this channel. Every kind of token has
// its own domain in the MAC, so one kind can never pass for another.
type signer struct {
	key []byte
}

var idEncoding = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

func (s signer) mac(kind string, parts ...string) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte("switchboard-webchat\x00" + kind))
	for _, p := range parts {
		m.Write([]byte{0})
		m.Write([]byte(p))
	}
	return m.Sum(nil)
}

func (s signer) sig(kind string, parts ...string) string {
	return base64.RawURLEncoding.EncodeToString(s.mac(kind, parts...))
}

func (s signer) check(given, kind string, parts ...string) bool {
	want := s.sig(kind, parts...)
	return subtle.ConstantTimeCompare([]byte(given), []byte(want)) == 1
}

// session is what a session token proves: this browser is this visitor of this site.
type session struct {
	Site     string
	Visitor  string
	Issued   time.Time
	Verified bool // the visitor id derives from an identity the site signed
}

// sessionToken is "<site>.<visitor>.<issued unix>.<sig>".
func (s signer) sessionToken(v session) string {
	payload := v.Site + "." + v.Visitor + "." + strconv.FormatInt(v.Issued.Unix(), 10)
	return payload + "." + s.sig("session", payload)
}

// parseSession verifies a session token for site; it fails closed on anything odd.
func (s signer) parseSession(token, site string, ttl time.Duration, now time.Time) (session, bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 4 || len(token) > 512 {
		return session{}, false
	}
	payload := parts[0] + "." + parts[1] + "." + parts[2]
	if !s.check(parts[3], "session", payload) || parts[0] != site || !validVisitor(parts[1]) {
		return session{}, false
	}
	unix, err := strconv.ParseInt(parts[2], 10, 64)
	issued := time.Unix(unix, 0)
	if err != nil || now.Sub(issued) > ttl || issued.After(now.Add(time.Minute)) {
		return session{}, false
	}
	return session{Site: site, Visitor: parts[1], Issued: issued, Verified: parts[1][0] == 'u'}, true
}

// newVisitor returns a fresh anonymous visitor id: "a" + 26 base32 characters (128 bits).
func newVisitor() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return "a" + idEncoding.EncodeToString(b[:])
}

// verifiedVisitor is the visitor id of a site's signed-in user: the same on every device.
func (s signer) verifiedVisitor(site, userID string) string {
	return "u" + idEncoding.EncodeToString(s.mac("user", site, userID)[:16])
}

func validVisitor(v string) bool {
	if len(v) != 27 || (v[0] != 'a' && v[0] != 'u') {
		return false
	}
	_, err := idEncoding.DecodeString(v[1:])
	return err == nil
}

// attachment is what an upload token carries: a stored blob owned by one visitor.
type attachment struct {
	Site        string `json:"s"`
	Visitor     string `json:"v"`
	Bucket      string `json:"b"` // the host's object store (schema.BlobRef.Bucket)
	Key         string `json:"k"`
	Name        string `json:"n,omitempty"`
	ContentType string `json:"t"`
	Size        int64  `json:"z"`
	Digest      string `json:"d,omitempty"`
}

func (s signer) attachmentToken(a attachment) string {
	data, _ := json.Marshal(a)
	payload := base64.RawURLEncoding.EncodeToString(data)
	return payload + "." + s.sig("attachment", payload)
}

func (s signer) parseAttachment(token string) (attachment, bool) {
	payload, sig, ok := strings.Cut(token, ".")
	if !ok || len(token) > 2048 || !s.check(sig, "attachment", payload) {
		return attachment{}, false
	}
	data, err := base64.RawURLEncoding.DecodeString(payload)
	var a attachment
	if err != nil || json.Unmarshal(data, &a) != nil {
		return attachment{}, false
	}
	return a, true
}

// fileSig signs a download link of a blob for a site until exp.
func (s signer) fileSig(site, key string, exp int64) string {
	return s.sig("file", site, key, strconv.FormatInt(exp, 10))
}

// identityHash is what a site's backend computes to vouch for a value (user id or email):
// hex HMAC-SHA256(identity secret, value).
func identityHash(secret, value string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(value))
	return hex.EncodeToString(m.Sum(nil))
}

func identityOK(secret, value, hash string) bool {
	if secret == "" || value == "" || hash == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(strings.ToLower(hash)), []byte(identityHash(secret, value))) == 1
}
