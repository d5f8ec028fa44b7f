package twilio

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/switchboardhq/switchboard/schema"
)

// FuzzNormalize feeds arbitrary forms to the normalizer: it must never panic, and whatever it
// accepts must satisfy the publisher's contract and encode as JSON.
func FuzzNormalize(f *testing.F) {
	forms, _ := filepath.Glob("testdata/*.form")
	for _, p := range forms {
		b, _ := os.ReadFile(p)
		f.Add(string(b))
	}
	f.Add("MessageSid=SM1&From=07911+123456&To=%2B14155550100&NumMedia=-3&MediaUrl0=ftp%3A%2F%2Fx&Latitude=NaN&Longitude=1")
	f.Add("MessageSid=SM1&From=whatsapp%3A&To=whatsapp%3A%2B1&Body=%ff%fe")
	a := compile("main", testAccount(), "")
	f.Fuzz(func(t *testing.T, body string) {
		form, err := url.ParseQuery(body)
		if err != nil {
			return // the signature check refuses what does not parse
		}
		m, err := a.normalize(form)
		if err != nil {
			return
		}
		if m.ExternalID == "" || m.From.Value == "" || m.From.Kind != "phone" || len(m.To) != 1 || !schema.ValidToken(m.Account) ||
			(m.Channel != schema.ChannelSMS && m.Channel != schema.ChannelWhatsApp) {
			t.Fatalf("accepted an incomplete message: %+v", m)
		}
		if len(m.Attachments) > maxMedia {
			t.Fatalf("%d attachments", len(m.Attachments))
		}
		if _, err := json.Marshal(m); err != nil {
			t.Fatalf("does not encode: %v", err)
		}
		var raw map[string]string
		if err := json.Unmarshal(m.Raw, &raw); err != nil {
			t.Fatalf("raw is not a JSON object: %v", err)
		}
	})
}
