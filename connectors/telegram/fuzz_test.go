package telegram

import (
	"errors"
	"testing"

	"github.com/switchboardhq/switchboard/connectors"
	"github.com/switchboardhq/switchboard/schema"
)

// FuzzNormalize feeds arbitrary updates (seeded with the documented ones) to the normalizer:
// it must never panic, refuse only with a 400, and produce only messages the publisher takes.
func FuzzNormalize(f *testing.F) {
	for _, path := range fixtures(f) {
		f.Add(readFile(f, path))
	}
	f.Add([]byte(`{"update_id":1,"callback_query":{"id":"x","from":{"id":1},"data":"d"}}`))
	f.Add([]byte(`{"update_id":2,"message_reaction":{"chat":{"id":1,"type":"private"},"message_id":3,"user":{"id":1},"old_reaction":[{"type":"emoji","emoji":"x"}]}}`))
	c := New(testConfig(""), connectors.Host{})
	b := c.bots[testAccount]
	f.Fuzz(func(t *testing.T, body []byte) {
		n, err := normalize(b, body)
		if err != nil {
			var he *connectors.HTTPError
			if !errors.As(err, &he) || he.Status != 400 {
				t.Fatalf("refusal is not a 400: %v", err)
			}
			return
		}
		if (n.Message == nil) == (n.Ignored == "") {
			t.Fatalf("an update must be either a message or ignored: %+v", n)
		}
		if m := n.Message; m != nil && (m.ExternalID == "" || m.From.Kind != "telegram" || m.From.Value == "" || !schema.ValidToken(m.Account)) {
			t.Fatalf("message the publisher would refuse: %+v", m)
		}
	})
}
