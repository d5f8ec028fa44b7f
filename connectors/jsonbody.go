package connectors

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"unicode/utf8"
)

// DecodeJSON decodes a request body strictly: unknown fields, wrong types, trailing data and
// bytes that are not UTF-8 are 400s that name the offending field.
func DecodeJSON(body []byte, v any) error {
	if !utf8.Valid(body) {
		return BadField(invalidUTF8Field(body, ""), "is not valid UTF-8 (send JSON in UTF-8)")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &te):
			return BadField(te.Field, "expected %s, got %s", te.Type, te.Value)
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return BadField(field, "unknown field")
		default:
			return BadRequest("invalid_json", "body is not valid JSON: %v", err)
		}
	}
	if dec.More() {
		return BadRequest("invalid_json", "body has data after the JSON object")
	}
	return nil
}
