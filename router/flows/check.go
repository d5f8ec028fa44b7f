package flows

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/configs/cfg"
	"github.com/switchboardhq/switchboard/router/rules"
	"github.com/switchboardhq/switchboard/schema"
)

// channelNames are the channels defaults may name.
var channelNames = []string{string(schema.ChannelEmail), string(schema.ChannelSMS), string(schema.ChannelWhatsApp),
	string(schema.ChannelWebchat), string(schema.ChannelMessenger), string(schema.ChannelInstagram), string(schema.ChannelTelegram),
	string(schema.ChannelAPI)}

// Step kinds.
const (
	KindSay     = "say"
	KindAsk     = "ask"
	KindBranch  = "branch"
	KindSet     = "set"
	KindHandoff = "handoff"
	KindResolve = "resolve"
	KindLookup  = "lookup"
	KindArticle = "article"
)

// Flow is a checked, compiled flow. It is immutable.
type Flow struct {
	Name     string
	Version  string // a hash of the file: every step event carries it
	First    string // the first step
	MaxSteps int
	Handoff  string
	steps    map[string]*step
	keywords []string // normalized hand-off keywords
	env      *Env
}

type step struct {
	name, kind string
	text       string // say, ask, resolve
	options    []option
	validate   func(string) (string, bool)
	save       string
	retries    int
	reprompt   string
	onInvalid  string
	timeout    time.Duration
	onTimeout  string
	cases      []branchCase
	set        map[string]string
	handoff    *HandoffSpec
	next       string
	lookup     *LookupSpec
	onFailure  string
	none       string // article: nothing matched
	intro      string // article: the line before the matches
	prompt     string // article: the question after them
}

type option struct {
	label, value, next string
	norm               []string // accepted spellings, normalized
}

type branchCase struct {
	when  string
	eval  func(vars map[string]string) bool
	expr  string
	cond  *rules.Condition
	hours string
	open  bool // hours: holds while open (else while closed)
	next  string
}

// File is a checked flows file.
type File struct {
	Flows map[string]*Flow
	// Defaults map "channel" or "channel/account" to the flow its conversations enter.
	Defaults map[string]string
	Version  string
}

// Default is the flow a conversation on channel and account enters when its rule names
// none ("" for none).
func (f *File) Default(channel, account string) string {
	if f == nil {
		return ""
	}
	if n := f.Defaults[channel+"/"+account]; n != "" {
		return n
	}
	return f.Defaults[channel]
}

// Calendars are the business hours the file's branches name.
func (f *File) Calendars() []string {
	var out []string
	for _, fl := range f.Flows {
		for _, s := range fl.steps {
			for _, cs := range s.cases {
				if cs.hours != "" && !slices.Contains(out, cs.hours) {
					out = append(out, cs.hours)
				}
			}
		}
	}
	slices.Sort(out)
	return out
}

// Flow returns the named flow (nil: none).
func (f *File) Flow(name string) *Flow {
	if f == nil {
		return nil
	}
	return f.Flows[name]
}

// DefaultHandoffKeywords are the words that ask for a person when the file gives none.
var DefaultHandoffKeywords = []string{"agent", "human", "person", "temsilci"}

