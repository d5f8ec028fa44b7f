package email

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/emersion/go-msgauth/dkim"

	"github.com/switchboardhq/switchboard/schema"
)

const authMail = "From: Victor <victor@shop.example>\r\nTo: support@example.com\r\nSubject: refund\r\n" +
	"Message-ID: <auth-1@shop.example>\r\nDate: Tue, 1 Dec 2026 10:00:00 +0000\r\n\r\nplease refund order 7\r\n"

func TestTrustedAuthenticationResults(t *testing.T) {
	n := testNormalizerFor(&senderAuth{cfg: Authentication{TrustedAuthservID: "mx.example.com"}})
	for _, tc := range []struct {
		name, headers, verdict string
		verified, flagged      bool
	}{
		{"dmarc pass", "Authentication-Results: mx.example.com; spf=pass smtp.mailfrom=shop.example; dkim=pass header.d=shop.example; dmarc=pass header.from=shop.example\r\n",
			schema.AuthPass, true, false},
		{"dmarc fail", "Authentication-Results: mx.example.com; spf=fail smtp.mailfrom=shop.example; dkim=none; dmarc=fail header.from=shop.example\r\n",
			schema.AuthFail, false, true},
		// The sender wrote a passing header of its own below ours: ours (the topmost of the
		// trusted server) counts; another server's id is never read.
		{"forged header ignored", "Authentication-Results: mx.example.com; dmarc=fail header.from=shop.example\r\n" +
			"Authentication-Results: mx.example.com; dmarc=pass header.from=shop.example\r\n" +
			"Authentication-Results: evil.example; dmarc=pass\r\n", schema.AuthFail, false, true},
		{"only an untrusted server", "Authentication-Results: evil.example; dmarc=pass; dkim=pass header.d=shop.example\r\n",
			schema.AuthNone, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, _ := n.build(&fetched{uid: 1, uidValidity: 1, raw: []byte(tc.headers + authMail)})
			if m.SenderAuth == nil || m.SenderAuth.Verdict != tc.verdict {
				t.Fatalf("sender auth %+v, want verdict %s", m.SenderAuth, tc.verdict)
			}
			if verified := m.Profile != nil && m.Profile.Verified && m.Profile.Email == "victor@shop.example"; verified != tc.verified {
				t.Fatalf("verified profile %+v, want %v", m.Profile, tc.verified)
			}
			if flagged := strings.Contains(strings.Join(m.Flags, ","), "sender_unauthenticated"); flagged != tc.flagged {
				t.Fatalf("flags %v, want flagged=%v", m.Flags, tc.flagged)
			}
		})
	}
}

func TestDKIMVerifiedHere(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	record := "v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(pub)
	lookup := func(domain string) ([]string, error) {
		if domain == "s1._domainkey.shop.example" {
			return []string{record}, nil
		}
		return nil, errors.New("no such record")
	}
	var signed bytes.Buffer
	if err := dkim.Sign(&signed, strings.NewReader(authMail), &dkim.SignOptions{Domain: "shop.example", Selector: "s1", Signer: priv}); err != nil {
		t.Fatal(err)
	}
	n := testNormalizerFor(&senderAuth{cfg: Authentication{VerifyDKIM: true}, lookupTXT: lookup})
	m, _ := n.build(&fetched{uid: 1, uidValidity: 1, raw: signed.Bytes()})
	if a := m.SenderAuth; a == nil || a.Verdict != schema.AuthPass || a.DKIMDomain != "shop.example" || a.Source != "dkim" || m.Profile == nil || !m.Profile.Verified {
		t.Fatalf("signed mail: %+v %+v", m.SenderAuth, m.Profile)
	}
	tampered := bytes.Replace(signed.Bytes(), []byte("order 7"), []byte("order 8"), 1)
	m, _ = n.build(&fetched{uid: 2, uidValidity: 1, raw: tampered})
	if a := m.SenderAuth; a == nil || a.Verdict != schema.AuthFail || m.Profile != nil {
		t.Fatalf("tampered mail: %+v %+v", m.SenderAuth, m.Profile)
	}
	m, _ = n.build(&fetched{uid: 3, uidValidity: 1, raw: []byte(authMail)})
	if a := m.SenderAuth; a == nil || a.Verdict != schema.AuthNone || a.DKIM != "none" {
		t.Fatalf("unsigned mail: %+v", m.SenderAuth)
	}
	// A valid signature of another domain proves nothing about the From address.
	var other bytes.Buffer
	_ = dkim.Sign(&other, strings.NewReader(strings.Replace(authMail, "shop.example>", "shop.example>\r\nX-Via: relay", 1)),
		&dkim.SignOptions{Domain: "relay.example", Selector: "s1", Signer: priv})
	n.auth.lookupTXT = func(string) ([]string, error) { return []string{record}, nil }
	m, _ = n.build(&fetched{uid: 4, uidValidity: 1, raw: other.Bytes()})
	if a := m.SenderAuth; a == nil || a.Verdict == schema.AuthPass {
		t.Fatalf("another domain's signature: %+v", m.SenderAuth)
	}
}

func testNormalizerFor(a *senderAuth) *normalizer {
	return &normalizer{account: "support", folder: "INBOX", lim: (&Account{}).limits(), auth: a,
		signer: newSigner("s3cret-for-tests", testUser)}
}
