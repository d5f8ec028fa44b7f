package schema_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/schema"
)

// The Go types and the JSON Schema files must describe the same documents: same property
// names, the same required set (fields without omitempty), compatible types, recursively.
var agreements = []struct {
	file string
	typ  reflect.Type
}{
	{"message.v1.json", reflect.TypeFor[schema.Message]()},
	{"event.v1.json", reflect.TypeFor[schema.Event]()},
	{"status.v1.json", reflect.TypeFor[schema.StatusUpdate]()},
	{"conversation.v1.json", reflect.TypeFor[schema.Conversation]()},
	{"customer.v1.json", reflect.TypeFor[schema.Customer]()},
}

func TestGoTypesAgreeWithJSONSchemas(t *testing.T) {
	docs := loadDocs(t)
	for _, a := range agreements {
		t.Run(a.file, func(t *testing.T) {
			var problems []string
			compare(docs, a.file, docs[a.file], a.typ, a.typ.Name(), &problems, map[string]bool{})
			if len(problems) > 0 {
				t.Fatalf("Go type %s and %s disagree:\n  %s", a.typ, a.file, strings.Join(problems, "\n  "))
			}
		})
	}
}

func loadDocs(t *testing.T) map[string]map[string]any {
	docs := map[string]map[string]any{}
	entries, err := schema.JSONSchemas.ReadDir("jsonschema")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, _ := schema.JSONSchemas.ReadFile("jsonschema/" + e.Name())
		var doc map[string]any
		if err := json.Unmarshal(data, &doc); err != nil {
			t.Fatalf("%s: %v", e.Name(), err)
		}
		docs[e.Name()] = doc
	}
	return docs
}

// resolve follows $ref (relative file and/or #/$defs/name) and returns the node and its file.
func resolve(docs map[string]map[string]any, file string, node map[string]any) (string, map[string]any) {
	for {
		ref, ok := node["$ref"].(string)
		if !ok {
			return file, node
		}
		target, frag, _ := strings.Cut(ref, "#")
		if target != "" {
			file = target
		}
		node = docs[file]
		for _, part := range strings.Split(strings.TrimPrefix(frag, "/"), "/") {
			if part == "" {
				continue
			}
			node, _ = node[part].(map[string]any)
		}
		if node == nil {
			panic("dangling $ref " + ref + " in " + file)
		}
	}
}

var (
	timeType = reflect.TypeFor[time.Time]()
	rawType  = reflect.TypeFor[json.RawMessage]()
)

func compare(docs map[string]map[string]any, file string, node map[string]any, t reflect.Type, path string, problems *[]string, seen map[string]bool) {
	file, node = resolve(docs, file, node)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	bad := func(format string, args ...any) {
		*problems = append(*problems, path+": "+fmt.Sprintf(format, args...))
	}
	types := schemaTypes(node)
	switch {
	case t == rawType:
		if len(types) != 0 {
			bad("raw JSON must be unconstrained in the schema, has type %v", types)
		}
	case t == timeType:
		if node["format"] != "date-time" {
			bad("time.Time needs format date-time")
		}
	case t.Kind() == reflect.Struct:
		key := file + "|" + t.String()
		if seen[key] {
			return
		}
		seen[key] = true
		if !types["object"] || node["additionalProperties"] != false {
			bad("struct needs type object with additionalProperties false")
		}
		compareStruct(docs, file, node, t, path, problems, seen)
	case t.Kind() == reflect.Slice:
		if !types["array"] {
			bad("slice needs type array")
			return
		}
		items, _ := node["items"].(map[string]any)
		if items == nil {
			bad("array needs items")
			return
		}
		compare(docs, file, items, t.Elem(), path+"[]", problems, seen)
	case t.Kind() == reflect.Map:
		ap, _ := node["additionalProperties"].(map[string]any)
		if !types["object"] || ap == nil {
			bad("map needs type object with additionalProperties schema")
			return
		}
		compare(docs, file, ap, t.Elem(), path+"{}", problems, seen)
	default:
		if want := jsonType(t.Kind()); !types[want] {
			bad("Go %s needs JSON type %s, schema allows %v", t, want, keys(types))
		}
	}
}

func compareStruct(docs map[string]map[string]any, file string, node map[string]any, t reflect.Type, path string, problems *[]string, seen map[string]bool) {
	props, _ := node["properties"].(map[string]any)
	required := map[string]bool{}
	if rs, ok := node["required"].([]any); ok {
		for _, r := range rs {
			required[r.(string)] = true
		}
	}
	goFields := map[string]bool{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if f.Anonymous && name == "" {
			continue // embedded structs are not part of the contract types
		}
		goFields[name] = true
		sub, ok := props[name].(map[string]any)
		if !ok {
			*problems = append(*problems, fmt.Sprintf("%s.%s: Go field %s has no schema property", path, name, f.Name))
			continue
		}
		omitempty := strings.Contains(opts, "omitempty")
		if omitempty == required[name] {
			*problems = append(*problems, fmt.Sprintf("%s.%s: required in schema is %v but omitempty in Go is %v", path, name, required[name], omitempty))
		}
		compare(docs, file, sub, f.Type, path+"."+name, problems, seen)
	}
	for name := range props {
		if !goFields[name] {
			*problems = append(*problems, fmt.Sprintf("%s.%s: schema property has no Go field", path, name))
		}
	}
}

func schemaTypes(node map[string]any) map[string]bool {
	out := map[string]bool{}
	switch v := node["type"].(type) {
	case string:
		out[v] = true
	case []any:
		for _, x := range v {
			out[x.(string)] = true
		}
	}
	for _, key := range []string{"enum", "const"} {
		vals, ok := node[key].([]any)
		if c, isConst := node["const"]; key == "const" && isConst {
			vals, ok = []any{c}, true
		}
		if ok {
			for _, x := range vals {
				switch x.(type) {
				case string:
					out["string"] = true
				case float64:
					out["number"] = true
				}
			}
		}
	}
	if out["number"] || out["integer"] {
		out["number"], out["integer"] = true, true
	}
	return out
}

func jsonType(k reflect.Kind) string {
	switch k {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Float32, reflect.Float64:
		return "number"
	}
	return "integer"
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// EventTypes is the schema's list: every Go constant is in it.
func TestEventTypesFromTheSchema(t *testing.T) {
	got := schema.EventTypes()
	for _, want := range []schema.EventType{schema.EventOpened, schema.EventMessage, schema.EventResolved, schema.EventDelivery, schema.EventAgentPresence,
		schema.EventSurveyAnswered, schema.EventSLABreached, schema.EventCustomerMerged, schema.EventIdentityConflict,
		schema.EventTagged, schema.EventUntagged, schema.EventPriorityChanged, schema.EventSnoozed, schema.EventWoken,
		schema.EventFlowStep, schema.EventFlowHandoff, schema.EventFlowCompleted} {
		if !slices.Contains(got, want) {
			t.Errorf("%s is not among %v", want, got)
		}
	}
	if len(got) != 34 {
		t.Errorf("%d event types: %v", len(got), got)
	}
}
