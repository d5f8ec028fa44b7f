package rules

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"

	"github.com/switchboardhq/switchboard/configs/cfg"
	"github.com/switchboardhq/switchboard/schema"
)

// rulesChecker checks a decoded rules file against the roster and compiles it in the same
// pass (as alertmanager turns its config.Route into a dispatch.Route): every queue, business
// hours and rule is checked, reporting every problem with its position, and compiled right
// there into out. out is used only when no problem was found.
type rulesChecker struct {
	doc    *cfg.Doc
	data   []byte
	spec   *RulesSpec
	roster *Roster
	extra  cfg.Errors
	hours  map[string]*openingHours
	out    *Rules
}

func (c *rulesChecker) errorf(path, format string, args ...any) { c.doc.Errorf(path, format, args...) }

// rosterf reports a problem that depends on who is in the roster: an error against a closed
// roster (router.agents only), a warning against an open one (agents managed through the
// API come and go, and the rules must not stop working because the last billing agent left).
func (c *rulesChecker) rosterf(path, format string, args ...any) {
	if !c.roster.open {
		c.errorf(path, format, args...)
		return
	}
	msg := path + ": " + fmt.Sprintf(format, args...)
	if pos := c.doc.Pos(path); pos != nil {
		msg = fmt.Sprintf("%s:%d:%d: %s", c.doc.File, pos.Line, pos.Column, msg)
	}
	c.out.Warnings = append(c.out.Warnings, msg)
}

// check checks and compiles the spec into c.out.
func (c *rulesChecker) check() {
	c.hours = map[string]*openingHours{}
	c.out = &Rules{LoadedAt: time.Now().UTC(), roster: c.roster, byName: map[string]*rule{}, queues: map[string]*queue{}}
	for _, name := range slices.Sorted(maps.Keys(c.spec.Queues)) {
		c.out.queues[name] = c.checkQueue(name, c.spec.Queues[name])
	}
	for _, name := range slices.Sorted(maps.Keys(c.spec.BusinessHours)) {
		h, err := compileHours(c.spec.BusinessHours[name])
		if err != nil {
			var he *hoursError
			if errors.As(err, &he) {
				c.errorf("business_hours."+name+"."+he.field, "%s", he.msg)
			}
			continue
		}
		c.hours[name] = h
	}
	c.out.hours = c.hours
	c.checkSLA()
	c.checkSurveys()
	if q := c.spec.DefaultQueue; q != "" && c.spec.Queues[q] == nil {
		c.errorf("default_queue", "unknown queue %q%s", q, c.queueHint())
	}
	c.out.defQueue = c.out.queues[c.spec.DefaultQueue]
	if len(c.spec.Rules) == 0 && c.spec.DefaultQueue == "" && len(c.spec.SLA) == 0 && len(c.spec.Surveys) == 0 {
		c.errorf("rules", "is empty: add rules or a default_queue")
	}
	names := map[string]int{}
	catchAll := -1
	for i, r := range c.spec.Rules {
		path := fmt.Sprintf("rules[%d]", i)
		if r == nil {
			c.errorf(path, "is empty")
			continue
		}
		if prev, dup := names[r.Name]; dup && r.Name != "" {
			c.errorf(path+".name", "duplicate rule name %q (also rules[%d])", r.Name, prev)
		}
		names[r.Name] = i
		if catchAll >= 0 {
			c.errorf(path, "unreachable: rules[%d] (%s) above it matches every conversation", catchAll, c.spec.Rules[catchAll].Name)
		}
		cr := c.checkRule(r, path)
		c.out.rules = append(c.out.rules, cr)
		c.out.byName[cr.name] = cr
		if r.When.empty() {
			catchAll = i
		}
	}
}

func hoursHint(m map[string]*HoursSpec) string {
	if len(m) == 0 {
		return " (no business_hours are defined)"
	}
	return " (business_hours: " + strings.Join(slices.Sorted(maps.Keys(m)), ", ") + ")"
}

