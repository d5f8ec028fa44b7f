// Package schematest validates JSON documents against Switchboard's JSON Schemas, for tests
// that check what the gateway really emits.
package schematest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/switchboardhq/switchboard/schema"
)

const base = "https://switchboard.dev/schema/"

var (
	once     sync.Once
	compiled map[string]*jsonschema.Schema
	loadErr  error
)

// Compile compiles every embedded schema, keyed by file name ("message.v1.json").
func Compile() (map[string]*jsonschema.Schema, error) {
	once.Do(func() {
		c := jsonschema.NewCompiler()
		c.AssertFormat()
		names, err := fs.Glob(schema.JSONSchemas, "jsonschema/*.json")
		if err != nil {
			loadErr = err
			return
		}
		for _, n := range names {
			data, _ := schema.JSONSchemas.ReadFile(n)
			doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
			if err != nil {
				loadErr = fmt.Errorf("%s: %w", n, err)
				return
			}
			if err := c.AddResource(base+n[len("jsonschema/"):], doc); err != nil {
				loadErr = err
				return
			}
		}
		compiled = map[string]*jsonschema.Schema{}
		for _, n := range names {
			name := n[len("jsonschema/"):]
			if compiled[name], err = c.Compile(base + name); err != nil {
				loadErr = fmt.Errorf("compile %s: %w", name, err)
				return
			}
		}
	})
	return compiled, loadErr
}

// Validate checks that data (a JSON document) conforms to the named schema.
func Validate(name string, data []byte) error {
	schemas, err := Compile()
	if err != nil {
		return err
	}
	s, ok := schemas[name]
	if !ok {
		return fmt.Errorf("no schema %q", name)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return err
	}
	return s.Validate(v)
}

// Check fails the test if v, marshalled to JSON, does not conform to the named schema.
func Check(t testing.TB, name string, v any) {
	t.Helper()
	data, ok := v.([]byte)
	if !ok {
		var err error
		if data, err = json.Marshal(v); err != nil {
			t.Fatal(err)
		}
	}
	if err := Validate(name, data); err != nil {
		t.Fatalf("%s does not conform to %s:\n%v\n%s", shorten(data), name, err, "")
	}
}

func shorten(b []byte) string {
	if len(b) > 600 {
		return string(b[:600]) + "…"
	}
	return string(b)
}
