package router

import (
	"regexp/syntax"
	"strings"
	"unicode"
)

// requiredLiteral returns a lower-case string that every match of the regular expression
// contains (the longest literal of its top-level sequence), or "" when there is none that
// can be checked safely. Looking for it in the lower-cased text first skips most regex runs:
// a text without it cannot match.
func requiredLiteral(expr string) string {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return ""
	}
	re = re.Simplify()
	for re.Op == syntax.OpCapture {
		re = re.Sub[0]
	}
	parts := []*syntax.Regexp{re}
	if re.Op == syntax.OpConcat {
		parts = re.Sub
	}
	best := ""
	for _, p := range parts {
		if p.Op != syntax.OpLiteral {
			continue
		}
		if lit := string(p.Rune); len(lit) > len(best) && foldsWithinASCII(lit) {
			best = lit
		}
	}
	return strings.ToLower(best)
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
