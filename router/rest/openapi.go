package rest

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/goccy/go-yaml"

	"github.com/switchboardhq/switchboard/schema"
)

// openapiYAML is the REST API's OpenAPI 3.1 document, without the records' schemas.
//
//go:embed openapi.yaml
var openapiYAML []byte

// schemaNames are the records' JSON Schema files and their names under components.schemas.
var schemaNames = map[string]string{
	"message.v1.json": "Message", "event.v1.json": "Event", "status.v1.json": "Status",
	"conversation.v1.json": "Conversation", "customer.v1.json": "Customer", "defs.v1.json": "Defs",
}

var (
	openapiOnce sync.Once
	openapiDoc  []byte
	openapiErr  error
)

// OpenAPI is the document served at /v1/openapi.json (and kept as docs/openapi.json):
// openapi.yaml with the records' JSON Schemas (schema/jsonschema) added under
// components.schemas, their references pointed there.
func OpenAPI() ([]byte, error) {
	openapiOnce.Do(func() { openapiDoc, openapiErr = buildOpenAPI() })
	return openapiDoc, openapiErr
}

func buildOpenAPI() ([]byte, error) {
	var doc map[string]any
	if err := yaml.Unmarshal(openapiYAML, &doc); err != nil {
		return nil, fmt.Errorf("openapi.yaml: %w", err)
	}
	comps, _ := doc["components"].(map[string]any)
	schemas, _ := comps["schemas"].(map[string]any)
	if schemas == nil {
		return nil, fmt.Errorf("openapi.yaml has no components.schemas")
	}
	for file, name := range schemaNames {
		data, err := schema.JSONSchemas.ReadFile("jsonschema/" + file)
		if err != nil {
			return nil, err
		}
		var s map[string]any
		if err := json.Unmarshal(data, &s); err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		delete(s, "$id")
		delete(s, "$schema")
		schemas[name] = pointRefs(s, name)
	}
	return json.MarshalIndent(doc, "", "  ")
}

// pointRefs rewrites a schema's $refs (to another file, or within its own) to
// #/components/schemas/<Name>….
func pointRefs(v any, self string) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if r, ok := e.(string); ok && k == "$ref" {
				x[k] = componentRef(r, self)
				continue
			}
			x[k] = pointRefs(e, self)
		}
	case []any:
		for i, e := range x {
			x[i] = pointRefs(e, self)
		}
	}
	return v
}

func componentRef(ref, self string) string {
	file, frag, _ := strings.Cut(ref, "#")
	name := self
	if file != "" {
		name = schemaNames[file]
	}
	return "#/components/schemas/" + name + frag
}
