package meta

import (
	"errors"
	"testing"

	"github.com/switchboardhq/switchboard/connectors"
	"github.com/switchboardhq/switchboard/schema"
)

// FuzzNormalize feeds arbitrary bodies (seeded with the documented payloads) to the
// normalizer: it must never panic, refuse only with a 400 or 404, and produce only messages
// and statuses the publisher accepts.
func FuzzNormalize(f *testing.F) {
	for _, path := range fixtures(f) {
		f.Add(readFile(f, path))
	}
	f.Add([]byte(`{"object":"page","entry":[{"id":1,"messaging":[{"sender":{"user_ref":"r"},"recipient":{},"timestamp":"12","postback":{}}]}]}`))
	c := New(testConfig(""), connectors.Host{})
	f.Fuzz(func(t *testing.T, body []byte) {
		b, err := c.normalize(testApp, body)
		if err != nil {
			var he *connectors.HTTPError
			if !errors.As(err, &he) || (he.Status != 400 && he.Status != 404) {
				t.Fatalf("refusal is not a 400/404: %v", err)
			}
			return
		}
		for _, it := range b.Items {
			checkItem(t, it)
		}
	})
}

func checkItem(t *testing.T, it item) {
	t.Helper()
	switch {
	case it.Message != nil:
		m := it.Message
		if m.ExternalID == "" || m.From.Kind == "" || m.From.Value == "" || !schema.ValidToken(m.Account) || m.Channel == "" {
			t.Fatalf("message the publisher would refuse: %+v", m)
		}
	case it.Status != nil:
		s := it.Status
		if s.ExternalID == "" || s.Status == "" || !schema.ValidToken(s.Account) {
			t.Fatalf("status the publisher would refuse: %+v", s)
		}
	case it.Watermark != nil:
		if it.Watermark.Before <= 0 || it.Watermark.To == "" {
			t.Fatalf("bad watermark %+v", it.Watermark)
		}
	default:
		t.Fatal("empty item")
	}
}
