package flows

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/connectors"
	"github.com/switchboardhq/switchboard/router/rules"
	"github.com/switchboardhq/switchboard/schema"
)

// Env is what flows use beyond their file: business hours (the rules file's), the HTTP
// client of lookup steps, and the knowledge base of article steps. A nil Env (or nil field)
// knows no hours, fails every lookup and finds no article.
type Env struct {
	Calendar func(name string) rules.Calendar
	Lookup   func(ctx context.Context, req *LookupRequest) (map[string]string, error)
	Search   func(query, language string, n int) ([]Article, error)
}

// Article is a knowledge-base match as an article step shows it.
type Article struct {
	ID      string  `json:"id"`
	Title   string  `json:"title"`
	Snippet string  `json:"snippet,omitempty"`
	URL     string  `json:"url,omitempty"`
	Score   float64 `json:"score,omitempty"`
}

// LookupRequest is one lookup step's call.
type LookupRequest struct {
	Flow, Step   string
	Conversation string
	Spec         *LookupSpec
	Vars         map[string]string
	Now          time.Time
}

// Bind gives the file's flows their environment.
func (f *File) Bind(env *Env) {
	for _, fl := range f.Flows {
		fl.env = env
	}
}

func (e *Env) calendar(name string) rules.Calendar {
	if e == nil || e.Calendar == nil {
		return nil
	}
	return e.Calendar(name)
}

// lookup runs a lookup step: its next step and why.
func (f *Flow) lookup(in *In, st *State, s *step) (string, string) {
	if f.env == nil || f.env.Lookup == nil {
		return s.onFailure, "lookup failed: no lookup client"
	}
	ctx, cancel := context.WithTimeout(in.ctx(), s.lookup.timeout())
	defer cancel()
	res, err := f.env.Lookup(ctx, &LookupRequest{Flow: f.Name, Step: s.name, Conversation: in.Conversation, Spec: s.lookup, Vars: st.Vars, Now: in.Now})
	if err != nil {
		return s.onFailure, "lookup failed: " + err.Error()
	}
	prefix := "lookup." + cmpOr(s.lookup.Save, s.name) + "."
	for _, k := range slices.Sorted(maps.Keys(res)) {
		st.Vars[prefix+k] = res[k]
	}
	return s.next, fmt.Sprintf("lookup answered %d fields", len(res))
}

func (l *LookupSpec) timeout() time.Duration {
	if d := l.Timeout.D(); d > 0 {
		return d
	}
	return 3 * time.Second
}

// article searches the knowledge base: the messages to send (the matches, then the question
// whether they solved it), why, and whether anything matched.
func (f *Flow) article(st *State, s *step) ([]Message, string, bool) {
	q := strings.TrimSpace(render(s.text, st.Vars))
	if q == "" {
		return nil, "nothing to search for", false
	}
	if f.env == nil || f.env.Search == nil {
		return nil, "no knowledge base", false
	}
	found, err := f.env.Search(q, st.Vars["customer.language"], 3)
	if err != nil {
		return nil, "knowledge base: " + err.Error(), false
	}
	if len(found) == 0 {
		return nil, fmt.Sprintf("no article matches %q", q), false
	}
	var lines, ids []string
	for i, a := range found {
		line := fmt.Sprintf("%d. %s", i+1, a.Title)
		if a.Snippet != "" {
			line += " — " + a.Snippet
		}
		if a.URL != "" {
			line += "\n   " + a.URL
		}
		lines = append(lines, line)
		ids = append(ids, a.ID)
	}
	st.Vars["article."+s.name] = strings.Join(ids, " ")
	intro := cmpOr(s.intro, "This may help:")
	msgs := []Message{{Text: render(intro, st.Vars) + "\n" + strings.Join(lines, "\n"), Articles: found}, f.question(s, st.Vars, false)}
	return msgs, fmt.Sprintf("%d articles match %q: %s", len(found), q, strings.Join(ids, ", ")), true
}

// MaxLookupResponse bounds a lookup's answer.
const MaxLookupResponse = 64 << 10

