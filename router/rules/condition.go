package rules

import (
	"fmt"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"

	"github.com/switchboardhq/switchboard/schema"
)

// Condition is an expression of the routing rules' language for a flow's branch
// (docs/flows.md): the rules' environment (message, customer, conversation, now) plus the
// flow's answers and vars.
type Condition struct{ prog *vm.Program }

type conditionEnv struct {
	exprEnv
	Answers map[string]string `expr:"answers"`
	Vars    map[string]string `expr:"vars"`
}

// CompileCondition type-checks a flow condition; it must yield a bool.
func CompileCondition(src string) (*Condition, error) {
	p, err := expr.Compile(src, expr.Env(conditionEnv{}), expr.AsBool())
	if err != nil {
		return nil, fmt.Errorf("%s", cleanExprMessage(err.Error()))
	}
	return &Condition{prog: p}, nil
}

// Eval runs the condition. m may be nil (a timeout has no message).
func (c *Condition) Eval(m *schema.Message, cust *schema.Customer, tags []string, answers, vars map[string]string, now time.Time) (bool, error) {
	if m == nil {
		m = &schema.Message{}
	}
	env := conditionEnv{exprEnv: *newExprEnv(&Input{Message: m, Customer: cust, Tags: tags, Now: now}), Answers: answers, Vars: vars}
	if env.Answers == nil {
		env.Answers = map[string]string{}
	}
	if env.Vars == nil {
		env.Vars = map[string]string{}
	}
	out, err := expr.Run(c.prog, env)
	if err != nil {
		return false, err
	}
	b, _ := out.(bool)
	return b, nil
}