func (c *rulesChecker) queueHint() string {
	if len(c.spec.Queues) == 0 {
		return " (no queues are defined)"
	}
	return " (queues: " + strings.Join(slices.Sorted(maps.Keys(c.spec.Queues)), ", ") + ")"
}

// checkQueue checks one queue and compiles it.
func (c *rulesChecker) checkQueue(name string, q *QueueSpec) *queue {
	path := "queues." + name
	if q == nil {
		q = &QueueSpec{}
		c.spec.Queues[name] = q
	}
	if !validName(name) {
		c.errorf(path, "queue names may hold only letters, digits, - and _")
	}
	switch q.Strategy {
	case "", StrategyLeastLoaded, StrategyRoundRobin, StrategyLongestIdle:
	default:
		c.errorf(path+".strategy", "must be %s, %s or %s, not %q", StrategyLeastLoaded, StrategyRoundRobin, StrategyLongestIdle, q.Strategy)
	}
	unknown := c.known(path+".skills", q.Skills, c.roster.skills, "skill") +
		c.known(path+".teams", q.Teams, c.roster.teams, "team") +
		c.known(path+".languages", q.Languages, c.roster.langs, "language")
	for i, id := range q.Agents {
		if _, ok := c.roster.Lookup(id); !ok {
			c.rosterf(fmt.Sprintf("%s.agents[%d]", path, i), "unknown agent %q: not in %s", id, c.roster.name())
			unknown++
		}
	}
	if q.Overflow != "" && c.spec.Queues[q.Overflow] == nil {
		c.errorf(path+".overflow", "unknown queue %q%s", q.Overflow, c.queueHint())
	}
	if q.Overflow == name {
		c.errorf(path+".overflow", "a queue cannot overflow into itself")
	}
	if (q.MaxWait == 0) != (q.Overflow == "") {
		c.errorf(path, "max_wait and overflow go together: give both or neither")
	}
	if unknown == 0 && c.roster.Len() > 0 && len(eligibleAgents(c.roster, q)) == 0 {
		c.rosterf(path, "no agent in %s can serve this queue (skills %v, teams %v, agents %v, languages %v)",
			c.roster.name(), q.Skills, q.Teams, q.Agents, q.Languages)
	}
	st := q.Strategy
	if st == "" {
		st = StrategyLeastLoaded
	}
	return &queue{name: name, strategy: st, eligible: eligibleAgents(c.roster, q), matchLanguage: q.MatchLanguage,
		sticky: q.Sticky.D(), maxWait: q.MaxWait.D(), overflow: q.Overflow}
}

// known reports every entry of list that no agent has, and how many there were.
func (c *rulesChecker) known(path string, list []string, have map[string]bool, what string) int {
	n := 0
	for i, v := range list {
		if !have[v] {
			c.rosterf(fmt.Sprintf("%s[%d]", path, i), "unknown %s %q: no agent in %s has it", what, v, c.roster.name())
			n++
		}
	}
	return n
}

// checkRule checks one rule and compiles it (its conditions and targets).
func (c *rulesChecker) checkRule(r *RuleSpec, path string) *rule {
	if r.Name == "" {
		c.errorf(path+".name", "is required")
	}
	conds := c.checkWhen(&r.When, path)
	if len(r.When.SLA) > 0 {
		c.out.usesSLA = true
	}
	if len(r.When.Tags) > 0 || strings.Contains(r.When.Expr, "conversation") {
		c.out.usesTags = true
	}
	if r.Flow != "" && r.Flow != FlowNone && !flowName.MatchString(r.Flow) {
		c.errorf(path+".flow", "a flow's name (letters, digits, - and _), or none")
	}
	return &rule{name: r.Name, conds: conds, targets: c.checkTargets(r, path), flow: r.Flow}
}

func (c *rulesChecker) nonEmpty(path string, list []string) {
	for j, v := range list {
		if strings.TrimSpace(v) == "" {
			c.errorf(fmt.Sprintf("%s[%d]", path, j), "must not be empty")
		}
	}
}

