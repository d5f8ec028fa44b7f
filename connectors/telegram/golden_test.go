package telegram

import (
	"flag"
	"path/filepath"
	"testing"

	"github.com/switchboardhq/switchboard/connectors"
	"github.com/switchboardhq/switchboard/connectors/connectortest"
)

var updateGolden = flag.Bool("update", false, "rewrite testdata/*.golden.json from the current output")

// TestNormalizeGolden checks each documented update against its normalized output in
// testdata/<name>.golden.json (go test -run Golden -update rewrites them; review the diff).
func TestNormalizeGolden(t *testing.T) {
	c := New(testConfig(""), connectors.Host{})
	b := c.bots[testAccount]
	for _, f := range fixtures(t) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			n, err := normalize(b, readFile(t, f))
			if err != nil {
				t.Fatalf("normalize: %v", err)
			}
			connectortest.Golden(t, f, n, *updateGolden)
		})
	}
}
