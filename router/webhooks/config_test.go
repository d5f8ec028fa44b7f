package webhooks

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// A subscription from the API: whatever the body, a subscription or a ValidationError naming
// a field, never a panic.
func FuzzSpec(f *testing.F) {
	f.Add(`{"id": "desk", "url": "https://h.example.com/x", "secrets": ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]}`)
	f.Add(`{"id": "desk", "url": "http://127.0.0.1:1/", "events": ["resolved", "nope"], "timeout": "-1s"}`)
	f.Add(`{"id": "a.b", "url": "ftp://x", "secrets": ["whsec_!!"], "start": "later"}`)
	f.Fuzz(func(t *testing.T, body string) {
		var sp Spec
		if json.Unmarshal([]byte(body), &sp) != nil {
			return
		}
		s, err := sp.subscription()
		var ve *ValidationError
		switch {
		case err == nil:
			if s.ID != sp.ID || s.Timeout.D() <= 0 || len(s.Secrets) == 0 {
				t.Fatalf("accepted %+v from %q", s, body)
			}
		case errors.As(err, &ve):
			if ve.Field == "" || ve.Msg == "" || len(ve.All) == 0 {
				t.Fatalf("a validation error without its field: %+v", ve)
			}
		default:
			t.Fatalf("%q: %v", body, err)
		}
	})
}

func TestSpecNamesEachProblem(t *testing.T) {
	_, err := Spec{ID: "desk", URL: "https://h.example.com", Secrets: []string{"whsec_c2hvcnQ="}, Events: []string{"resolvd"}}.subscription()
	var ve *ValidationError
	if !errors.As(err, &ve) || ve.Field != "secrets[0]" || len(ve.All) != 2 || !strings.Contains(ve.All[1], `unknown event type "resolvd"`) {
		t.Fatalf("%v", err)
	}
}
