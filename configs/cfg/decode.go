// Package cfg decodes user-edited YAML strictly and reports every problem at once, each with
// file:line:col and the dotted path of the field (unknown fields, wrong types, duplicate keys,
// then the semantic checks that types add through [Validatable]).
//
// The YAML shape is plain structs with `yaml:"name"` tags; [Secret], [Duration] and [ByteSize]
// cover what every config needs.
package cfg

import (
	"encoding"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// Doc remembers where every decoded path sits in its file, so that later checks can point at it.
type Doc struct {
	File string
	pos  map[string]*token.Position // where each path's key is
	val  map[string]*token.Position // where each path's value is
	errs Errors
}

// Decode parses data (the contents of file) and decodes it into v, a pointer to a struct. It
// then runs Validate on every value that implements [Validatable]. The returned error, if any,
// is an [Errors] holding every problem found.
func Decode(file string, data []byte, v any) (*Doc, error) {
	d := &Doc{File: file, pos: map[string]*token.Position{}, val: map[string]*token.Position{}}
	f, err := parser.ParseBytes(data, 0, parser.AllowDuplicateMapKey())
	if err != nil {
		d.errs = append(d.errs, syntaxError(file, err))
		return d, d.errs.Err()
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.Elem().Kind() != reflect.Struct {
		panic("cfg.Decode: v must be a pointer to a struct")
	}
	if len(f.Docs) > 1 {
		d.errorAt(f.Docs[1].Body, "", "only one YAML document is allowed per file")
	}
	if len(f.Docs) > 0 && f.Docs[0].Body != nil {
		dec := &decoder{doc: d, anchors: map[string]ast.Node{}}
		dec.decode(f.Docs[0].Body, rv.Elem(), "")
	}
	validate(d, rv, "")
	return d, d.errs.Err()
}

// Errorf records a problem at path (or at its nearest known ancestor).
func (d *Doc) Errorf(path, format string, args ...any) { d.record(path, false, format, args...) }

func (d *Doc) record(path string, secret bool, format string, args ...any) {
	e := &Error{File: d.File, Path: path, Msg: fmt.Sprintf(format, args...), Secret: secret}
	if p := d.Pos(path); p != nil {
		e.Line, e.Col = p.Line, p.Column
	}
	d.errs = append(d.errs, e)
}

// KeyErrorf records a problem with the key of path itself (a map key that is not allowed).
func (d *Doc) KeyErrorf(path, format string, args ...any) {
	e := &Error{File: d.File, Path: path, Msg: fmt.Sprintf(format, args...)}
	if p := d.keyPos(path); p != nil {
		e.Line, e.Col = p.Line, p.Column
	}
	d.errs = append(d.errs, e)
}

// Pos returns the position of path's value when the file has it, else the position of its
// nearest ancestor's key (a missing field is reported where it belongs).
func (d *Doc) Pos(path string) *token.Position {
	if p, ok := d.val[path]; ok {
		return p
	}
	return d.keyPos(path)
}

func (d *Doc) keyPos(path string) *token.Position {
	for {
		if p, ok := d.pos[path]; ok {
			return p
		}
		if path == "" {
			return nil
		}
		path = parentPath(path)
	}
}

// Has reports whether path was written in the file.
func (d *Doc) Has(path string) bool { _, ok := d.pos[path]; return ok }

// Err returns the problems recorded so far (see [Errors.Err]).
func (d *Doc) Err() error { return d.errs.Err() }

func parentPath(p string) string {
	i := strings.LastIndexAny(p, ".[")
	if i < 0 {
		return ""
	}
	return p[:i]
}

func (d *Doc) errorAt(n ast.Node, path, format string, args ...any) {
	e := &Error{File: d.File, Path: path, Msg: fmt.Sprintf(format, args...)}
	if n != nil && n.GetToken() != nil {
		e.Line, e.Col = n.GetToken().Position.Line, n.GetToken().Position.Column
	}
	d.errs = append(d.errs, e)
}

func syntaxError(file string, err error) *Error {
	e := &Error{File: file, Msg: "invalid YAML: " + err.Error()}
	var se interface{ GetToken() *token.Token }
	if t, ok := err.(interface{ GetToken() *token.Token }); ok {
		se = t
	}
	if se != nil && se.GetToken() != nil {
		e.Line, e.Col = se.GetToken().Position.Line, se.GetToken().Position.Column
	}
	// goccy errors render as "[line:col] message" followed by a source snippet; keep the message.
	msg := err.Error()
	if i := strings.Index(msg, "\n"); i > 0 {
		msg = msg[:i]
	}
	if strings.HasPrefix(msg, "[") {
		if j := strings.Index(msg, "] "); j > 0 {
			if e.Line == 0 {
				fmt.Sscanf(msg[1:j], "%d:%d", &e.Line, &e.Col)
			}
			msg = msg[j+2:]
		}
	}
	e.Msg = "invalid YAML: " + msg
	return e
}

type decoder struct {
	doc     *Doc
	anchors map[string]ast.Node
}

var textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()

func (dc *decoder) decode(n ast.Node, v reflect.Value, path string) {
	n = dc.resolve(n)
	if n == nil {
		return
	}
	if t := n.GetToken(); t != nil && t.Position != nil {
		if _, seen := dc.doc.pos[path]; !seen {
			dc.doc.pos[path] = t.Position
		}
		if _, seen := dc.doc.val[path]; !seen {
			dc.doc.val[path] = t.Position
		}
	}
	if n.Type() == ast.NullType {
		return
	}
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		dc.decode(n, v.Elem(), path)
		return
	}
	if reflect.PointerTo(v.Type()).Implements(textUnmarshaler) {
		dc.decodeText(n, v, path)
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		dc.decodeStruct(n, v, path)
	case reflect.Map:
		dc.decodeMap(n, v, path)
	case reflect.Slice:
		dc.decodeSlice(n, v, path)
	case reflect.Interface:
		var x any
		if err := yaml.NodeToValue(n, &x); err != nil {
			dc.doc.errorAt(n, path, "%v", firstLine(err))
			return
		}
		if x != nil {
			v.Set(reflect.ValueOf(x))
		}
	default:
		dc.decodeScalar(n, v, path)
	}
}

// resolve follows tags, anchors and aliases to the node that carries the value.
func (dc *decoder) resolve(n ast.Node) ast.Node {
	for n != nil {
		switch x := n.(type) {
		case *ast.TagNode:
			n = x.Value
		case *ast.AnchorNode:
			if name := anchorName(x.Name); name != "" {
				dc.anchors[name] = x.Value
			}
			n = x.Value
		case *ast.AliasNode:
			name := anchorName(x.Value)
			target, ok := dc.anchors[name]
			if !ok {
				dc.doc.errorAt(n, "", "unknown alias *%s", name)
				return nil
			}
			n = target
		case *ast.DocumentNode:
			n = x.Body
		default:
			return n
		}
	}
	return nil
}

func anchorName(n ast.Node) string {
	if n == nil {
		return ""
	}
	return strings.TrimLeft(n.String(), "&*")
}

func mappingValues(n ast.Node) ([]*ast.MappingValueNode, bool) {
	switch x := n.(type) {
	case *ast.MappingNode:
		return x.Values, true
	case *ast.MappingValueNode:
		return []*ast.MappingValueNode{x}, true
	}
	return nil, false
}

func keyString(k ast.MapKeyNode) string {
	if s, ok := k.(*ast.StringNode); ok {
		return s.Value
	}
	return strings.TrimSpace(k.String())
}

func join(path, field string) string {
	if path == "" {
		return field
	}
	return path + "." + field
}

func (dc *decoder) decodeStruct(n ast.Node, v reflect.Value, path string) {
	values, ok := mappingValues(n)
	if !ok {
		dc.doc.errorAt(n, path, "expected a mapping of fields, got %s", describe(n))
		return
	}
	fields := structFields(v.Type())
	seen := map[string]bool{}
	for _, mv := range values {
		key := keyString(mv.Key)
		if key == "<<" {
			dc.doc.errorAt(mv.Key, path, "merge keys (<<) are not supported; repeat the fields")
			continue
		}
		fpath := join(path, key)
		if seen[key] {
			dc.doc.errorAt(mv.Key, fpath, "duplicate field %q", key)
			continue
		}
		seen[key] = true
		idx, ok := fields[key]
		if !ok {
			dc.doc.errorAt(mv.Key, fpath, "unknown field %q%s", key, suggest(key, fields))
			continue
		}
		dc.doc.pos[fpath] = mv.Key.GetToken().Position
		dc.decode(mv.Value, v.FieldByIndex(idx), fpath)
	}
}

func (dc *decoder) decodeMap(n ast.Node, v reflect.Value, path string) {
	values, ok := mappingValues(n)
	if !ok {
		dc.doc.errorAt(n, path, "expected a mapping, got %s", describe(n))
		return
	}
	if v.Type().Key().Kind() != reflect.String {
		panic("cfg: map keys must be strings")
	}
	if v.IsNil() {
		v.Set(reflect.MakeMap(v.Type()))
	}
	for _, mv := range values {
		key := keyString(mv.Key)
		kpath := join(path, key)
		if v.MapIndex(reflect.ValueOf(key).Convert(v.Type().Key())).IsValid() {
			dc.doc.errorAt(mv.Key, kpath, "duplicate key %q", key)
			continue
		}
		dc.doc.pos[kpath] = mv.Key.GetToken().Position
		elem := reflect.New(v.Type().Elem()).Elem()
		dc.decode(mv.Value, elem, kpath)
		v.SetMapIndex(reflect.ValueOf(key).Convert(v.Type().Key()), elem)
	}
}

func (dc *decoder) decodeSlice(n ast.Node, v reflect.Value, path string) {
	seq, ok := n.(*ast.SequenceNode)
	if !ok {
		dc.doc.errorAt(n, path, "expected a list, got %s", describe(n))
		return
	}
	out := reflect.MakeSlice(v.Type(), len(seq.Values), len(seq.Values))
	for i, item := range seq.Values {
		dc.decode(item, out.Index(i), fmt.Sprintf("%s[%d]", path, i))
	}
	v.Set(out)
}

func (dc *decoder) decodeText(n ast.Node, v reflect.Value, path string) {
	text, ok := scalarText(n)
	if !ok {
		dc.doc.errorAt(n, path, "expected a single value, got %s", describe(n))
		return
	}
	if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(text)); err != nil {
		dc.doc.errorAt(n, path, "%v", err)
	}
}

