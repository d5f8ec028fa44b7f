package cfg

import (
	"fmt"
	"net/url"
	"reflect"
	"sort"
)

// Validatable is implemented by config types with checks beyond their YAML shape. Validate is
// called once per value after decoding, parents before children, with a [Checker] positioned
// at the value's path; it reports every problem through it rather than stopping at the first.
type Validatable interface {
	Validate(c *Checker)
}

// Checker reports problems relative to one path of a [Doc].
type Checker struct {
	Doc  *Doc
	Path string
}

// Errorf reports a problem with the field (a path relative to the checker's; "" for itself).
func (c *Checker) Errorf(field, format string, args ...any) {
	c.Doc.Errorf(c.Field(field), format, args...)
}

// SecretErrorf reports a secret that is not available here ([Error.Secret]).
func (c *Checker) SecretErrorf(field, format string, args ...any) {
	c.Doc.record(c.Field(field), true, format, args...)
}

// KeyErrorf reports a problem with a key itself (e.g. a map key naming an account).
func (c *Checker) KeyErrorf(field, format string, args ...any) {
	c.Doc.KeyErrorf(c.Field(field), format, args...)
}

// Field returns the full path of a field relative to the checker's path.
func (c *Checker) Field(field string) string {
	if field == "" {
		return c.Path
	}
	if c.Path == "" {
		return field
	}
	if field[0] == '[' {
		return c.Path + field
	}
	return c.Path + "." + field
}

// At returns a checker for a sub-path.
func (c *Checker) At(field string) *Checker { return &Checker{Doc: c.Doc, Path: c.Field(field)} }

// Has reports whether the field was written in the file.
func (c *Checker) Has(field string) bool { return c.Doc.Has(c.Field(field)) }

// Required reports the field as missing when empty is true.
func (c *Checker) Required(field string, empty bool) {
	if empty {
		c.Errorf(field, "is required")
	}
}

var validatable = reflect.TypeFor[Validatable]()

func validate(d *Doc, v reflect.Value, path string) {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return
		}
		validate(d, v.Elem(), path) // the element is addressable: its Validate runs there
		return
	case reflect.Struct:
		if v.CanAddr() && v.Addr().Type().Implements(validatable) {
			v.Addr().Interface().(Validatable).Validate(&Checker{Doc: d, Path: path})
		}
		fields := structFields(v.Type())
		names := make([]string, 0, len(fields))
		for name := range fields {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			validate(d, v.FieldByIndex(fields[name]), join(path, name))
		}
	case reflect.Map:
		keys := v.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
		for _, k := range keys {
			// Map elements are not addressable: validate a copy and store it back.
			e := reflect.New(v.Type().Elem()).Elem()
			e.Set(v.MapIndex(k))
			validate(d, e, join(path, k.String()))
			v.SetMapIndex(k, e)
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			validate(d, v.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
	}
}

// BaseURL records an error at field unless v is empty or an absolute http(s) URL without a
// query (a base URL that paths are appended to).
func (c *Checker) BaseURL(field, v string) {
	if v != "" && !isHTTPURL(v, false) {
		c.Errorf(field, "must be an absolute http(s) URL without a query")
	}
}

// HTTPURL records an error at field unless v is an absolute http(s) URL (it is required).
func (c *Checker) HTTPURL(field, v string) {
	if !isHTTPURL(v, true) {
		c.Errorf(field, "must be an absolute http(s) URL")
	}
}

func isHTTPURL(v string, query bool) bool {
	u, err := url.Parse(v)
	return v != "" && err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && (query || u.RawQuery == "")
}
