package cfg

import (
	"fmt"
	"reflect"
	"strings"
)

// SetDefaults fills every zero field of the struct v points to that declares a default in
// its `default` tag, written in YAML as it would be in the file (`default:"20m"`,
// `default:"[api]"`, `default:"true"`), and descends into nested structs, non-nil pointers,
// slice elements and map values. A default is declared once, beside its field: the
// generated docs/configuration.md shows the same tag. A tag that does not decode is an error
// (a bug, caught by the tests).
func SetDefaults(v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("SetDefaults needs a non-nil pointer, not %T", v)
	}
	return setDefaults(rv.Elem(), "")
}

func setDefaults(v reflect.Value, path string) error {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			return setDefaults(v.Elem(), path)
		}
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			fv, fp := v.Field(i), path
			if name := yamlName(f); name != "" {
				fp = join(path, name)
			}
			if def, ok := f.Tag.Lookup("default"); ok && fv.IsZero() {
				dv, err := DecodeDefault(f.Type, def)
				if err != nil {
					return fmt.Errorf("%s: %w", fp, err)
				}
				fv.Set(dv)
			}
			if err := setDefaults(fv, fp); err != nil {
				return err
			}
		}
	case reflect.Slice:
		for i := range v.Len() {
			if err := setDefaults(v.Index(i), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	case reflect.Map:
		switch v.Type().Elem().Kind() {
		case reflect.Pointer:
			for _, k := range v.MapKeys() {
				if err := setDefaults(v.MapIndex(k), join(path, fmt.Sprint(k.Interface()))); err != nil {
					return err
				}
			}
			return nil
		case reflect.Struct:
		default:
			return nil
		}
		for _, k := range v.MapKeys() {
			e := reflect.New(v.Type().Elem()).Elem()
			e.Set(v.MapIndex(k))
			if err := setDefaults(e, join(path, fmt.Sprint(k.Interface()))); err != nil {
				return err
			}
			v.SetMapIndex(k, e)
		}
	}
	return nil
}

// DecodeDefault decodes a default tag's YAML into a value of type t.
func DecodeDefault(t reflect.Type, def string) (reflect.Value, error) {
	holder := reflect.New(reflect.StructOf([]reflect.StructField{{Name: "V", Type: t, Tag: `yaml:"v"`}}))
	if _, err := Decode("default", []byte("v: "+def), holder.Interface()); err != nil {
		return reflect.Value{}, fmt.Errorf("default %q: %w", def, err)
	}
	return holder.Elem().Field(0), nil
}

// yamlName is a field's key in the file ("" for an inline embed).
func yamlName(f reflect.StructField) string {
	name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	switch {
	case strings.Contains(opts, "inline"):
		return ""
	case name == "":
		return strings.ToLower(f.Name)
	}
	return name
}

// CheckDefaults decodes every `default` tag reachable from type t (through structs,
// pointers, slices and maps), so a bad tag fails a test rather than a start.
func CheckDefaults(t reflect.Type) error {
	return checkDefaults(t, "", map[reflect.Type]bool{})
}

func checkDefaults(t reflect.Type, path string, seen map[reflect.Type]bool) error {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || seen[t] {
		return nil
	}
	seen[t] = true
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		fp := join(path, yamlName(f))
		if def, ok := f.Tag.Lookup("default"); ok {
			if _, err := DecodeDefault(f.Type, def); err != nil {
				return fmt.Errorf("%s: %w", fp, err)
			}
		}
		if err := checkDefaults(f.Type, fp, seen); err != nil {
			return err
		}
	}
	return nil
}
