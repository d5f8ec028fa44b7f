package twilio

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestFixturesNormalize posts Twilio's parameter sets for SMS, MMS and WhatsApp (text, media,
// location, button, quoted reply, click-to-WhatsApp referral), signed by the reference
// implementation, and compares what is published with the golden JSON beside each fixture.
func TestFixturesNormalize(t *testing.T) {
	forms, _ := filepath.Glob("testdata/*.form")
	if len(forms) < 8 {
		t.Fatalf("expected the 8 fixtures, found %d", len(forms))
	}
	for _, path := range forms {
		name := strings.TrimSuffix(filepath.Base(path), ".form")
		t.Run(name, func(t *testing.T) {
			r := newRig(t, map[string]*Account{"main": testAccount()}, testPublic)
			status, body := r.post("/v1/channels/twilio/main/messages", readFixture(t, name+".form"), testToken)
			if status != 200 || body != emptyTwiML {
				t.Fatalf("answer %d %q, want 200 with empty TwiML", status, body)
			}
			if len(r.pub.messages) != 1 {
				t.Fatalf("published %d messages", len(r.pub.messages))
			}
			got, _ := json.MarshalIndent(r.pub.messages[0], "", "  ")
			golden := "testdata/" + name + ".json"
			if *update {
				if err := os.WriteFile(golden, append(got, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if strings.TrimSpace(string(want)) != string(got) {
				t.Fatalf("normalized message differs from %s:\n%s", golden, got)
			}
		})
	}
}
