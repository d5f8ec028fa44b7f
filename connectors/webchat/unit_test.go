package webchat

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestSessionTokens(t *testing.T) {
	s := signer{key: []byte("k")}
	now := time.Unix(1_800_000_000, 0)
	v := session{Site: "shop", Visitor: newVisitor(), Issued: now}
	tok := s.sessionToken(v)
	got, ok := s.parseSession(tok, "shop", time.Hour, now.Add(time.Minute))
	if !ok || got.Visitor != v.Visitor || got.Verified {
		t.Fatalf("round trip: %v %+v", ok, got)
	}
	for name, c := range map[string]struct {
		tok, site string
		at        time.Time
	}{
		"other site":  {tok, "blog", now},
		"expired":     {tok, "shop", now.Add(2 * time.Hour)},
		"future":      {tok, "shop", now.Add(-time.Hour)},
		"other key":   {signer{key: []byte("x")}.sessionToken(v), "shop", now},
		"edited":      {strings.Replace(tok, v.Visitor, newVisitor(), 1), "shop", now},
		"truncated":   {tok[:len(tok)-1], "shop", now},
		"bad visitor": {s.sessionToken(session{Site: "shop", Visitor: "admin", Issued: now}), "shop", now},
		"empty":       {"", "shop", now},
	} {
		if _, ok := s.parseSession(c.tok, c.site, time.Hour, c.at); ok {
			t.Errorf("%s: accepted", name)
		}
	}
	u := s.verifiedVisitor("shop", "user-1")
	if u != s.verifiedVisitor("shop", "user-1") || u == s.verifiedVisitor("blog", "user-1") || !validVisitor(u) {
		t.Fatalf("verified visitor ids: %s", u)
	}
}

func TestAttachmentTokensAreBound(t *testing.T) {
	s := signer{key: []byte("k")}
	a := attachment{Site: "shop", Visitor: "v", Key: "webchat/shop/v/x", ContentType: "image/png", Size: 3}
	tok := s.attachmentToken(a)
	if got, ok := s.parseAttachment(tok); !ok || got != a {
		t.Fatalf("round trip: %v %+v", ok, got)
	}
	if _, ok := s.parseAttachment(tok + "x"); ok {
		t.Fatal("tampered token accepted")
	}
	// A session token's signature must not pass for an attachment's (separate MAC domains).
	payload := "shop.v.1"
	if _, ok := s.parseAttachment(payload + "." + s.sig("session", payload)); ok {
		t.Fatal("cross-kind token accepted")
	}
}

func TestIdentityHash(t *testing.T) {
	// The documented recipe, as `printf user-1 | openssl dgst -sha256 -hmac secret` computes it.
	const want = "1d16fd7e96e8a9681f283b8a251822ffdc71e2a5bda0c5267a044874fa21b82b"
	if h := identityHash("secret", "user-1"); h != want {
		t.Fatalf("identity hash %s, want %s", h, want)
	}
	if !identityOK("secret", "user-1", strings.ToUpper(want)) || identityOK("secret", "user-2", want) ||
		identityOK("", "user-1", want) || identityOK("secret", "user-1", "") {
		t.Fatal("identityOK accepts the wrong things")
	}
}

func TestBucket(t *testing.T) {
	now := time.Unix(0, 0)
	b := newBucket(2, 3, now)
	for i := 0; i < 3; i++ {
		if !b.take(now) {
			t.Fatalf("burst token %d refused", i)
		}
	}
	if b.take(now) {
		t.Fatal("over the burst")
	}
	if w := b.wait(now); w < 400*time.Millisecond || w > 600*time.Millisecond {
		t.Fatalf("wait %v, want about 500ms", w)
	}
	if !b.take(now.Add(600 * time.Millisecond)) {
		t.Fatal("token not refilled")
	}
}

