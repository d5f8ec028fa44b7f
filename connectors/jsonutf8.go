package connectors

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// invalidUTF8Field names a value of a JSON body whose bytes are not valid UTF-8, as a dotted
// path ("text", "attachments[1].name"; the enclosing object when it is a key). Go's decoder
// silently turns such bytes into U+FFFD, so a body that lies about its encoding would
// otherwise be stored half-replaced. It is only called on a body already known to be invalid.
func invalidUTF8Field(raw []byte, path string) string {
	raw = bytes.TrimSpace(raw)
	if utf8.Valid(raw) || len(raw) == 0 {
		return ""
	}
	switch raw[0] {
	case '{':
		var m map[string]json.RawMessage
		if json.Unmarshal(raw, &m) == nil {
			for k, v := range m {
				p := k
				if path != "" {
					p = path + "." + k
				}
				if f := invalidUTF8Field(v, p); f != "" {
					return f
				}
			}
		}
	case '[':
		var a []json.RawMessage
		if json.Unmarshal(raw, &a) == nil {
			for i, v := range a {
				if f := invalidUTF8Field(v, fmt.Sprintf("%s[%d]", path, i)); f != "" {
					return f
				}
			}
		}
	}
	if path == "" {
		return "body"
	}
	return path
}
