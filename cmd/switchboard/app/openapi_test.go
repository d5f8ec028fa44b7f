package app_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/switchboardhq/switchboard/cmd/switchboard/app/apptest"
	"github.com/switchboardhq/switchboard/router/rest"
)

// The OpenAPI document is valid OpenAPI 3.1 (the linter: the specification's own schema,
// through libopenapi-validator) and docs/openapi.json is the one served.
func TestOpenAPIDocumentIsValid(t *testing.T) {
	if _, err := apptest.OpenAPIValidator(); err != nil {
		t.Fatal(err)
	}
	doc, err := rest.OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	kept, err := os.ReadFile("../../../docs/openapi.json")
	if err != nil || !bytes.Equal(bytes.TrimSpace(kept), bytes.TrimSpace(doc)) {
		t.Errorf("docs/openapi.json is not the served document (%v): run go generate ./cmd/switchboard/app", err)
	}
}

// Every route of the REST API is in the OpenAPI document and everything documented is served:
// the REST endpoints (the customers' survey page and the dashboard's HTML aside), the API
// channel's intake and the gateway's own routes, each probed on a running gateway (the mux's
// plain 404 or a 405 means it is not served).
func TestOpenAPICoversTheRoutes(t *testing.T) {
	data, err := rest.OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			if method != "parameters" {
				documented[strings.ToUpper(method)+" "+path] = true
			}
		}
	}
	served := map[string]bool{
		"POST /v1/channels/api/{account}/messages": true,                                                                 // the API channel (connectors/api)
		"GET /v1/schemas/{name}":                   true, "GET /v1/openapi.json": true, "GET /v1/dashboard/stream": true, // cmd/switchboard/app/http.go
		"GET /healthz": true, "GET /readyz": true, "GET /metrics": true,
	}
	for _, ep := range rest.New(rest.Options{}).Endpoints() {
		if !strings.HasPrefix(ep.Path, "/v1/") && !strings.HasPrefix(ep.Path, "/-/") {
			continue // HTML pages: /dashboard, /survey/{token}
		}
		served[ep.Method+" "+strings.ReplaceAll(ep.Path, "...}", "}")] = true
	}
	for r := range served {
		if !documented[r] {
			t.Errorf("%s is served but not in the OpenAPI document", r)
		}
	}
	g := apptest.Start(t, apptest.DefaultConfig)
	for r := range documented {
		if !served[r] {
			t.Errorf("%s is documented but not served", r)
			continue
		}
		method, path, _ := strings.Cut(r, " ")
		path = strings.NewReplacer("{id}", "x1", "{account}", "demo", "{key}", "att/x", "{name}", "event.v1.json", "{identity}", "email:x@example.com",
			"{seq}", "1").Replace(path)
		token := apptest.Token
		if path == "/v1/dashboard/stream" {
			token = "wrong" // authorized, it would stream for ever
		}
		st, body := g.Do(method, path, token, nil)
		if st == http.StatusMethodNotAllowed || (st == http.StatusNotFound && strings.HasPrefix(string(body), "404 page not found")) {
			t.Errorf("%s: %d %s: not routed", r, st, body)
		}
	}
}

// The e2e check can fail: a response that breaks its schema, an undocumented status and a
// request the gateway took that breaks the document are reported; a good exchange is not.
func TestOpenAPICheckCatchesMismatches(t *testing.T) {
	exchange := func(method, path, reqBody string, status int, body string) []string {
		req, _ := http.NewRequest(method, "http://127.0.0.1:1"+path, strings.NewReader(reqBody))
		req.Header.Set("Authorization", "Bearer x")
		if reqBody != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp := &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}}}
		return apptest.CheckAgainstOpenAPI(req, []byte(reqBody), resp, []byte(body))
	}
	if p := exchange("GET", "/v1/agents", "", 200, `{"agents": []}`); len(p) != 0 {
		t.Errorf("a good exchange: %v", p)
	}
	if p := exchange("GET", "/v1/agents", "", 200, `{"agents": 5}`); len(p) == 0 {
		t.Error("a response breaking its schema was not reported")
	}
	if p := exchange("PUT", "/v1/agents/ann/presence", `{"status": "asleep"}`, 200, `{"agent": "ann", "status": "away", "since": "2026-12-01T10:00:00Z", "last_seen": "2026-12-01T10:00:00Z"}`); len(p) == 0 {
		t.Error("an accepted request breaking the document was not reported")
	}
	if p := exchange("PUT", "/v1/agents/ann/presence", `{"status": "asleep"}`, 400, `{"error": {"code": "bad_request", "message": "status", "field": "status"}}`); len(p) != 0 {
		t.Errorf("a refused bad request (on purpose) was reported: %v", p)
	}
}
