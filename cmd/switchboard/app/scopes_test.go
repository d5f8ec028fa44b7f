package app_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/cmd/switchboard/app/apptest"
	"github.com/switchboardhq/switchboard/schema"
)

// Token scopes and agents' own tokens: a read-only token reads and cannot reply, an agent's
// token replies as that agent only (naming another is refused) and sets only that agent's
// presence, and neither changes what needs admin (the rules reload, webhook subscriptions).
func TestTokenScopes(t *testing.T) {
	t.Setenv("READ_TOKEN", "r-0123456789")
	t.Setenv("ANN_TOKEN", "a-0123456789")
	t.Setenv("ADMIN_TOKEN", "x-0123456789")
	g := apptest.Start(t, strings.Replace(apptest.DefaultConfig, `    - {name: test, token: {env: APPTEST_TOKEN}}`, `    - {name: test, token: {env: APPTEST_TOKEN}}
    - {name: reports, token: {env: READ_TOKEN}, scopes: [read]}
    - {name: ann-desk, token: {env: ANN_TOKEN}, scopes: [read, agent], agent: ann}
    - {name: ops, token: {env: ADMIN_TOKEN}, scopes: [admin]}`, 1)+`
router:
  agents:
    - {id: ann, skills: [general], capacity: {default: 5}}
    - {id: bob, skills: [general], capacity: {default: 5}}
`)
	g.PostAPI("s1", "scoped@example.com", "hello")
	conv := g.Events("sb.conv.*.opened", 1, 10*time.Second)[0].ConversationID
	reply := func(token, agent string) (int, string) {
		st, body := g.Do("POST", "/v1/conversations/"+conv+"/messages", token, map[string]any{"text": "hi", "agent_id": agent})
		return st, string(body)
	}
	for _, c := range []struct {
		name, method, path, token string
		body                      any
		want                      int
		msg                       string
	}{
		{"read reads", "GET", "/v1/conversations/" + conv, "r-0123456789", nil, 200, ""},
		{"read cannot resolve", "POST", "/v1/conversations/" + conv + "/resolve", "r-0123456789", nil, 403, `token \"reports\" lacks the agent scope`},
		{"read cannot reload", "POST", "/v1/rules/reload", "r-0123456789", nil, 403, "lacks the admin scope"},
		{"agent cannot add a webhook", "POST", "/v1/webhooks", "a-0123456789", map[string]any{"id": "w", "url": "http://127.0.0.1:1/"}, 403, "lacks the admin scope"},
		{"agent cannot change the roster", "PUT", "/v1/agents/eve", "a-0123456789", map[string]any{"skills": []string{"general"}}, 403, "lacks the admin scope"},
		{"agent cannot remove an agent", "DELETE", "/v1/agents/eve", "a-0123456789", nil, 403, "lacks the admin scope"},
		{"read cannot reload the config", "POST", "/-/reload", "r-0123456789", nil, 403, "lacks the admin scope"},
		{"admin changes the roster", "PUT", "/v1/agents/eve", "x-0123456789", map[string]any{"skills": []string{"general"}}, 201, ""},
		{"admin removes an agent", "DELETE", "/v1/agents/eve", "x-0123456789", nil, 200, ""},
		{"admin reloads (no config file here)", "POST", "/-/reload", "x-0123456789", nil, 409, "without a config file"},
		{"agent sets their presence", "PUT", "/v1/agents/ann/presence", "a-0123456789", map[string]any{"status": "available"}, 200, ""},
		{"agent cannot set another's", "PUT", "/v1/agents/bob/presence", "a-0123456789", map[string]any{"status": "away"}, 403, "acts as agent ann, not bob"},
		{"agent cannot act as another", "POST", "/v1/conversations/" + conv + "/resolve", "a-0123456789", map[string]any{"agent_id": "bob"}, 403, "acts as agent ann, not bob"},
		{"admin cannot read", "GET", "/v1/agents", "x-0123456789", nil, 403, "lacks the read scope"},
		{"the dashboard stream needs read", "GET", "/v1/dashboard/stream", "x-0123456789", nil, 401, ""},
	} {
		st, body := g.Do(c.method, c.path, c.token, c.body)
		if st != c.want || !strings.Contains(string(body), c.msg) {
			t.Errorf("%s: %d %s, want %d %q", c.name, st, body, c.want, c.msg)
		}
	}
	if st, body := reply("r-0123456789", ""); st != http.StatusForbidden {
		t.Errorf("a read-only token replied: %d %s", st, body)
	}
	if st, body := reply("a-0123456789", "bob"); st != http.StatusForbidden || !strings.Contains(body, "acts as agent ann") {
		t.Errorf("ann's token replied as bob: %d %s", st, body)
	}
	if st, body := reply("a-0123456789", ""); st != http.StatusAccepted {
		t.Fatalf("ann's reply: %d %s", st, body)
	}
	var out *schema.Event
	for _, e := range g.Events("sb.conv."+conv+".message", 2, 10*time.Second) {
		if e.Message.Direction == schema.Outbound {
			out = e
		}
	}
	if out == nil || out.Message.AgentID != "ann" || out.Actor != "agent:ann;token:ann-desk" {
		t.Errorf("the reply through ann's token: %+v", out)
	}
}