func TestDecodeFrame(t *testing.T) {
	ok := []string{
		`{"type":"hello"}`,
		`{"type":"hello","token":"t","conversation_id":"cnv_1","after":3,"seen":3}`,
		`{"type":"message","id":"c-1","text":"hi"}`,
		`{"type":"message","id":"c_2","attachments":["a.b"]}`,
		`{"type":"typing","state":"stop"}`,
		`{"type":"read","message_id":"msg_1"}`,
	}
	for _, s := range ok {
		if _, err := decodeFrame([]byte(s), 10); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
	bad := map[string]string{
		`{"type":"message","id":"c 1","text":"hi"}`:            "bad_frame",
		`{"type":"message","id":"c1","text":"   "}`:            "empty",
		`{"type":"message","id":"c1","text":"12345678901"}`:    "too_long",
		`{"type":"message","id":"c1","text":"hi","x":1}`:       "bad_frame",
		`{"type":"typing","state":"maybe"}`:                    "bad_frame",
		`{"type":"read","message_id":"../x"}`:                  "bad_frame",
		`{"type":"hello","conversation_id":"a.b"}`:             "bad_frame",
		`{"type":"hello","identity":{"user_hash":"x"}}`:        "bad_frame",
		`{"type":"message","id":"c1","text":"hi"}{}`:           "bad_frame",
		`{"type":"shout"}`:                                     "bad_frame",
		`[]`:                                                   "bad_frame",
		`{"type":"message","id":"c1","text":"hi","after":"x"}`: "bad_frame",
	}
	for s, code := range bad {
		if _, err := decodeFrame([]byte(s), 10); err == nil || err.code != code {
			t.Errorf("%s: got %v, want %s", s, err, code)
		}
	}
}

func TestOrigins(t *testing.T) {
	st := &site{cfg: &Site{}, origins: []origin{{"https", "shop.example"}, {"https", "*.example.org"}}}
	for o, want := range map[string]bool{
		"https://shop.example": true, "http://shop.example": false, "https://shop.example:444": false,
		"https://a.example.org": true, "https://example.org": false, "https://evil-example.org": false,
		"": false, "null": false,
	} {
		r := httptest.NewRequest("GET", "http://gw.example/webchat/shop/ws", nil)
		if o != "" {
			r.Header.Set("Origin", o)
		}
		if got := st.allowsOrigin(r); got != want {
			t.Errorf("origin %q: %v, want %v", o, got, want)
		}
	}
}

func FuzzDecodeFrame(f *testing.F) {
	for _, s := range []string{`{"type":"hello","token":"a.b.c.d","identity":{"user_id":"u","user_hash":"00"}}`,
		`{"type":"message","id":"c1","text":"héllo","attachments":["x.y"]}`, `{"type":"typing","state":"start"}`,
		`{"type":"read","message_id":"msg_1"}`, `{"type":"message"`, `null`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fr, err := decodeFrame(data, 4000)
		if err == nil && fr.Type == frameMessage && !validClientID(fr.ID) {
			t.Fatalf("accepted a message with id %q", fr.ID)
		}
		_ = frameID(data)
	})
}

func FuzzTokens(f *testing.F) {
	s := signer{key: []byte("fuzz")}
	now := time.Unix(1_800_000_000, 0)
	f.Add(s.sessionToken(session{Site: "shop", Visitor: newVisitor(), Issued: now}))
	f.Add(s.attachmentToken(attachment{Site: "shop", Visitor: "v", Key: "k"}))
	f.Add("shop.a.1.x")
	f.Fuzz(func(t *testing.T, tok string) {
		if v, ok := s.parseSession(tok, "shop", time.Hour, now); ok && s.sessionToken(v) != tok {
			t.Fatalf("accepted a token it did not make: %q", tok)
		}
		if a, ok := s.parseAttachment(tok); ok && a.Site == "" && a.Key == "" && !strings.Contains(tok, ".") {
			t.Fatalf("accepted %q", tok)
		}
	})
}
