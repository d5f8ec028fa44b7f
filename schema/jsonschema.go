package schema

import "embed"

// JSONSchemas holds the JSON Schema (draft 2020-12) of every versioned type:
// message.v1.json, event.v1.json, status.v1.json, conversation.v1.json, customer.v1.json and
// the shared defs.v1.json. The gateway serves them at /v1/schemas/{name}.
//
//go:embed jsonschema/*.json
var JSONSchemas embed.FS