// Parse checks a flows file and compiles it. The error is a [cfg.Errors] with every problem
// at its file:line:col.
func Parse(path string, data []byte) (*File, error) {
	var spec FileSpec
	doc, err := cfg.Decode(path, data, &spec)
	var errs cfg.Errors
	if err != nil && !errors.As(err, &errs) {
		return nil, err
	}
	if doc == nil || (len(errs) == 1 && strings.HasPrefix(errs[0].Msg, "invalid YAML")) {
		return nil, err
	}
	sum := sha256.Sum256(data)
	version := hex.EncodeToString(sum[:6])
	keywords := spec.Handoff
	if len(keywords) == 0 {
		keywords = DefaultHandoffKeywords
	}
	var norm []string
	for _, k := range keywords {
		norm = append(norm, Normalize(k))
	}
	out := &File{Flows: map[string]*Flow{}, Defaults: spec.Defaults, Version: version}
	if len(spec.Flows) == 0 {
		doc.Errorf("flows", "no flow defined")
	}
	for _, k := range slices.Sorted(maps.Keys(spec.Defaults)) {
		if n := spec.Defaults[k]; spec.Flows[n] == nil {
			doc.Errorf("defaults."+k, "unknown flow %q (flows: %s)", n, strings.Join(slices.Sorted(maps.Keys(spec.Flows)), ", "))
		}
		ch, _, _ := strings.Cut(k, "/")
		if !slices.Contains(channelNames, ch) {
			doc.Errorf("defaults."+k, "unknown channel %q: write CHANNEL or CHANNEL/ACCOUNT (channels: %s)", ch, strings.Join(channelNames, ", "))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(spec.Flows)) {
		c := &checker{doc: doc, path: "flows." + name, spec: spec.Flows[name]}
		if f := c.check(name); f != nil {
			f.Version, f.keywords = version, norm
			out.Flows[name] = f
		}
	}
	if err := doc.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

type checker struct {
	doc  *cfg.Doc
	path string
	spec *FlowSpec
}

func (c *checker) errorf(path, format string, args ...any) { c.doc.Errorf(path, format, args...) }

var validName = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

func (c *checker) check(name string) *Flow {
	fs := c.spec
	if fs == nil || len(fs.Steps) == 0 {
		c.errorf(c.path, "a flow needs steps")
		return nil
	}
	if !validName.MatchString(name) {
		c.errorf(c.path, "flow names may hold only letters, digits, - and _")
	}
	f := &Flow{Name: name, First: fs.Start, MaxSteps: fs.MaxSteps, Handoff: fs.Handoff, steps: map[string]*step{}}
	if f.MaxSteps == 0 {
		f.MaxSteps = 50
	}
	if fs.MaxSteps < 0 || fs.MaxSteps > 1000 {
		c.errorf(c.path+".max_steps", "must be between 1 and 1000")
	}
	for _, sn := range slices.Sorted(maps.Keys(fs.Steps)) {
		if s := c.checkStep(sn, fs.Steps[sn]); s != nil {
			f.steps[sn] = s
		}
	}
	c.checkTargets(f)
	if fs.Start == "" {
		c.errorf(c.path+".start", "is required: the first step")
	} else if fs.Steps[fs.Start] == nil {
		c.errorf(c.path+".start", "unknown step %q%s", fs.Start, c.stepHint())
	}
	c.checkLoops(f)
	return f
}

func (c *checker) stepHint() string {
	return fmt.Sprintf(" (steps: %s)", strings.Join(slices.Sorted(maps.Keys(c.spec.Steps)), ", "))
}

// kindOf names the step's kind, reporting a step with none or several.
func (c *checker) kindOf(path string, ss *StepSpec) string {
	var kinds []string
	for _, k := range []struct {
		name string
		set  bool
	}{{KindSay, ss.Say != ""}, {KindAsk, ss.Ask != "" && ss.Article == ""}, {KindBranch, len(ss.Branch) > 0}, {KindSet, len(ss.Set) > 0},
		{KindLookup, ss.Lookup != nil}, {KindArticle, ss.Article != ""},
		{KindHandoff, ss.Handoff != nil}, {KindResolve, ss.Resolve != ""}} {
		if k.set {
			kinds = append(kinds, k.name)
		}
	}
	switch len(kinds) {
	case 0:
		c.errorf(path, "a step needs one of say, ask, branch, set, lookup, article, handoff, resolve")
		return ""
	case 1:
		return kinds[0]
	}
	c.errorf(path, "a step does one thing; this one has %s", strings.Join(kinds, " and "))
	return ""
}

func (c *checker) checkStep(name string, ss *StepSpec) *step {
	path := c.path + ".steps." + name
	if ss == nil {
		c.errorf(path, "empty step")
		return nil
	}
	if !validName.MatchString(name) {
		c.errorf(path, "step names may hold only letters, digits, - and _")
	}
	s := &step{name: name, kind: c.kindOf(path, ss), next: ss.Next, set: ss.Set, handoff: ss.Handoff,
		save: ss.Save, retries: ss.Retries, reprompt: ss.Reprompt, onInvalid: ss.OnInvalid, timeout: ss.Timeout.D(), onTimeout: ss.OnTimeout}
	if s.retries == 0 {
		s.retries = 2
	}
	switch s.kind {
	case KindSay:
		s.text = ss.Say
		c.needNext(path, ss)
	case KindAsk:
		s.text = ss.Ask
		c.checkAsk(path, ss, s)
	case KindBranch:
		for i, cs := range ss.Branch {
			cp := fmt.Sprintf("%s.branch[%d]", path, i)
			s.cases = append(s.cases, c.checkCase(cp, cs, i == len(ss.Branch)-1))
		}
		if ss.Next != "" {
			c.errorf(path+".next", "a branch goes where its cases say; give a last case without when instead")
		}
	case KindSet:
		for k := range ss.Set {
			if !validVar(k) {
				c.errorf(path+".set."+k, "set answers.<name>, customer.<name> or tags (a list: tags: \"vip refund\")")
			}
		}
		c.needNext(path, ss)
	case KindLookup:
		c.checkLookup(path, ss, s)
	case KindArticle:
		s.text, s.intro = ss.Article, ss.Say
		c.checkArticle(path, ss, s)
	case KindHandoff, KindResolve:
		s.text = ss.Resolve
		if ss.Next != "" {
			c.errorf(path+".next", "a %s ends the flow: nothing comes next", s.kind)
		}
	}
	return s
}

func (c *checker) needNext(path string, ss *StepSpec) {
	if ss.Next == "" {
		c.errorf(path+".next", "is required (the step after this one)")
	}
}

func (c *checker) checkAsk(path string, ss *StepSpec, s *step) {
	if len(ss.Options) > 0 && ss.Validate != "" {
		c.errorf(path+".validate", "a question has options or validate, not both")
	}
	if len(ss.Options) == 0 && ss.Next == "" {
		c.errorf(path+".next", "is required for a free-text question")
	}
	if len(ss.Options) > 10 {
		c.errorf(path+".options", "at most 10 options (channels' menus hold no more)")
	}
	seen := map[string]string{}
	for i, o := range ss.Options {
		op := fmt.Sprintf("%s.options[%d]", path, i)
		if o.Label == "" {
			c.errorf(op+".label", "is required")
		}
		if o.Next == "" && ss.Next == "" {
			c.errorf(op+".next", "is required (or give the question a next)")
		}
		value := o.Value
		if value == "" {
			value = strings.ToLower(o.Label)
		}
		opt := option{label: o.Label, value: value, next: cmpOr(o.Next, ss.Next),
			norm: []string{Normalize(value), Normalize(o.Label), fmt.Sprint(i + 1)}}
		for _, n := range opt.norm[:2] {
			if other, dup := seen[n]; dup && other != op {
				c.errorf(op, "answers %q like %s: a customer's answer must pick one option", n, other)
			}
			seen[n] = op
		}
		s.options = append(s.options, opt)
	}
	if ss.Validate != "" {
		v, err := validator(ss.Validate)
		if err != nil {
			c.errorf(path+".validate", "%v", err)
		}
		s.validate = v
	}
	if ss.Save != "" && !validName.MatchString(ss.Save) {
		c.errorf(path+".save", "letters, digits, - and _ (the answer is then answers.%s)", ss.Save)
	}
	if (ss.Timeout == 0) != (ss.OnTimeout == "") {
		c.errorf(path, "timeout and on_timeout go together: give both or neither")
	}
	if ss.Retries < 0 || ss.Retries > 10 {
		c.errorf(path+".retries", "must be between 0 and 10")
	}
}

// checkTargets reports every next, option, case, on_invalid and on_timeout naming a step
// that does not exist.
func (c *checker) checkTargets(f *Flow) {
	for _, sn := range slices.Sorted(maps.Keys(c.spec.Steps)) {
		ss := c.spec.Steps[sn]
		if ss == nil {
			continue
		}
		path := c.path + ".steps." + sn
		ref := func(field, target string) {
			if target != "" && c.spec.Steps[target] == nil {
				c.errorf(path+"."+field, "unknown step %q%s", target, c.stepHint())
			}
		}
		ref("next", ss.Next)
		ref("on_invalid", ss.OnInvalid)
		ref("on_timeout", ss.OnTimeout)
		for i, o := range ss.Options {
			ref(fmt.Sprintf("options[%d].next", i), o.Next)
		}
		for i, cs := range ss.Branch {
			ref(fmt.Sprintf("branch[%d].next", i), cs.Next)
		}
		ref("on_failure", ss.OnFailure)
		ref("solved", ss.Solved)
		ref("unsolved", ss.Unsolved)
		ref("none", ss.None)
	}
}

// checkLoops reports a cycle of steps that never waits for the customer (it would run until
// the step budget): every cycle must pass through a question.
func (c *checker) checkLoops(f *Flow) {
	state := map[string]int{} // 0 unseen, 1 on the path, 2 done
	var path []string
	var visit func(string) bool
	visit = func(n string) bool {
		s := f.steps[n]
		if s == nil || s.kind == KindAsk || s.kind == KindArticle && s.none == "" || state[n] == 2 {
			return false
		}
		if state[n] == 1 {
			i := slices.Index(path, n)
			cycle := append(slices.Clone(path[i:]), n)
			c.errorf(c.path+".steps."+n, "these steps loop without waiting for the customer: %s", strings.Join(cycle, " → "))
			return true
		}
		state[n] = 1
		path = append(path, n)
		for _, next := range s.targets() {
			if visit(next) {
				return true
			}
		}
		path = path[:len(path)-1]
		state[n] = 2
		return false
	}
	for _, n := range slices.Sorted(maps.Keys(f.steps)) {
		if visit(n) {
			return
		}
	}
}

// targets are the steps a step can go to without waiting for the customer.
func (s *step) targets() []string {
	out := []string{s.next, s.onFailure}
	if s.kind == KindArticle {
		out = []string{s.none} // otherwise it waits for the customer
	}
	for _, cs := range s.cases {
		out = append(out, cs.next)
	}
	return slices.DeleteFunc(out, func(t string) bool { return t == "" })
}

func validVar(k string) bool {
	if k == "tags" || k == "priority" {
		return true
	}
	ns, name, ok := strings.Cut(k, ".")
	return ok && (ns == "answers" || ns == "customer") && validName.MatchString(name)
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// checkCase compiles one branch case: exactly one of when, expr, business_hours,
// outside_business_hours (or none: always).
func (c *checker) checkCase(cp string, cs *CaseSpec, last bool) branchCase {
	bc := branchCase{when: cs.When, next: cs.Next, expr: cs.Expr}
	n := 0
	for _, set := range []bool{cs.When != "", cs.Expr != "", cs.BusinessHours != "", cs.OutsideBusinessHours != ""} {
		if set {
			n++
		}
	}
	if n > 1 {
		c.errorf(cp, "a case has one condition: when, expr, business_hours or outside_business_hours")
	}
	switch {
	case cs.BusinessHours != "":
		bc.hours, bc.open = cs.BusinessHours, true
	case cs.OutsideBusinessHours != "":
		bc.hours = cs.OutsideBusinessHours
	case cs.Expr != "":
		cond, err := rules.CompileCondition(cs.Expr)
		if err != nil {
			c.errorf(cp+".expr", "%v", err)
		}
		bc.cond = cond
	}
	eval, err := compileWhen(cs.When)
	if err != nil {
		c.errorf(cp+".when", "%v", err)
	}
	bc.eval = eval
	if cs.Next == "" {
		c.errorf(cp+".next", "is required")
	}
	if n == 0 && !last {
		c.errorf(cp, "a case without a condition always holds: the cases after it are never taken")
	}
	return bc
}

func (c *checker) checkLookup(path string, ss *StepSpec, s *step) {
	l := ss.Lookup
	s.lookup, s.onFailure = l, ss.OnFailure
	if u, err := url.Parse(l.URL); l.URL == "" || !strings.HasPrefix(l.URL, "${") && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "") {
		c.errorf(path+".lookup.url", "an http or https URL is required (or ${VAR}: an environment variable holding it)")
	}
	if d := l.Timeout.D(); d < 0 || d > 10*time.Second {
		c.errorf(path+".lookup.timeout", "at most 10s (the conversation's partition waits for it)")
	}
	if l.Save != "" && !validName.MatchString(l.Save) {
		c.errorf(path+".lookup.save", "letters, digits, - and _ (the fields are then lookup.%s.<field>)", l.Save)
	}
	if l.SecretEnv != "" && !envName.MatchString(l.SecretEnv) {
		c.errorf(path+".lookup.secret_env", "the name of an environment variable (A-Z, 0-9, _)")
	}
	c.needNext(path, ss)
	if ss.OnFailure == "" {
		c.errorf(path+".on_failure", "is required: the step when the lookup fails or times out")
	}
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// checkArticle compiles an article step: the matches, then a yes/no question (ask, default
// "Did this answer your question?") whose answers go to solved and unsolved.
func (c *checker) checkArticle(path string, ss *StepSpec, s *step) {
	if ss.Solved == "" {
		c.errorf(path+".solved", "is required: the step when the articles answered the question")
	}
	if ss.Unsolved == "" {
		c.errorf(path+".unsolved", "is required: the step when they did not")
	}
	if len(ss.Options) > 0 || ss.Validate != "" || ss.Next != "" {
		c.errorf(path, "an article step asks yes or no itself: give solved and unsolved, not options, validate or next")
	}
	s.none = cmpOr(ss.None, ss.Unsolved)
	prompt := cmpOr(ss.Ask, "Did this answer your question?")
	s.options = []option{
		{label: "Yes", value: "yes", next: ss.Solved, norm: []string{"yes", "1", "y", "evet", "ja", "oui", "si"}},
		{label: "No", value: "no", next: ss.Unsolved, norm: []string{"no", "2", "n", "hayir", "nein", "non"}},
	}
	s.prompt = prompt
	if (ss.Timeout == 0) != (ss.OnTimeout == "") {
		c.errorf(path, "timeout and on_timeout go together: give both or neither")
	}
}
