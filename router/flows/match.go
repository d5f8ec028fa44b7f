package flows

import (
	"fmt"
	"net/mail"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// Normalize is how answers are compared: trimmed, lower-cased without diacritics, Turkish
// dotted and dotless i both as i, inner spaces collapsed ("  Çok İyi " → "cok iyi").
func Normalize(s string) string {
	s = strings.NewReplacer("İ", "i", "I", "i", "ı", "i").Replace(s)
	t := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
	out, _, err := transform.String(t, s)
	if err != nil {
		out = s
	}
	return strings.Join(strings.Fields(strings.ToLower(out)), " ")
}

var (
	phoneRE     = regexp.MustCompile(`^\+?[0-9][0-9 ()./-]{5,20}[0-9]$`)
	dateFormats = []string{"2006-01-02", "02.01.2006", "02/01/2006", "2.1.2006"}
)

// validator compiles a free-text question's validate: number, email, phone, date, or a
// regular expression. It returns the answer as saved (normalized for the kinds) and whether
// it is valid.
func validator(kind string) (func(string) (string, bool), error) {
	switch kind {
	case "number":
		return func(s string) (string, bool) {
			s = strings.ReplaceAll(strings.TrimSpace(s), ",", ".")
			_, err := strconv.ParseFloat(s, 64)
			return s, err == nil
		}, nil
	case "email":
		return func(s string) (string, bool) {
			a, err := mail.ParseAddress(strings.TrimSpace(s))
			if err != nil || !strings.Contains(a.Address, ".") {
				return "", false
			}
			return strings.ToLower(a.Address), true
		}, nil
	case "phone":
		return func(s string) (string, bool) {
			s = strings.TrimSpace(s)
			if !phoneRE.MatchString(s) {
				return "", false
			}
			return strings.Map(func(r rune) rune {
				if r >= '0' && r <= '9' || r == '+' {
					return r
				}
				return -1
			}, s), true
		}, nil
	case "date":
		return func(s string) (string, bool) {
			for _, f := range dateFormats {
				if t, err := time.Parse(f, strings.TrimSpace(s)); err == nil {
					return t.Format("2006-01-02"), true
				}
			}
			return "", false
		}, nil
	}
	re, err := regexp.Compile(kind)
	if err != nil {
		return nil, fmt.Errorf("number, email, phone, date, or a regular expression: %v", err)
	}
	return func(s string) (string, bool) {
		s = strings.TrimSpace(s)
		return s, re.MatchString(s)
	}, nil
}

// compileWhen compiles a branch case: `VAR == value`, `VAR != value` (values compared
// normalized, quotes optional), or a bare `VAR` for "is set". Empty: always.
func compileWhen(when string) (func(map[string]string) bool, error) {
	when = strings.TrimSpace(when)
	if when == "" {
		return func(map[string]string) bool { return true }, nil
	}
	for _, op := range []string{"==", "!="} {
		if l, r, ok := strings.Cut(when, op); ok {
			v, want := strings.TrimSpace(l), Normalize(strings.Trim(strings.TrimSpace(r), `"'`))
			if !validVar(v) && !strings.HasPrefix(v, "customer.") && !strings.HasPrefix(v, "lookup.") {
				return nil, fmt.Errorf("%q: compare a variable (answers.<name>, customer.<name>) with a value", when)
			}
			eq := op == "=="
			return func(vars map[string]string) bool { return (Normalize(vars[v]) == want) == eq }, nil
		}
	}
	if !validVar(when) && !strings.HasPrefix(when, "lookup.") {
		return nil, fmt.Errorf("%q: write VAR == value, VAR != value, or VAR (is set)", when)
	}
	return func(vars map[string]string) bool { return vars[when] != "" }, nil
}

var templateVar = regexp.MustCompile(`\{\{\s*([A-Za-z0-9_.-]+)\s*(?:\|\s*([^}]*?)\s*)?\}\}`)

// render fills {{ answers.x }}, {{ customer.name }} and the like from vars; an unknown or
// empty variable is empty, or the default after a bar: {{ customer.name | there }}.
func render(text string, vars map[string]string) string {
	return templateVar.ReplaceAllStringFunc(text, func(m string) string {
		sm := templateVar.FindStringSubmatch(m)
		if v := vars[sm[1]]; v != "" {
			return v
		}
		return sm[2]
	})
}
