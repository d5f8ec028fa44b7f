package twiliotest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"time"
)

// Call is one request the fake API received.
type Call struct {
	Method, Path string
	User, Pass   string // basic auth
	Form         url.Values
	JSON         []byte // a JSON body (the Content API)
}

// Reply is what the fake answers to a CreateMessage call.
type Reply struct {
	Status int    // HTTP status; 0 means 201
	Body   string // raw body; "" means Twilio's JSON for a queued message
	// Hangup closes the connection without an answer (the request did reach "Twilio").
	Hangup bool
}

// API is a fake of Twilio's REST API (the parts Switchboard calls): POST
// /2010-04-01/Accounts/{AccountSid}/Messages.json and GET media URLs. It checks basic auth
// against the credentials it was given and records every call.
type API struct {
	*httptest.Server
	User, Pass string

	mu      sync.Mutex
	calls   []Call
	replies []Reply
	media   map[string]Media
	n       int
}

// Media is a file served at a media path.
type Media struct {
	ContentType string
	Data        []byte
	Status      int // 0 means 200
}

// NewAPI starts the fake; it is closed by Close.
func NewAPI(user, pass string) *API {
	f := &API{User: user, Pass: pass, media: map[string]Media{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /2010-04-01/Accounts/{sid}/Messages.json", f.create)
	mux.HandleFunc("GET /2010-04-01/Accounts/{sid}/Messages/{msg}/Media/{media}", f.serveMedia)
	mux.HandleFunc("POST /v1/Content", f.createContent)
	f.Server = httptest.NewServer(mux)
	return f
}

// Queue makes the next CreateMessage calls answer with these replies, in order (then the
// default 201 queued).
func (f *API) Queue(r ...Reply) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.replies = append(f.replies, r...)
}

// AddMedia serves m at path (e.g. "/2010-04-01/Accounts/AC…/Messages/MM…/Media/ME…").
func (f *API) AddMedia(path string, m Media) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.media[path] = m
}

// Calls returns the requests received so far.
func (f *API) Calls() []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Call(nil), f.calls...)
}

func (f *API) record(r *http.Request) (Call, bool) {
	user, pass, _ := r.BasicAuth()
	_ = r.ParseForm()
	c := Call{Method: r.Method, Path: r.URL.Path, User: user, Pass: pass, Form: r.PostForm}
	f.mu.Lock()
	f.calls = append(f.calls, c)
	f.mu.Unlock()
	return c, user == f.User && pass == f.Pass
}

func (f *API) create(w http.ResponseWriter, r *http.Request) {
	c, ok := f.record(r)
	if !ok {
		writeError(w, 401, 20003, "Authenticate")
		return
	}
	f.mu.Lock()
	var reply Reply
	if len(f.replies) > 0 {
		reply, f.replies = f.replies[0], f.replies[1:]
	}
	f.n++
	sid := fmt.Sprintf("SM%032x", f.n)
	f.mu.Unlock()
	switch {
	case reply.Hangup:
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
	case reply.Body != "":
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(reply.Status)
		_, _ = w.Write([]byte(reply.Body))
	default:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(messageJSON(r.PathValue("sid"), sid, c.Form))
	}
}

// createContent answers the Content API's POST /v1/Content (content.twilio.com) with the
// created content, as Twilio documents it: a Content SID, the request's language, variables
// and types.
func (f *API) createContent(w http.ResponseWriter, r *http.Request) {
	user, pass, _ := r.BasicAuth()
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	f.mu.Lock()
	f.calls = append(f.calls, Call{Method: r.Method, Path: r.URL.Path, User: user, Pass: pass, JSON: body})
	f.n++
	sid := fmt.Sprintf("HX%032x", f.n)
	f.mu.Unlock()
	if user != f.User || pass != f.Pass {
		writeError(w, 401, 20003, "Authenticate")
		return
	}
	var req map[string]any
	if err := json.Unmarshal(body, &req); err != nil || req["types"] == nil || req["language"] == nil {
		writeError(w, 400, 20001, "Invalid content: types and language are required")
		return
	}
	now := time.Now().UTC().Format(time.RFC3339)
	req["sid"], req["account_sid"], req["date_created"], req["date_updated"] = sid, f.User, now, now
	req["url"] = "https://content.twilio.com/v1/Content/" + sid
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(req)
}

// messageJSON is Twilio's documented answer to a created message.
func messageJSON(account, sid string, form url.Values) map[string]any {
	now := time.Now().UTC().Format(time.RFC1123Z)
	status := "queued"
	if form.Get("MessagingServiceSid") != "" {
		status = "accepted"
	}
	return map[string]any{
		"account_sid": account, "api_version": "2010-04-01", "body": form.Get("Body"),
		"date_created": now, "date_sent": nil, "date_updated": now, "direction": "outbound-api",
		"error_code": nil, "error_message": nil, "from": nullIfEmpty(form.Get("From")),
		"messaging_service_sid": nullIfEmpty(form.Get("MessagingServiceSid")),
		"num_media":             fmt.Sprint(len(form["MediaUrl"])), "num_segments": "1", "price": nil, "price_unit": "USD",
		"sid": sid, "status": status, "to": form.Get("To"),
		"subresource_uris": map[string]string{"media": "/2010-04-01/Accounts/" + account + "/Messages/" + sid + "/Media.json"},
		"uri":              "/2010-04-01/Accounts/" + account + "/Messages/" + sid + ".json",
	}
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// ErrorBody is Twilio's documented JSON for a refused request.
func ErrorBody(status, code int, message string) string {
	b, _ := json.Marshal(map[string]any{"code": code, "message": message,
		"more_info": fmt.Sprintf("https://www.twilio.com/docs/errors/%d", code), "status": status})
	return string(b)
}

func writeError(w http.ResponseWriter, status, code int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(ErrorBody(status, code, message)))
}

func (f *API) serveMedia(w http.ResponseWriter, r *http.Request) {
	if _, ok := f.record(r); !ok {
		writeError(w, 401, 20003, "Authenticate")
		return
	}
	f.mu.Lock()
	m, ok := f.media[r.URL.Path]
	f.mu.Unlock()
	if !ok {
		writeError(w, 404, 20404, "The requested resource "+r.URL.Path+" was not found")
		return
	}
	if m.Status != 0 && m.Status != 200 {
		writeError(w, m.Status, 20500, http.StatusText(m.Status))
		return
	}
	w.Header().Set("Content-Type", m.ContentType)
	_, _ = w.Write(m.Data)
}
