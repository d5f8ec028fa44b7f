package telegram_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// apiCall is one request the fake Bot API received.
type apiCall struct {
	Method, ContentType string
	Body                []byte
}

// fakeBotAPI speaks the documented Bot API wire format for what Switchboard uses:
// sendMessage, sendPhoto, sendDocument, getFile and file downloads. Requests for any token
// but the bot's get Telegram's 401.
type fakeBotAPI struct {
	*httptest.Server
	token string
	mu    sync.Mutex
	calls []apiCall
	next  int64
	fail  func(method string) (int, string)
	files map[string][]byte // file_path → bytes
}

func newFakeBotAPI(t testing.TB, token string) *fakeBotAPI {
	f := &fakeBotAPI{token: token, next: 5000, files: map[string][]byte{}}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeBotAPI) serve(w http.ResponseWriter, r *http.Request) {
	if path, ok := strings.CutPrefix(r.URL.Path, "/file/bot"+f.token+"/"); ok {
		f.mu.Lock()
		data, found := f.files[path]
		f.mu.Unlock()
		if !found {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(data)
		return
	}
	method, ok := strings.CutPrefix(r.URL.Path, "/bot"+f.token+"/")
	if !ok {
		answer(w, 401, `{"ok":false,"error_code":401,"description":"Unauthorized"}`)
		return
	}
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.calls = append(f.calls, apiCall{Method: method, ContentType: r.Header.Get("Content-Type"), Body: body})
	f.next++
	id, fail := f.next, f.fail
	f.mu.Unlock()
	if fail != nil {
		if status, resp := fail(method); status != 0 {
			answer(w, status, resp)
			return
		}
	}
	switch method {
	case "sendMessage", "sendPhoto", "sendDocument":
		chat := chatOf(r, body)
		res, _ := json.Marshal(map[string]any{"ok": true, "result": map[string]any{"message_id": id, "date": time.Now().Unix(),
			"chat": map[string]any{"id": json.Number(chat), "type": "private"}}})
		answer(w, 200, string(res))
	case "getFile":
		var req struct {
			FileID string `json:"file_id"`
		}
		_ = json.Unmarshal(body, &req)
		res, _ := json.Marshal(map[string]any{"ok": true, "result": map[string]any{"file_id": req.FileID,
			"file_unique_id": "u1", "file_size": 10, "file_path": "photos/" + req.FileID + ".jpg"}})
		answer(w, 200, string(res))
	default:
		answer(w, 404, `{"ok":false,"error_code":404,"description":"Not Found: method not found"}`)
	}
}

// chatOf reads chat_id from a JSON or multipart request.
func chatOf(r *http.Request, body []byte) string {
	var v struct {
		ChatID string `json:"chat_id"`
	}
	if json.Unmarshal(body, &v) == nil && v.ChatID != "" {
		return v.ChatID
	}
	r.Body = io.NopCloser(strings.NewReader(string(body)))
	_ = r.ParseMultipartForm(1 << 20)
	return r.FormValue("chat_id")
}

func answer(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// setFail makes the fake answer Bot API calls with fail's status and body (0: normally).
func (f *fakeBotAPI) setFail(fail func(method string) (int, string)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail = fail
}

func (f *fakeBotAPI) requests(method string) []apiCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []apiCall
	for _, c := range f.calls {
		if c.Method == method {
			out = append(out, c)
		}
	}
	return out
}
