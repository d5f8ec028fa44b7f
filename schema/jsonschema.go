package schema

import (
	"embed"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
)

// JSONSchemas holds the JSON Schema (draft 2020-12) of every versioned type:
// message.v1.json, event.v1.json, status.v1.json, conversation.v1.json, customer.v1.json and
// the shared defs.v1.json. The gateway serves them at /v1/schemas/{name}.
//
//go:embed jsonschema/*.json
var JSONSchemas embed.FS

// EventTypes lists every event type of the unified stream, as event.v1.json enumerates them
// (so a type added to the schema is known everywhere that asks).
func EventTypes() []EventType {
	eventTypesOnce.Do(func() {
		data, err := JSONSchemas.ReadFile("jsonschema/event.v1.json")
		if err != nil {
			panic(err)
		}
		var doc struct {
			Properties struct {
				Type struct {
					Enum []EventType `json:"enum"`
				} `json:"type"`
			} `json:"properties"`
		}
		if err := json.Unmarshal(data, &doc); err != nil || len(doc.Properties.Type.Enum) == 0 {
			panic(fmt.Sprintf("event.v1.json lists no event types: %v", err))
		}
		eventTypes = doc.Properties.Type.Enum
	})
	return slices.Clone(eventTypes)
}

var (
	eventTypesOnce sync.Once
	eventTypes     []EventType
)
