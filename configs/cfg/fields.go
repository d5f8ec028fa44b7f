package cfg

import (
	"reflect"
	"sort"
	"strings"
)

// structFields maps YAML names to field index paths, following `yaml:",inline"` embeds.
func structFields(t reflect.Type) map[string][]int {
	out := map[string][]int{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if strings.Contains(opts, "inline") {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				panic("cfg: inline fields must not be pointers")
			}
			for k, idx := range structFields(ft) {
				out[k] = append([]int{i}, idx...)
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = []int{i}
	}
	return out
}

// FieldNames lists the YAML names of a struct type, sorted (for docs and messages).
func FieldNames(t reflect.Type) []string {
	var names []string
	for k := range structFields(t) {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// suggest returns `; did you mean "x"?` for a near miss, or a list of the valid names.
func suggest(key string, fields map[string][]int) string {
	best, bestD := "", 3
	var names []string
	for name := range fields {
		names = append(names, name)
		if d := distance(key, name); d < bestD {
			best, bestD = name, d
		}
	}
	if best != "" {
		return `; did you mean "` + best + `"?`
	}
	sort.Strings(names)
	if len(names) > 12 {
		return ""
	}
	return "; valid fields: " + strings.Join(names, ", ")
}

// distance is the Levenshtein distance between a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