// mintJWT writes an HS256 JWT by hand (base64url header.payload, HMAC-SHA256): the test's own
// encoder, not the library the gateway verifies with.
func mintJWT(key, alg string, claims map[string]any) string {
	enc := func(v any) string {
		data, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(data)
	}
	head := enc(map[string]string{"alg": alg, "typ": "JWT"}) + "." + enc(claims)
	if alg == "none" {
		return head + "."
	}
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte(head))
	return head + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// JWTs signed by the helpdesk: sub is the agent, scope the scopes; a forged, expired, unsigned
// or foreign-audience token is refused.
func TestHelpdeskSignedJWTs(t *testing.T) {
	t.Setenv("JWT_KEY", "a-shared-key-of-32-bytes-or-more!!")
	g := apptest.Start(t, strings.Replace(apptest.DefaultConfig, "rest:\n", "rest:\n  jwt: {key: {env: JWT_KEY}, audience: switchboard}\n", 1)+`
router:
  agents:
    - {id: ann, skills: [general], capacity: {default: 5}}
`)
	g.PostAPI("j1", "jwt@example.com", "hello")
	conv := g.Events("sb.conv.*.opened", 1, 10*time.Second)[0].ConversationID
	exp := time.Now().Add(time.Hour).Unix()
	good := map[string]any{"sub": "ann", "scope": "read agent", "aud": "switchboard", "exp": exp}
	with := func(k string, v any) map[string]any {
		c := map[string]any{}
		for a, b := range good {
			c[a] = b
		}
		c[k] = v
		return c
	}
	for _, c := range []struct {
		name, token string
		agent       string
		want        int
	}{
		{"ann's JWT replies as ann", mintJWT("a-shared-key-of-32-bytes-or-more!!", "HS256", good), "", 202},
		{"not as bob", mintJWT("a-shared-key-of-32-bytes-or-more!!", "HS256", good), "bob", 403},
		{"read only", mintJWT("a-shared-key-of-32-bytes-or-more!!", "HS256", with("scope", "read")), "", 403},
		{"forged", mintJWT("another-key-another-key-another-k", "HS256", good), "", 401},
		{"expired", mintJWT("a-shared-key-of-32-bytes-or-more!!", "HS256", with("exp", time.Now().Add(-time.Minute).Unix())), "", 401},
		{"no expiry", mintJWT("a-shared-key-of-32-bytes-or-more!!", "HS256", with("exp", nil)), "", 401},
		{"another audience", mintJWT("a-shared-key-of-32-bytes-or-more!!", "HS256", with("aud", "elsewhere")), "", 401},
		{"unsigned", mintJWT("", "none", good), "", 401},
	} {
		st, body := g.Do("POST", "/v1/conversations/"+conv+"/messages", c.token, map[string]any{"text": "hi", "agent_id": c.agent})
		if st != c.want {
			t.Errorf("%s: %d %s, want %d", c.name, st, body, c.want)
		}
	}
	var out *schema.Event
	for _, e := range g.Events("sb.conv."+conv+".message", 2, 10*time.Second) {
		if e.Message.Direction == schema.Outbound {
			out = e
		}
	}
	if out == nil || out.Message.AgentID != "ann" {
		t.Errorf("the reply through ann's JWT: %+v", out)
	}
	// The static token still works beside the JWTs.
	if st, _ := g.Do("GET", "/v1/conversations/"+conv, apptest.Token, nil); st != 200 {
		t.Errorf("the configured token: %d", st)
	}
}
