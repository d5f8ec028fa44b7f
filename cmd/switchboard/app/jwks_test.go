package app_test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/cmd/switchboard/app/apptest"
)

// jwksServer serves a JSON Web Key Set on loopback; keys can be added (a rotation).
type jwksServer struct {
	mu   sync.Mutex
	keys []map[string]string
	hits int
	*httptest.Server
}

func newJWKSServer(t *testing.T) *jwksServer {
	s := &jwksServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.hits++
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": s.keys})
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) add(kid string, pub *rsa.PublicKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = append(s.keys, map[string]string{"kty": "RSA", "kid": kid, "alg": "RS256", "use": "sig",
		"n": base64.RawURLEncoding.EncodeToString(pub.N.Bytes()), "e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes())})
}

// mintRS256 signs claims with key under kid, with the standard library only (RFC 7515:
// RSASSA-PKCS1-v1_5 over SHA-256 of header.payload).
func mintRS256(t *testing.T, key *rsa.PrivateKey, kid string, claims map[string]any) string {
	t.Helper()
	enc := func(v any) string {
		data, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(data)
	}
	head := enc(map[string]string{"alg": "RS256", "typ": "JWT", "kid": kid}) + "." + enc(claims)
	sum := sha256.Sum256([]byte(head))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return head + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// JWTs signed with the helpdesk's own keys, published as a JWKS: a key of the set is
// accepted, a key it does not have is refused, a rotated-in key is taken up at once (the
// unknown kid reads the set again), and an HMAC token made from the public key is refused.
func TestHelpdeskJWKS(t *testing.T) {
	k1, _ := rsa.GenerateKey(rand.Reader, 2048)
	k2, _ := rsa.GenerateKey(rand.Reader, 2048)
	stranger, _ := rsa.GenerateKey(rand.Reader, 2048)
	jwks := newJWKSServer(t)
	jwks.add("k1", &k1.PublicKey)
	g := apptest.Start(t, strings.Replace(apptest.DefaultConfig, "rest:\n", "rest:\n  jwt: {jwks_url: "+jwks.URL+", issuer: helpdesk}\n", 1)+`
router:
  agents: [{id: ann, skills: [general]}]
`)
	exp := time.Now().Add(time.Hour).Unix()
	claims := map[string]any{"sub": "ann", "scope": "read agent", "exp": exp, "iss": "helpdesk"}
	call := func(token string) int {
		st, _ := g.Do("PUT", "/v1/agents/ann/presence", token, map[string]string{"status": "available"})
		return st
	}
	if st := call(mintRS256(t, k1, "k1", claims)); st != 200 {
		t.Fatalf("a token of the JWKS's key: %d", st)
	}
	if st := call(mintRS256(t, stranger, "k1", claims)); st != 401 {
		t.Fatalf("a token signed with another key under k1: %d", st)
	}
	if st := call(mintRS256(t, k1, "k1", map[string]any{"sub": "ann", "scope": "agent", "exp": exp, "iss": "someone"})); st != 401 {
		t.Fatalf("another issuer: %d", st)
	}
	// The helpdesk rotates: k2 is published and used at once.
	jwks.add("k2", &k2.PublicKey)
	if st := call(mintRS256(t, k2, "k2", claims)); st != 200 {
		t.Fatalf("a token of the rotated-in key: %d", st)
	}
	// HS256 with the public key as the secret (the algorithm-confusion attack): no HMAC key is
	// configured, and a JWKS key never checks an HMAC signature.
	if st := call(mintJWT(string(k1.PublicKey.N.Bytes()), "HS256", claims)); st != 401 {
		t.Fatalf("an HMAC token made from the public key: %d", st)
	}
	if st := call(mintJWT("", "none", claims)); st != 401 {
		t.Fatalf("an unsigned token: %d", st)
	}
	// Scopes still hold: a read-only JWT cannot set presence.
	if st := call(mintRS256(t, k1, "k1", map[string]any{"sub": "ann", "scope": "read", "exp": exp, "iss": "helpdesk"})); st != 403 {
		t.Fatalf("a read-only JWT set presence: %d", st)
	}
}
