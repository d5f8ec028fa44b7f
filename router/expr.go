package router

import (
	"bytes"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"
)

// exprEnv is what a rule's expression sees (docs/routing.md, "Expressions").
type exprEnv struct {
	Message  exprMessage  `expr:"message"`
	Customer exprCustomer `expr:"customer"`
	Now      time.Time    `expr:"now"`
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
	r := strings.NewReplacer("router.exprMessage", "message", "router.exprCustomer", "customer",
		"router.exprEnv", "the environment")
	return r.Replace(msg)
}

// valuePosition maps a position inside a YAML value (exprLine from 1, exprCol from 0) to the
// file, given the position of the value's key. It understands values on the key's line
// (plain or quoted) and block scalars (| and >) on the following lines.
func valuePosition(data []byte, keyLine, keyCol, exprLine, exprCol int) (int, int) {
	lines := bytes.Split(data, []byte("\n"))
	if keyLine < 1 || keyLine > len(lines) {
		return keyLine, keyCol
	}
	line := lines[keyLine-1]
	i := bytes.IndexByte(line[min(max(keyCol-1, 0), len(line)):], ':')
	if i < 0 {
		return keyLine, keyCol
	}
	start := min(max(keyCol-1, 0), len(line)) + i + 1
	for start < len(line) && line[start] == ' ' {
		start++
	}
	if start < len(line) && (line[start] == '|' || line[start] == '>') {
		target := keyLine + exprLine
		if target > len(lines) {
			return keyLine, keyCol
		}
		first := lines[keyLine] // the block's first line sets its indentation
		indent := len(first) - len(bytes.TrimLeft(first, " "))
		return target, indent + exprCol + 1
	}
	if start < len(line) && (line[start] == '"' || line[start] == '\'') {
		start++
	}
	if exprLine > 1 {
		return keyLine + exprLine - 1, exprCol + 1
	}
	return keyLine, start + exprCol + 1
}
