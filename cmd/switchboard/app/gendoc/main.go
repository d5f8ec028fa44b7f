// Command gendoc writes docs/configuration.md from the config types (go generate
// ./cmd/switchboard/app). CI fails when the file is out of date.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/switchboardhq/switchboard/cmd/switchboard/app"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: gendoc path/to/docs/configuration.md")
		os.Exit(2)
	}
	out := os.Args[1]
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
