package cfg

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"strings"
)

// Comments reads the doc comments of struct fields from Go source: the comment above a
// field, or the one at the end of its line.
type Comments struct {
	root, module string
	byKey        map[string]string // pkgpath.Type.Field → text
	parsed       map[string]bool
}

// NewComments reads the source of module (its import path) under directory root.
func NewComments(root, module string) *Comments {
	return &Comments{root: root, module: module, byKey: map[string]string{}, parsed: map[string]bool{}}
}

// Field is the doc comment of field name of struct type t ("" when it has none).
func (c *Comments) Field(t reflect.Type, name string) (string, error) {
	pkg := t.PkgPath()
	if !c.parsed[pkg] {
		if err := c.parse(pkg); err != nil {
			return "", err
		}
		c.parsed[pkg] = true
	}
	return userWords(c.byKey[pkg+"."+t.Name()+"."+name], name), nil
}

// userWords drops the Go field name a doc comment starts with ("MaxAttempts is how often
// ..." reads "How often ..." above max_attempts).
func userWords(text, name string) string {
	for _, p := range []string{name + " is ", name + " are ", name + ", when set, is "} {
		if rest, ok := strings.CutPrefix(text, p); ok && rest != "" {
			if p == name+", when set, is " {
				rest = "when set, " + rest
			}
			return strings.ToUpper(rest[:1]) + rest[1:]
		}
	}
	return text
}

func (c *Comments) parse(pkg string) error {
	rel, ok := strings.CutPrefix(pkg, c.module)
	if !ok {
		return fmt.Errorf("package %s is outside module %s", pkg, c.module)
	}
	dir := filepath.Join(c.root, filepath.FromSlash(strings.TrimPrefix(rel, "/")))
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	fset := token.NewFileSet()
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, e.Name()), nil, parser.ParseComments)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			ts, ok := n.(*ast.TypeSpec)
			if !ok {
				return true
			}
			st, ok := ts.Type.(*ast.StructType)
			if !ok {
				return true
			}
			for _, fl := range st.Fields.List {
				text := fl.Doc.Text()
				if text == "" {
					text = fl.Comment.Text()
				}
				for _, n := range fl.Names {
					c.byKey[pkg+"."+ts.Name.Name+"."+n.Name] = strings.TrimSpace(text)
				}
			}
			return true
		})
	}
	return nil
}

// ReferenceOptions tune [Reference].
type ReferenceOptions struct {
	// Elide, when it returns true for a field, writes `name: …` with the given comment
	// instead of the field's contents (sections documented elsewhere).
	Elide func(path string, t reflect.Type) (comment string, ok bool)
}

// Reference renders struct type t as a commented YAML reference: every field under its
// file key, its doc comment above it, and as its value the default declared in its `default`
// tag, else the `example` tag, else the type's zero value. A map of sections shows one
// entry named by the field's `key` tag; a list of sections shows one element.
func Reference(t reflect.Type, c *Comments, o ReferenceOptions) (string, error) {
	g := &refGen{c: c, o: o}
	if err := g.fields(t, "", ""); err != nil {
		return "", err
	}
	return g.b.String(), nil
}

type refGen struct {
	b strings.Builder
	c *Comments
	o ReferenceOptions
}

var (
	durationType = reflect.TypeFor[Duration]()
	byteSizeType = reflect.TypeFor[ByteSize]()
	secretType   = reflect.TypeFor[Secret]()
)

func isLeaf(t reflect.Type) bool { return t == durationType || t == byteSizeType || t == secretType }

func deref(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

func (g *refGen) fields(t reflect.Type, indent, path string) error {
	t = deref(t)
	first := true
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() || f.Tag.Get("yaml") == "-" {
			continue
		}
		name := yamlName(f)
		if name == "" { // inline embed
			if err := g.fields(f.Type, indent, path); err != nil {
				return err
			}
			continue
		}
		text, err := g.c.Field(t, f.Name)
		if err != nil {
			return err
		}
		if !first && text != "" && indent == "" {
			g.b.WriteString("\n")
		}
		first = false
		g.comment(indent, text)
		if err := g.field(f, name, indent, join(path, name)); err != nil {
			return err
		}
	}
	return nil
}