// checkTargets checks a rule's targets and compiles them.
func (c *rulesChecker) checkTargets(r *RuleSpec, path string) []target {
	var out []target
	if len(r.Targets) == 0 {
		c.errorf(path+".targets", "a rule needs at least one target")
	}
	for j, t := range r.Targets {
		tpath := fmt.Sprintf("%s.targets[%d]", path, j)
		if t == nil {
			c.errorf(tpath, "is empty")
			continue
		}
		switch {
		case t.Queue == "":
			c.errorf(tpath+".queue", "is required")
		case c.spec.Queues[t.Queue] == nil:
			c.errorf(tpath+".queue", "unknown queue %q%s", t.Queue, c.queueHint())
		}
		if t.Priority < 0 || t.Priority > 1000 {
			c.errorf(tpath+".priority", "must be between 0 and 1000")
		}
		if t.Timeout != 0 && j == len(r.Targets)-1 {
			c.errorf(tpath+".timeout", "the last target has no next target to time out to")
		}
		out = append(out, target{queue: c.out.queues[t.Queue], priority: t.Priority, timeout: t.Timeout.D(), skipIfEmpty: t.SkipIfEmpty})
	}
	return out
}

// checkExpr compiles an expression, reporting an error at its exact place in the file (nil
// then).
func (c *rulesChecker) checkExpr(path, src string) *vm.Program {
	prog, err := compileExpr(src)
	if err == nil {
		return prog
	}
	var fe *file.Error
	if !errors.As(err, &fe) {
		c.errorf(path, "invalid expression: %v", err)
		return nil
	}
	msg := "invalid expression: " + cleanExprMessage(fe.Message)
	pos := c.doc.Pos(path)
	if pos == nil {
		c.errorf(path, "%s", msg)
		return nil
	}
	line, col := valuePosition(c.data, pos.Line, pos.Column, fe.Line, fe.Column)
	c.extra = append(c.extra, &cfg.Error{File: c.doc.File, Line: line, Col: col, Path: path, Msg: msg})
	return nil
}

// validName reports whether s is usable as a queue name (it appears in metrics and events).
func validName(s string) bool { return len(s) <= 64 && schema.ValidToken(s) }

// checkWhen checks a when clause (of a rule or an SLA policy at path) and compiles it.
func (c *rulesChecker) checkWhen(w *WhenSpec, path string) []condition {
	c.nonEmpty(path+".when.channel", w.Channel)
	c.nonEmpty(path+".when.account", w.Account)
	c.nonEmpty(path+".when.language", w.Language)
	c.nonEmpty(path+".when.keywords", w.Keywords)
	for j, t := range w.Tags {
		if _, err := schema.NormalizeTag(t); err != nil {
			c.errorf(fmt.Sprintf("%s.when.tags[%d]", path, j), "%v", err)
		}
	}
	var re *regexp.Regexp
	if w.Regex != "" {
		var err error
		if re, err = regexp.Compile(w.Regex); err != nil {
			c.errorf(path+".when.regex", "invalid regular expression: %v", err)
		}
	}
	for _, f := range []struct{ field, name string }{{"business_hours", w.BusinessHours}, {"outside_business_hours", w.OutsideBusinessHours}} {
		if f.name != "" && c.spec.BusinessHours[f.name] == nil {
			c.errorf(path+".when."+f.field, "unknown business hours %q%s", f.name, hoursHint(c.spec.BusinessHours))
		}
	}
	for j, st := range w.SLA {
		if st != "ok" && st != "warning" && st != "breached" {
			c.errorf(fmt.Sprintf("%s.when.sla[%d]", path, j), "must be ok, warning or breached, not %q", st)
		}
	}
	var prog *vm.Program
	if w.Expr != "" {
		prog = c.checkExpr(path+".when.expr", w.Expr)
	}
	return compileConditions(w, re, prog, c.hours)
}

var flowName = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
