package meta_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// graphCall is one request the fake Graph API received.
type graphCall struct {
	Method, Path, Query, Auth, ContentType string
	Body                                   []byte
}

// fakeGraph speaks the documented Graph API wire format for what Switchboard uses: the
// Send API, the Cloud API /messages and /media endpoints, media URLs and their downloads.
// fail, when set, answers a request instead (status and Graph error body).
type fakeGraph struct {
	*httptest.Server
	mu    sync.Mutex
	calls []graphCall
	seq   map[string]int // answers numbered per kind: wamid.sent1, m_sent1, media1, ...
	fail  func(r *http.Request) (int, string)
	media map[string][]byte // media id or CDN name → bytes
}

func newFakeGraph(t testing.TB) *fakeGraph {
	f := &fakeGraph{media: map[string][]byte{}, seq: map[string]int{}}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeGraph) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.calls = append(f.calls, graphCall{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery,
		Auth: r.Header.Get("Authorization"), ContentType: r.Header.Get("Content-Type"), Body: body})
	fail := f.fail
	f.mu.Unlock()
	if fail != nil {
		if status, errBody := fail(r); status != 0 {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_, _ = io.WriteString(w, errBody)
			return
		}
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case r.Method == "POST" && len(parts) == 3 && parts[2] == "messages" && parts[1] == phoneID:
		writeJSON(w, map[string]any{"messaging_product": "whatsapp",
			"contacts": []map[string]string{{"input": "16505551234", "wa_id": "16505551234"}},
			"messages": []map[string]string{{"id": fmt.Sprintf("wamid.sent%d", f.next("wamid")), "message_status": "accepted"}}})
	case r.Method == "POST" && len(parts) == 3 && parts[2] == "messages":
		writeJSON(w, map[string]string{"recipient_id": "6900123456789012", "message_id": fmt.Sprintf("m_sent%d", f.next("mid"))})
	case r.Method == "POST" && len(parts) == 3 && parts[2] == "media":
		writeJSON(w, map[string]string{"id": fmt.Sprintf("media%d", f.next("media"))})
	case r.Method == "GET" && parts[0] == "download":
		f.download(w, r, parts[1], true)
	case r.Method == "GET" && parts[0] == "cdn":
		f.download(w, r, parts[1], false)
	case r.Method == "GET" && len(parts) == 2:
		writeJSON(w, map[string]any{"messaging_product": "whatsapp", "url": f.URL + "/download/" + parts[1],
			"mime_type": "image/jpeg", "sha256": "x", "file_size": len(f.media[parts[1]]), "id": parts[1]})
	default:
		http.Error(w, `{"error":{"message":"Unknown path components","type":"OAuthException","code":2500}}`, 400)
	}
}

// setFail makes the fake answer requests with fail's status and body (0: answer normally).
func (f *fakeGraph) setFail(fail func(r *http.Request) (int, string)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail = fail
}

// next numbers the fake's answers of one kind from 1.
func (f *fakeGraph) next(kind string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq[kind]++
	return f.seq[kind]
}

// download serves media bytes; WhatsApp's need the bearer token, the CDN's do not.
func (f *fakeGraph) download(w http.ResponseWriter, r *http.Request, id string, auth bool) {
	f.mu.Lock()
	data, ok := f.media[id]
	f.mu.Unlock()
	if auth && r.Header.Get("Authorization") != "Bearer "+whatsappToken {
		http.Error(w, "unauthorized", 401)
		return
	}
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "image/jpeg")
	_, _ = w.Write(data)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// requests returns the calls made so far with the given method and path prefix.
func (f *fakeGraph) requests(method, prefix string) []graphCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []graphCall
	for _, c := range f.calls {
		if c.Method == method && strings.HasPrefix(c.Path, prefix) {
			out = append(out, c)
		}
	}
	return out
}
