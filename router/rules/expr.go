package rules

import (
	"bytes"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"
)

// exprEnv is what a rule's expression sees (docs/routing.md, "Expressions").
type exprEnv struct {
	Message      exprMessage      `expr:"message"`
	Customer     exprCustomer     `expr:"customer"`
	Conversation exprConversation `expr:"conversation"`
	Now          time.Time        `expr:"now"`
}

type exprConversation struct {
	Tags []string `expr:"tags"`
}

type exprMessage struct {
	Channel     string            `expr:"channel"`
	Account     string            `expr:"account"`
	Kind        string            `expr:"kind"`
	Subject     string            `expr:"subject"`
	Text        string            `expr:"text"`
	Language    string            `expr:"language"`
	From        string            `expr:"from"`
	FromKind    string            `expr:"from_kind"`
	Metadata    map[string]string `expr:"metadata"`
	Attachments int               `expr:"attachments"`
}

type exprCustomer struct {
	ID            string            `expr:"id"`
	Name          string            `expr:"name"`
	ExternalID    string            `expr:"external_id"`
	Attributes    map[string]string `expr:"attributes"`
	Identities    []string          `expr:"identities"`
	Conversations int               `expr:"conversations"`
	Verified      bool              `expr:"verified"`
}

// compileExpr type-checks an expression against the environment; it must yield a bool.
func compileExpr(src string) (*vm.Program, error) {
	return expr.Compile(src, expr.Env(exprEnv{}), expr.AsBool())
}

// cleanExprMessage replaces Go type names in expr's messages with what the user wrote.
func cleanExprMessage(msg string) string {
	r := strings.NewReplacer("rules.exprMessage", "message", "rules.exprCustomer", "customer", "rules.exprConversation", "conversation",
		"rules.exprEnv", "the environment")
	return r.Replace(msg)
}

// valuePosition maps a position inside a YAML value (exprLine from 1, exprCol from 0) to the
// file, given the position of the value's first token: a plain or quoted scalar, or the
// indicator of a block scalar (| or >), whose lines follow.
func valuePosition(data []byte, valLine, valCol, exprLine, exprCol int) (int, int) {
	lines := bytes.Split(data, []byte("\n"))
	if valLine < 1 || valLine > len(lines) || valCol < 1 {
		return valLine, valCol
	}
	var c byte
	if line := lines[valLine-1]; valCol <= len(line) {
		c = line[valCol-1]
	}
	switch {
	case c == '|' || c == '>':
		if valLine >= len(lines) {
			return valLine, valCol
		}
		first := lines[valLine] // the block's first line sets its indentation
		indent := len(first) - len(bytes.TrimLeft(first, " "))
		return valLine + exprLine, indent + exprCol + 1
	case exprLine > 1:
		return valLine + exprLine - 1, exprCol + 1 // folded lines: the column is approximate
	case c == '"' || c == '\'':
		return valLine, valCol + 1 + exprCol
	}
	return valLine, valCol + exprCol
}
