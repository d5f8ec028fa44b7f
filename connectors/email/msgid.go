package email

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"strings"
)

// signer makes and checks our own Message-IDs:
//
//	<msg_….cnv_….<mac>@example.com>
//
// They carry the reply's message id and its conversation, and an HMAC-SHA256 over both with
// the account's message_id_secret: a customer's In-Reply-To or References that verifies is
// a genuine answer to that reply, and one that does not (forged, or another system's) is
// ignored. The id is deterministic, so a resent reply carries the same Message-ID and mail
// clients show it once.
type signer struct {
	key    []byte
	domain string
}

var macEncoding = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

func newSigner(secret, address string) *signer {
	if secret == "" {
		return nil
	}
	_, domain, _ := strings.Cut(address, "@")
	return &signer{key: []byte(secret), domain: strings.ToLower(domain)}
}

func (s *signer) mac(msgID, convID string) string {
	h := hmac.New(sha256.New, s.key)
	h.Write([]byte("switchboard-message-id\x00" + msgID + "\x00" + convID))
	return macEncoding.EncodeToString(h.Sum(nil)[:15])
}

// messageID returns the Message-ID (without angle brackets) for an outbound message.
func (s *signer) messageID(msgID, convID string) string {
	if convID == "" {
		convID = "-"
	}
	return msgID + "." + convID + "." + s.mac(msgID, convID) + "@" + s.domain
}

// verify returns the message and conversation ids carried by one of our Message-IDs.
func (s *signer) verify(id string) (msgID, convID string, ok bool) {
	local, domain, found := strings.Cut(id, "@")
	if !found || !strings.EqualFold(domain, s.domain) {
		return "", "", false
	}
	parts := strings.Split(local, ".")
	if len(parts) != 3 || !strings.HasPrefix(parts[0], "msg_") {
		return "", "", false
	}
	if !hmac.Equal([]byte(parts[2]), []byte(s.mac(parts[0], parts[1]))) {
		return "", "", false
	}
	if parts[1] == "-" {
		parts[1] = ""
	}
	return parts[0], parts[1], true
}

// ours finds the most recent of our Message-IDs that a message answers: In-Reply-To first,
// then References from the right (the latest).
func (s *signer) ours(t *threadIDs) (msgID, convID string, ok bool) {
	if s == nil {
		return "", "", false
	}
	cands := append([]string(nil), t.inReplyTo...)
	for i := len(t.references) - 1; i >= 0; i-- {
		cands = append(cands, t.references[i])
	}
	cands = append(cands, t.extra...)
	for _, c := range cands {
		if m, cv, ok := s.verify(c); ok {
			return m, cv, true
		}
	}
	return "", "", false
}

// threadIDs are the ids a message refers to.
type threadIDs struct {
	inReplyTo, references, extra []string
}
