package meta

import (
	"encoding/json"
	"errors"

	"github.com/switchboardhq/switchboard/connectors"
)

// decodeLenient decodes JSON that Meta extends without notice: unknown fields are fine,
// broken syntax and wrong types of known fields are a 400 naming the field.
func decodeLenient(data []byte, v any) error {
	err := json.Unmarshal(data, v)
	if err == nil {
		return nil
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return connectors.BadField(te.Field, "expected %s, got %s", te.Type, te.Value)
	}
	return connectors.BadRequest("invalid_json", "body is not valid JSON: %v", err)
}

// decodeAt decodes one element of the body, naming its position on failure.
func decodeAt(data []byte, v any, path string) error {
	if err := json.Unmarshal(data, v); err != nil {
		return connectors.BadField(path, "cannot be decoded: %v", err)
	}
	return nil
}