func (dc *decoder) decodeScalar(n ast.Node, v reflect.Value, path string) {
	text, ok := scalarText(n)
	if !ok {
		dc.doc.errorAt(n, path, "expected a %s, got %s", kindName(v.Kind()), describe(n))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(text)
	case reflect.Bool:
		if n.Type() != ast.BoolType {
			dc.doc.errorAt(n, path, "expected true or false, got %q", text)
			return
		}
		v.SetBool(text == "true" || text == "True" || text == "TRUE")
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		i, err := strconv.ParseInt(strings.ReplaceAll(text, "_", ""), 0, v.Type().Bits())
		if err != nil || n.Type() != ast.IntegerType {
			dc.doc.errorAt(n, path, "expected an integer, got %q", text)
			return
		}
		v.SetInt(i)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		u, err := strconv.ParseUint(strings.ReplaceAll(text, "_", ""), 0, v.Type().Bits())
		if err != nil || n.Type() != ast.IntegerType {
			dc.doc.errorAt(n, path, "expected a non-negative integer, got %q", text)
			return
		}
		v.SetUint(u)
	case reflect.Float32, reflect.Float64:
		f, err := strconv.ParseFloat(text, v.Type().Bits())
		if err != nil || (n.Type() != ast.FloatType && n.Type() != ast.IntegerType) {
			dc.doc.errorAt(n, path, "expected a number, got %q", text)
			return
		}
		v.SetFloat(f)
	default:
		panic("cfg: unsupported field kind " + v.Kind().String())
	}
}

func scalarText(n ast.Node) (string, bool) {
	switch x := n.(type) {
	case *ast.StringNode:
		return x.Value, true
	case *ast.LiteralNode:
		return x.Value.Value, true
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.InfinityNode, *ast.NanNode:
		return x.GetToken().Value, true
	}
	return "", false
}

func describe(n ast.Node) string {
	switch n.Type() {
	case ast.MappingType, ast.MappingValueType:
		return "a mapping"
	case ast.SequenceType:
		return "a list"
	case ast.StringType, ast.LiteralType:
		return fmt.Sprintf("the string %q", firstLine(fmt.Errorf("%s", n.GetToken().Value)))
	}
	return strings.TrimSpace(n.String())
}

func kindName(k reflect.Kind) string {
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

func firstLine(err error) string {
	s := err.Error()
	if i := strings.Index(s, "\n"); i >= 0 {
		s = s[:i]
	}
	return s
}
