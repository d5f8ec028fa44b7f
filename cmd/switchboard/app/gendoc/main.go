// Command gendoc writes docs/configuration.md from the config types, or docs/openapi.json
// from router/rest/openapi.yaml and the records' schemas (go generate ./cmd/switchboard/app).
// CI fails when either file is out of date.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/switchboardhq/switchboard/cmd/switchboard/app"
	"github.com/switchboardhq/switchboard/router/rest"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: gendoc path/to/docs/configuration.md")
		os.Exit(2)
	}
	out := os.Args[1]
	if filepath.Base(out) == "openapi.json" {
		doc, err := rest.OpenAPI()
		if err == nil {
			err = os.WriteFile(out, append(doc, '\n'), 0o644)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "gendoc:", err)
			os.Exit(1)
		}
		return
	}
	root, err := filepath.Abs(filepath.Join(filepath.Dir(out), ".."))
	if err == nil {
		var doc string
		if doc, err = app.ConfigurationDoc(root); err == nil {
			err = os.WriteFile(out, []byte(doc), 0o644)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gendoc:", err)
		os.Exit(1)
	}
}
