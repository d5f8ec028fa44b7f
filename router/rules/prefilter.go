package rules

import (
	"regexp/syntax"
	"strings"
	"unicode"
)

// requiredLiterals returns lower-case strings that every match of the regular expression
// contains (the literals of its top-level sequence that can be checked safely). Looking for
// them in the lower-cased text first skips most regex runs: a text without one cannot match.
func requiredLiterals(expr string) []string {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return nil
	}
	re = re.Simplify()
	for re.Op == syntax.OpCapture {
		re = re.Sub[0]
	}
	parts := []*syntax.Regexp{re}
	if re.Op == syntax.OpConcat {
		parts = re.Sub
	}
	var out []string
	for _, p := range parts {
		if lit := string(p.Rune); p.Op == syntax.OpLiteral && foldsWithinASCII(lit) {
			out = append(out, strings.ToLower(lit))
		}
	}
	return out
}

// foldsWithinASCII reports whether every rune of s is ASCII and so are all the runes it
// matches case-insensitively (not true of s, k: ſ and the Kelvin sign fold to them), so that
// lower-casing the text finds the literal wherever the regex could match it.
func foldsWithinASCII(s string) bool {
	for _, r := range s {
		if r >= 0x80 {
			return false
		}
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			if f >= 0x80 {
				return false
			}
		}
	}
	return true
}
