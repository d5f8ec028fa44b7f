package rules

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/configs/cfg"
	"github.com/switchboardhq/switchboard/schema"
)

// SLASpec is one SLA policy of the rules file's sla list (docs/insight.md#sla-policies).
// Policies are ordered: the first whose conditions all hold applies to a conversation cycle.
type SLASpec struct {
	Name string `yaml:"name"`
	// When takes the routing rules' conditions (channel, account, language, customer,
	// keywords, regex, business hours, expr), over the message that opened the cycle.
	When WhenSpec `yaml:"when"`
	// Queue and Priority match the conversation's queue and priority when the clocks start.
	Queue    []string `yaml:"queue"`
	Priority []int    `yaml:"priority"`
	// BusinessHours counts the targets in these business hours (empty: calendar time).
	BusinessHours string `yaml:"business_hours"`
	// Warn is when sla_warning fires: a share of the target ("80%", the default) or a lead
	// before it ("15m").
	Warn string `yaml:"warn"`
	// Targets per metric; a metric without a target has no clock.
	Targets SLATargetsSpec `yaml:"targets"`
	// ByPriority overrides targets for conversations of a priority (keys are priorities).
	ByPriority map[string]*SLATargetsSpec `yaml:"by_priority"`
}

// SLATargetsSpec are the targets of a policy.
type SLATargetsSpec struct {
	FirstResponse cfg.Duration `yaml:"first_response"`
	NextResponse  cfg.Duration `yaml:"next_response"`
	Resolution    cfg.Duration `yaml:"resolution"`
}

func (t *SLATargetsSpec) of(metric string) time.Duration {
	if t == nil {
		return 0
	}
	switch metric {
	case schema.SLAFirstResponse:
		return t.FirstResponse.D()
	case schema.SLANextResponse:
		return t.NextResponse.D()
	case schema.SLAResolution:
		return t.Resolution.D()
	}
	return 0
}

// SLAMetrics lists the metrics a policy can target.
var SLAMetrics = []string{schema.SLAFirstResponse, schema.SLANextResponse, schema.SLAResolution}

// SLAPolicy is a compiled [SLASpec].
type SLAPolicy struct {
	Name string
	// HoursName names the business hours targets count in ("" for calendar time).
	HoursName  string
	conds      []condition
	queues     []string
	priorities []int
	hours      *openingHours
	warnShare  float64       // of the target; 0 when warnLead is used
	warnLead   time.Duration // before the due time
	targets    *SLATargetsSpec
	byPriority map[int]*SLATargetsSpec
}

// SLAInput is what a policy is matched against.
type SLAInput struct {
	Message  *schema.Message
	Customer *schema.Customer
	Queue    string
	Priority int
	Now      time.Time
}

// SLA returns the first policy that applies, or nil.
func (rs *Rules) SLA(in SLAInput) *SLAPolicy {
	if rs == nil || len(rs.sla) == 0 {
		return nil
	}
	e := policyCtx(in.Message, in.Customer, in.Queue, in.Priority, in.Now)
	for _, p := range rs.sla {
		if len(p.queues) > 0 && !slices.Contains(p.queues, in.Queue) {
			continue
		}
		if len(p.priorities) > 0 && !slices.Contains(p.priorities, in.Priority) {
			continue
		}
		if holds(p.conds, e) {
			return p
		}
	}
	return nil
}

// policyCtx is what a policy's conditions are evaluated on (an empty message when none).
func policyCtx(m *schema.Message, cust *schema.Customer, queue string, priority int, now time.Time) *evalCtx {
	if m == nil {
		m = &schema.Message{}
	}
	return &evalCtx{in: &Input{Message: m, Customer: cust, Now: now, Queue: queue, Priority: priority}, text: messageText(m)}
}

// holds reports whether every condition holds.
func holds(conds []condition, e *evalCtx) bool {
	for _, c := range conds {
		if !c(e) {
			return false
		}
	}
	return true
}

// HasSLA reports whether the rules define SLA policies.
func (rs *Rules) HasSLA() bool { return rs != nil && len(rs.sla) > 0 }

// SLAPolicies lists the policies' names in order.
func (rs *Rules) SLAPolicies() []string {
	if rs == nil {
		return nil
	}
	return names(rs.sla)
}

// Clock starts metric's clock at start for a conversation of the given priority: nil when the
// policy has no target for it.
func (p *SLAPolicy) Clock(metric string, priority int, start time.Time) *schema.SLAClock {
	target := p.targets.of(metric)
	if o := p.byPriority[priority]; o != nil && o.of(metric) > 0 {
		target = o.of(metric)
	}
	if target <= 0 {
		return nil
	}
	c := &schema.SLAClock{Metric: metric, Target: int64(target / time.Second), BusinessHours: p.HoursName, StartedAt: start}
	warn := time.Duration(float64(target) * p.warnShare)
	if p.warnShare == 0 {
		warn = max(0, target-p.warnLead)
	}
	c.DueAt, c.WarnAt = p.after(start, target), p.after(start, warn)
	return c
}

// after is the moment d after start, counted in the policy's business hours.
func (p *SLAPolicy) after(start time.Time, d time.Duration) time.Time {
	if p.hours == nil {
		return start.Add(d)
	}
	return p.hours.Add(start, d)
}

