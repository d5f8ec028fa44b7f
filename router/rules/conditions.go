package rules

import (
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/expr-lang/expr/vm"

	"github.com/switchboardhq/switchboard/schema"
)

// condition is one compiled condition of a rule.
type condition func(*evalCtx) bool

// evalCtx is one decision's view of its input, computing the costly parts once.
type evalCtx struct {
	in      *Input
	text    string // subject and text, joined
	lowered string
	haveLow bool
	env     *exprEnv
	vm      vm.VM
}

func (e *evalCtx) lowerText() string {
	if !e.haveLow {
		e.lowered, e.haveLow = strings.ToLower(e.text), true
	}
	return e.lowered
}

// compileConditions turns a checked when clause into conditions: re and prog are its regex
// and expression, compiled while checking; hours are the compiled business hours.
func compileConditions(w *WhenSpec, re *regexp.Regexp, prog *vm.Program, hours map[string]*openingHours) []condition {
	var out []condition
	if len(w.Channel) > 0 {
		chs := w.Channel
		out = append(out, func(e *evalCtx) bool { return slices.Contains(chs, string(e.in.Message.Channel)) })
	}
	if len(w.Account) > 0 {
		accts := w.Account
		out = append(out, func(e *evalCtx) bool { return slices.Contains(accts, e.in.Message.Account) })
	}
	if len(w.Language) > 0 {
		langs := make([]string, len(w.Language))
		for j, l := range w.Language {
			langs[j] = primaryLanguage(l)
		}
		out = append(out, func(e *evalCtx) bool { return slices.Contains(langs, primaryLanguage(e.in.Message.Language)) })
	}
	if len(w.Customer) > 0 {
		out = append(out, customerCondition(w.Customer))
	}
	if len(w.Keywords) > 0 {
		kws := make([]string, len(w.Keywords))
		for j, k := range w.Keywords {
			kws[j] = strings.ToLower(k)
		}
		out = append(out, func(e *evalCtx) bool {
			low := e.lowerText()
			return slices.ContainsFunc(kws, func(k string) bool { return strings.Contains(low, k) })
		})
	}
	if re != nil {
		lits := requiredLiterals(w.Regex)
		out = append(out, func(e *evalCtx) bool {
			for _, lit := range lits {
				if !strings.Contains(e.lowerText(), lit) {
					return false
				}
			}
			return re.MatchString(e.text)
		})
	}
	if h := hours[w.BusinessHours]; w.BusinessHours != "" && h != nil {
		out = append(out, func(e *evalCtx) bool { return h.open(e.in.Now) })
	}
	if h := hours[w.OutsideBusinessHours]; w.OutsideBusinessHours != "" && h != nil {
		out = append(out, func(e *evalCtx) bool { return !h.open(e.in.Now) })
	}
	if prog != nil {
		out = append(out, func(e *evalCtx) bool { return e.runExpr(prog) })
	}
	if len(w.SLA) > 0 {
		states := w.SLA
		out = append(out, func(e *evalCtx) bool { return slices.Contains(states, e.in.SLA) })
	}
	if len(w.Tags) > 0 {
		tags := make([]string, len(w.Tags))
		for j, t := range w.Tags {
			tags[j] = strings.ToLower(strings.TrimSpace(t))
		}
		out = append(out, func(e *evalCtx) bool {
			return slices.ContainsFunc(tags, func(t string) bool { return slices.Contains(e.in.Tags, t) })
		})
	}
	return out
}

func customerCondition(want map[string]string) condition {
	type pair struct{ k, v string }
	pairs := make([]pair, 0, len(want))
	for _, k := range slices.Sorted(maps.Keys(want)) {
		pairs = append(pairs, pair{k, want[k]})
	}
	return func(e *evalCtx) bool {
		var attrs map[string]string
		if c := e.in.Customer; c != nil {
			attrs = c.Attributes
		}
		for _, p := range pairs {
			got, ok := attrs[p.k]
			if !ok || (p.v != "*" && got != p.v) {
				return false
			}
		}
		return true
	}
}

// runExpr evaluates a compiled expression; a runtime error (e.g. a missing map key used as
// a number) counts as false.
func (e *evalCtx) runExpr(prog *vm.Program) bool {
	if e.env == nil {
		e.env = newExprEnv(e.in)
	}
	out, err := e.vm.Run(prog, e.env)
	if err != nil {
		return false
	}
	b, _ := out.(bool)
	return b
}

func newExprEnv(in *Input) *exprEnv {
	m := in.Message
	env := &exprEnv{Now: in.Now, Conversation: exprConversation{Tags: in.Tags}, Message: exprMessage{
		Channel: string(m.Channel), Account: m.Account, Kind: string(m.Kind), Subject: m.Subject,
		Text: m.Text, Language: m.Language, From: m.From.Value, FromKind: m.From.Kind,
		Metadata: m.Metadata, Attachments: len(m.Attachments),
	}}
	if c := in.Customer; c != nil {
		env.Customer = exprCustomer{ID: c.ID, Name: c.Name, ExternalID: c.ExternalID, Attributes: c.Attributes,
			Conversations: len(c.Conversations)}
		for _, id := range c.Identities {
			env.Customer.Identities = append(env.Customer.Identities, id.Kind+":"+id.Value)
			env.Customer.Verified = env.Customer.Verified || id.Verified
		}
	}
	if env.Conversation.Tags == nil {
		env.Conversation.Tags = []string{}
	}
	if env.Message.Metadata == nil {
		env.Message.Metadata = map[string]string{}
	}
	if env.Customer.Attributes == nil {
		env.Customer.Attributes = map[string]string{}
	}
	return env
}

// messageText is what keywords and regexes search: the subject and the text (the stripped
// text when the channel removed quoted replies).
func messageText(m *schema.Message) string {
	text := m.Text
	if m.StrippedText != "" {
		text = m.StrippedText
	}
	if m.Subject == "" {
		return text
	}
	return m.Subject + "\n" + text
}