func (g *refGen) field(f reflect.StructField, name, indent, path string) error {
	ft := deref(f.Type)
	if g.o.Elide != nil {
		if note, ok := g.o.Elide(path, ft); ok {
			fmt.Fprintf(&g.b, "%s%s: …", indent, name)
			if note != "" {
				fmt.Fprintf(&g.b, "  # %s", note)
			}
			g.b.WriteString("\n")
			return nil
		}
	}
	switch {
	case isLeaf(ft) || f.Tag.Get("default") != "" || f.Tag.Get("example") != "":
	case ft.Kind() == reflect.Struct:
		fmt.Fprintf(&g.b, "%s%s:\n", indent, name)
		return g.fields(ft, indent+"  ", path)
	case ft.Kind() == reflect.Slice && deref(ft.Elem()).Kind() == reflect.Struct && !isLeaf(deref(ft.Elem())):
		fmt.Fprintf(&g.b, "%s%s:\n", indent, name)
		return g.element(ft.Elem(), indent+"  ", path+"[0]")
	case ft.Kind() == reflect.Map && deref(ft.Elem()).Kind() == reflect.Struct && !isLeaf(deref(ft.Elem())):
		key := f.Tag.Get("key")
		if key == "" {
			key = "name"
		}
		fmt.Fprintf(&g.b, "%s%s:\n%s  %s:\n", indent, name, indent, key)
		return g.fields(ft.Elem(), indent+"    ", path+"."+key)
	}
	fmt.Fprintf(&g.b, "%s%s: %s\n", indent, name, value(f, ft))
	return nil
}

// element renders one list element: its first key line starts with "- ".
func (g *refGen) element(t reflect.Type, indent, path string) error {
	sub := &refGen{c: g.c, o: g.o}
	if err := sub.fields(t, indent+"  ", path); err != nil {
		return err
	}
	done := false
	for _, l := range strings.SplitAfter(sub.b.String(), "\n") {
		switch {
		case done:
		case strings.HasPrefix(strings.TrimSpace(l), "#"): // the first field's comment, above the "- "
			l = indent + strings.TrimPrefix(l, indent+"  ")
		case strings.TrimSpace(l) != "":
			l, done = indent+"- "+strings.TrimPrefix(l, indent+"  "), true
		}
		g.b.WriteString(l)
	}
	return nil
}

// value is what a leaf shows: its default, its example, or its zero value.
func value(f reflect.StructField, t reflect.Type) string {
	if d := f.Tag.Get("default"); d != "" {
		return d
	}
	if e := f.Tag.Get("example"); e != "" {
		return e + "  # e.g."
	}
	switch {
	case t == durationType:
		return "0s"
	case t == secretType:
		return "{env: " + strings.ToUpper(yamlName(f)) + "}"
	}
	switch t.Kind() {
	case reflect.String:
		return `""`
	case reflect.Bool:
		return "false"
	case reflect.Slice:
		return "[]"
	case reflect.Map:
		return "{}"
	}
	return "0"
}

func (g *refGen) comment(indent, text string) {
	if text == "" {
		return
	}
	for _, para := range strings.Split(text, "\n\n") {
		var line strings.Builder
		for _, w := range strings.Fields(para) {
			if line.Len() > 0 && len(indent)+2+line.Len()+1+len(w) > 100 {
				fmt.Fprintf(&g.b, "%s# %s\n", indent, line.String())
				line.Reset()
			}
			if line.Len() > 0 {
				line.WriteByte(' ')
			}
			line.WriteString(w)
		}
		if line.Len() > 0 {
			fmt.Fprintf(&g.b, "%s# %s\n", indent, line.String())
		}
	}
}
