package kernel

import (
	"encoding/json"
	"reflect"

	gojson "github.com/goccy/go-json"
)

// Unmarshal decodes JSON the gateway stored itself (stream payloads, records) into v, which
// must be a non-nil pointer. It decodes with goccy/go-json, about four times as fast as
// encoding/json on a conversation event (docs/benchmarks.md); whenever that fails or
// panics, v is reset and encoding/json decides, so an error (and its text) is always
// encoding/json's. FuzzUnmarshalAgrees holds the two to the same answer on every input.
// Untrusted input (providers' payloads, API requests) goes through encoding/json directly.
func Unmarshal(data []byte, v any) error {
	if fastUnmarshal(data, v) {
		return nil
	}
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer && !rv.IsNil() {
		rv.Elem().SetZero()
	}
	return json.Unmarshal(data, v)
}

func fastUnmarshal(data []byte, v any) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	return gojson.Unmarshal(data, v) == nil
}

// Marshal encodes v as encoding/json does, byte for byte (FuzzMarshalAgrees), with
// goccy/go-json; whenever that fails or panics, encoding/json does it.
func Marshal(v any) ([]byte, error) {
	if data, ok := fastMarshal(v); ok {
		return data, nil
	}
	return json.Marshal(v)
}

func fastMarshal(v any) (data []byte, ok bool) {
	defer func() {
		if recover() != nil {
			data, ok = nil, false
		}
	}()
	data, err := gojson.Marshal(v)
	return data, err == nil
}