// checkSLA checks the sla list and compiles it into c.out.sla.
func (c *rulesChecker) checkSLA() {
	names := map[string]int{}
	for i, s := range c.spec.SLA {
		path := fmt.Sprintf("sla[%d]", i)
		if s == nil {
			c.errorf(path, "is empty")
			continue
		}
		c.checkPolicyName(path, "policy", "sla", s.Name, i, names)
		p := &SLAPolicy{Name: s.Name, HoursName: s.BusinessHours, queues: s.Queue, priorities: s.Priority, targets: &s.Targets,
			byPriority: map[int]*SLATargetsSpec{}, warnShare: 0.8}
		for j, q := range s.Queue {
			if c.spec.Queues[q] == nil {
				c.errorf(fmt.Sprintf("%s.queue[%d]", path, j), "unknown queue %q%s", q, c.queueHint())
			}
		}
		if s.BusinessHours != "" {
			if c.spec.BusinessHours[s.BusinessHours] == nil {
				c.errorf(path+".business_hours", "unknown business hours %q%s", s.BusinessHours, hoursHint(c.spec.BusinessHours))
			}
			p.hours = c.hours[s.BusinessHours]
		}
		if s.Warn != "" {
			p.warnShare, p.warnLead = c.checkWarn(path+".warn", s.Warn)
		}
		c.checkSLATargets(path+".targets", &s.Targets, true)
		for _, key := range slices.Sorted(maps.Keys(s.ByPriority)) {
			prio, err := strconv.Atoi(key)
			if err != nil {
				c.doc.KeyErrorf(path+".by_priority."+key, "priorities are integers, not %q", key)
				continue
			}
			c.checkSLATargets(path+".by_priority."+key, s.ByPriority[key], false)
			p.byPriority[prio] = s.ByPriority[key]
		}
		p.conds = c.slaConditions(&s.When, path)
		c.out.sla = append(c.out.sla, p)
	}
}

func (c *rulesChecker) checkWarn(path, v string) (float64, time.Duration) {
	if pct, ok := strings.CutSuffix(strings.TrimSpace(v), "%"); ok {
		n, err := strconv.ParseFloat(pct, 64)
		if err != nil || n <= 0 || n >= 100 {
			c.errorf(path, "invalid share %q (write a percentage between 0 and 100, e.g. 80%%)", v)
			return 0.8, 0
		}
		return n / 100, 0
	}
	d, err := time.ParseDuration(strings.TrimSpace(v))
	if err != nil || d <= 0 {
		c.errorf(path, "invalid warning %q (write a share of the target such as 80%% or a lead such as 15m)", v)
		return 0.8, 0
	}
	return 0, d
}

func (c *rulesChecker) checkSLATargets(path string, t *SLATargetsSpec, required bool) {
	if t == nil {
		c.errorf(path, "is empty")
		return
	}
	any := false
	for _, m := range SLAMetrics {
		d := t.of(m)
		if d < 0 || (d > 0 && d < time.Second) {
			c.errorf(path+"."+m, "must be at least 1s")
		}
		any = any || d > 0
	}
	if !any && required {
		c.errorf(path, "a policy needs a target: first_response, next_response or resolution")
	}
}

// slaConditions checks a policy's when clause like a rule's and compiles it.
func (c *rulesChecker) slaConditions(w *WhenSpec, path string) []condition {
	if len(w.SLA) > 0 {
		c.errorf(path+".when.sla", "an SLA policy cannot depend on the SLA state")
	}
	return c.checkWhen(w, path)
}

// SLAPolicy returns the policy called name, or nil.
func (rs *Rules) SLAPolicy(name string) *SLAPolicy {
	if rs == nil {
		return nil
	}
	return named(rs.sla, name)
}

// UsesSLA reports whether a routing rule conditions on the SLA state: the router then routes
// a waiting conversation again when its SLA state changes.
func (rs *Rules) UsesSLA() bool { return rs != nil && rs.usesSLA }

// SLATooLong lists the targets whose clocks could outlast limit (how long SB_ROUTE keeps a
// timer) as "sla[i].targets.metric: …" problems; business-hours targets are measured from
// now, in wall time.
func (rs *Rules) SLATooLong(limit time.Duration, now time.Time) []string {
	if rs == nil || limit <= 0 {
		return nil
	}
	var out []string
	for i, p := range rs.sla {
		targets := map[string]*SLATargetsSpec{"targets": p.targets}
		for prio, t := range p.byPriority {
			targets[fmt.Sprintf("by_priority.%d", prio)] = t
		}
		for _, where := range slices.Sorted(maps.Keys(targets)) {
			for _, m := range SLAMetrics {
				d := targets[where].of(m)
				if d <= 0 {
					continue
				}
				if wall := p.after(now, d).Sub(now); wall > limit {
					out = append(out, fmt.Sprintf("sla[%d].%s.%s: %s (%s of wall time from now) is longer than pipeline.retention.route (%s), which keeps the timer: raise the retention or shorten the target",
						i, where, m, d, wall.Round(time.Minute), limit))
				}
			}
		}
	}
	return out
}

// checkPolicyName checks the name of list[i] (a policy of the kind) and records it in names.
func (c *rulesChecker) checkPolicyName(path, kind, list, name string, i int, names map[string]int) {
	switch prev, dup := names[name]; {
	case name == "":
		c.errorf(path+".name", "is required")
	case !validName(name):
		c.errorf(path+".name", "policy names may hold only letters, digits, - and _")
	case dup:
		c.errorf(path+".name", "duplicate %s name %q (also %s[%d])", kind, name, list, prev)
	}
	names[name] = i
}