// HTTPLookup is the lookup client: a POST of {flow, step, conversation_id, vars} as JSON,
// signed like the event webhooks when the spec names a secret; the answer must be a JSON
// object (nested objects flatten to a.b, arrays and other values to their JSON text).
func HTTPLookup(client *http.Client) func(ctx context.Context, req *LookupRequest) (map[string]string, error) {
	if client == nil {
		client = &http.Client{}
	}
	return func(ctx context.Context, lr *LookupRequest) (map[string]string, error) {
		id := fmt.Sprintf("lookup_%s_%s_%d", lr.Conversation, lr.Step, lr.Now.UnixMilli())
		body, _ := json.Marshal(map[string]any{"flow": lr.Flow, "step": lr.Step, "conversation_id": lr.Conversation, "vars": lr.Vars})
		target := os.ExpandEnv(lr.Spec.URL)
		if u, err := url.Parse(target); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("the lookup URL %q (%s) is not an http or https URL", target, lr.Spec.URL)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("User-Agent", "switchboard-flows")
		if env := lr.Spec.SecretEnv; env != "" {
			secret := os.Getenv(env)
			if secret == "" {
				return nil, fmt.Errorf("the secret's environment variable %s is empty", env)
			}
			ts := strconv.FormatInt(lr.Now.Unix(), 10)
			req.Header.Set("webhook-id", id)
			req.Header.Set("webhook-timestamp", ts)
			req.Header.Set("webhook-signature", connectors.SignWebhook(secret, id, ts, body))
		}
		resp, err := client.Do(req)
		if err != nil {
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return nil, fmt.Errorf("no answer within %s", lr.Spec.timeout())
			}
			return nil, err
		}
		defer resp.Body.Close()
		data, err := io.ReadAll(io.LimitReader(resp.Body, MaxLookupResponse+1))
		if err != nil {
			return nil, err
		}
		if resp.StatusCode/100 != 2 {
			return nil, fmt.Errorf("%s answered %s", target, resp.Status)
		}
		if len(data) > MaxLookupResponse {
			return nil, fmt.Errorf("the answer is larger than %d bytes", MaxLookupResponse)
		}
		var obj map[string]any
		if err := json.Unmarshal(data, &obj); err != nil {
			return nil, fmt.Errorf("the answer is not a JSON object: %v", err)
		}
		out := map[string]string{}
		flatten("", obj, out)
		return out, nil
	}
}

func flatten(prefix string, obj map[string]any, out map[string]string) {
	for k, v := range obj {
		key := prefix + k
		switch v := v.(type) {
		case map[string]any:
			flatten(key+".", v, out)
		case string:
			out[key] = v
		case nil:
			out[key] = ""
		case float64:
			out[key] = strconv.FormatFloat(v, 'f', -1, 64)
		case bool:
			out[key] = strconv.FormatBool(v)
		default:
			b, _ := json.Marshal(v)
			out[key] = string(b)
		}
	}
}

// PayloadPrefix prefixes the payload of a flow's buttons ("flow:billing").
const PayloadPrefix = "flow:"

// AnswerOf is what a customer's message answers: its text (without an email's quoted
// reply; a button's title when it has no text) and the payload of a flow's button ("" for
// typed words, and for another bot's button, whose title is read as the answer instead).
func AnswerOf(m *schema.Message) (text, payload string) {
	text = m.Text
	if m.StrippedText != "" {
		text = m.StrippedText
	}
	if m.Action != nil {
		if p, ok := strings.CutPrefix(m.Action.Payload, PayloadPrefix); ok {
			payload = p
		}
		if text == "" {
			text = m.Action.Title
		}
	}
	return text, payload
}

// CustomerVars are the customer.* variables a flow starts with: the record's attributes and
// name (else the channel profile's name), its id, and the language (the attribute, else the
// message's), plus message.channel.
func CustomerVars(cust *schema.Customer, m *schema.Message) map[string]string {
	vars := map[string]string{}
	if cust != nil {
		for k, v := range cust.Attributes {
			vars["customer."+k] = v
		}
		if cust.Name != "" {
			vars["customer.name"] = cust.Name
		}
		if cust.ID != "" {
			vars["customer.id"] = cust.ID
		}
	}
	if m != nil {
		if _, ok := vars["customer.name"]; !ok && m.Profile != nil && m.Profile.Name != "" {
			vars["customer.name"] = m.Profile.Name
		}
		if _, ok := vars["customer.language"]; !ok && m.Language != "" {
			vars["customer.language"] = m.Language
		}
		vars["message.channel"] = string(m.Channel)
	}
	return vars
}
