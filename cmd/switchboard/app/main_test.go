package app_test

import (
	"flag"
	"fmt"
	"os"
	"slices"
	"testing"

	"github.com/switchboardhq/switchboard/cmd/switchboard/app/apptest"
)

// emitted lists every event type, and every kind and direction of message event, the gateway
// can put on the unified stream. Each test's gateway validates its events against the served
// schema when the test ends (apptest); a whole run of this package must have seen each of these.
var emitted = []string{
	"opened", "message", "queued", "assigned", "unassigned", "transferred", "reopened", "resolved",
	"delivery", "identity_linked", "identity_unlinked", "customer_merged", "customer_split",
	"identity_conflict",
	"message:message:inbound", "message:message:outbound", "message:note:outbound",
}

func TestMain(m *testing.M) {
	code := m.Run()
	if f := flag.Lookup("test.run"); code == 0 && f != nil && f.Value.String() == "" && !testing.Short() {
		seen := apptest.SeenEventTypes()
		for _, typ := range emitted {
			if !slices.Contains(seen, typ) {
				fmt.Fprintf(os.Stderr, "FAIL: no test validated a %q event against the served schema (seen: %v)\n", typ, seen)
				code = 1
			}
		}
	}
	os.Exit(code)
}
