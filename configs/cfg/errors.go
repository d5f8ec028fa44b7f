package cfg

import (
	"fmt"
	"sort"
	"strings"
)

// Error is one configuration problem, located in its file.
type Error struct {
	File string
	Line int
	Col  int
	Path string // dotted field path, e.g. channels.api.accounts.demo.token
	Msg  string
	// Secret marks a secret that is not available here (an unset environment variable, an
	// unreadable file): fatal for serve, only a warning where the config is merely checked.
	Secret bool
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", e.Line, e.Col)
	}
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in one load, in file order. It is an error itself.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap lets errors.As find the individual errors.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// SplitSecrets separates the secrets that are not available here from the other problems.
func (es Errors) SplitSecrets() (problems, secrets Errors) {
	for _, e := range es {
		if e.Secret {
			secrets = append(secrets, e)
		} else {
			problems = append(problems, e)
		}
	}
	return problems, secrets
}

// Err returns es sorted by position, or nil when there is nothing to report.
func (es Errors) Err() error {
	if len(es) == 0 {
		return nil
	}
	sort.SliceStable(es, func(i, j int) bool {
		a, b := es[i], es[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
	return es
}
