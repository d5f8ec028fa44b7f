package router

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/switchboardhq/switchboard/router/agents"
	"github.com/switchboardhq/switchboard/router/rules"
)

// Metrics are the router's Prometheus series.
type Metrics struct {
	reg             prometheus.Registerer
	Decisions       *prometheus.CounterVec // switchboard_routing_decisions_total{queue,outcome}
	AssignConflicts prometheus.Counter     // switchboard_router_assign_conflicts_total
	ReloadOK        prometheus.Gauge       // switchboard_rules_last_reload_successful
	ReloadTime      prometheus.Gauge       // switchboard_rules_last_reload_success_timestamp_seconds
	RulesInfo       *prometheus.GaugeVec   // switchboard_rules_info{version}
	Dispatched      *prometheus.CounterVec // switchboard_dispatcher_commands_total{type}
	SLABreaches     *prometheus.CounterVec // switchboard_sla_breaches_total{metric,policy}
	Surveys         *prometheus.CounterVec // switchboard_surveys_total{kind,outcome}
	SurveyAnswers   *prometheus.CounterVec // switchboard_survey_answers_total{kind,channel,score}
	RosterReloads   *prometheus.CounterVec // switchboard_roster_changes_total{outcome}
	RosterAgents    *prometheus.GaugeVec   // switchboard_roster_agents{source}
	FlowEntries     *prometheus.CounterVec // switchboard_flow_entries_total{flow}
	FlowOutcomes    *prometheus.CounterVec // switchboard_flow_outcomes_total{flow,outcome,step}
	FlowSteps       *prometheus.CounterVec // switchboard_flow_steps_total{flow,step}
	FlowsReloadOK   prometheus.Gauge       // switchboard_flows_last_reload_successful
	Forwarded       prometheus.Counter     // switchboard_router_forwarded_total
}

// NewMetrics creates the series and registers them with reg (nil: unregistered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{reg: reg,
		Decisions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "switchboard_routing_decisions_total",
			Help: "Routing decisions by queue and outcome (assigned, queued, unrouted)."}, []string{"queue", "outcome"}),
		AssignConflicts: prometheus.NewCounter(prometheus.CounterOpts{Name: "switchboard_router_assign_conflicts_total",
			Help: "Agent load compare-and-set writes that lost a race and were retried."}),
		ReloadOK: prometheus.NewGauge(prometheus.GaugeOpts{Name: "switchboard_rules_last_reload_successful",
			Help: "1 if the last rules reload succeeded (or none was needed), 0 if the file is bad and the previous rules stay in force."}),
		ReloadTime: prometheus.NewGauge(prometheus.GaugeOpts{Name: "switchboard_rules_last_reload_success_timestamp_seconds",
			Help: "When the rules in force were loaded."}),
		RulesInfo: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "switchboard_rules_info",
			Help: "The version (hash) of the rules in force."}, []string{"version"}),
		Dispatched: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "switchboard_dispatcher_commands_total",
			Help: "Commands the dispatcher sent: assign (from the waiting list), escalate, overflow, requeue."}, []string{"type"}),
		SLABreaches: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "switchboard_sla_breaches_total",
			Help: "SLA targets breached (sla_breached events), by metric and policy."}, []string{"metric", "policy"}),
		Surveys: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "switchboard_surveys_total",
			Help: "Surveys sent, skipped (opted out, sampled out, no template outside a window, reopened) and expired unanswered, by kind."}, []string{"kind", "outcome"}),
		SurveyAnswers: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "switchboard_survey_answers_total",
			Help: "Survey answers (survey_answered events, a changed answer counted again), by kind, channel and score."}, []string{"kind", "channel", "score"}),
		RosterReloads: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "switchboard_roster_changes_total",
			Help: "Rosters put in force after an API change or a config reload (ok), or refused because the rules did not fit them (error)."}, []string{"outcome"}),
		RosterAgents: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "switchboard_roster_agents",
			Help: "Agents in the roster in force, by source (config: router.agents, api: PUT /v1/agents/{id})."}, []string{"source"}),
		FlowEntries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "switchboard_flow_entries_total",
			Help: "Conversations that entered a flow."}, []string{"flow"}),
		FlowOutcomes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "switchboard_flow_outcomes_total",
			Help: "How flows ended, by the step they ended at: resolved (contained), handoff, stopped (an agent stepped in) or timeout (the customer stopped answering: a drop-off)."}, []string{"flow", "outcome", "step"}),
		FlowSteps: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "switchboard_flow_steps_total",
			Help: "Flow steps taken."}, []string{"flow", "step"}),
		FlowsReloadOK: prometheus.NewGauge(prometheus.GaugeOpts{Name: "switchboard_flows_last_reload_successful",
			Help: "1 if the last flows file reload succeeded (or none was needed), 0 if the file is bad and the previous flows stay in force."}),
		Forwarded: prometheus.NewCounter(prometheus.CounterOpts{Name: "switchboard_router_forwarded_total",
			Help: "Customers' messages whose customer lives in another partition than their sender's identity suggests (a linked or merged identity), forwarded there through SB_ROUTE."}),
	}
	if reg != nil {
		reg.MustRegister(m.Decisions, m.AssignConflicts, m.ReloadOK, m.ReloadTime, m.RulesInfo, m.Dispatched, m.SLABreaches, m.Surveys, m.SurveyAnswers,
			m.RosterReloads, m.RosterAgents, m.FlowEntries, m.FlowOutcomes, m.FlowSteps, m.FlowsReloadOK, m.Forwarded)
	}
	return m
}

// setRoster exports how many agents the roster in force has, by source.
func (m *Metrics) setRoster(roster *rules.Roster) {
	n := map[string]int{rules.SourceConfig: 0, rules.SourceAPI: 0}
	for i := 0; i < roster.Len(); i++ {
		n[roster.At(i).Source]++
	}
	for src, c := range n {
		m.RosterAgents.WithLabelValues(src).Set(float64(c))
	}
}

// watch exports the rules version and reload state, and the waiting and agent gauges.
func (m *Metrics) watch(b *agents.Board, w *agents.Waitlist, h *RulesHolder, now func() time.Time) {
	if h != nil {
		rs := h.Current()
		m.ReloadOK.Set(1)
		m.ReloadTime.Set(float64(rs.LoadedAt.Unix()))
		m.RulesInfo.WithLabelValues(rs.Version).Set(1)
		h.onReload = func(ok bool, rs *rules.Rules) {
			if !ok {
				m.ReloadOK.Set(0)
				return
			}
			m.ReloadOK.Set(1)
			m.ReloadTime.Set(float64(rs.LoadedAt.Unix()))
			m.RulesInfo.Reset()
			m.RulesInfo.WithLabelValues(rs.Version).Set(1)
		}
	}
	if m.reg != nil {
		m.reg.MustRegister(&stateCollector{b: b, w: w, h: h, now: now,
			waiting: prometheus.NewDesc("switchboard_waiting_conversations", "Conversations waiting for an agent, by queue.", []string{"queue"}, nil),
			agents:  prometheus.NewDesc("switchboard_agents", "Agents by effective presence.", []string{"presence"}, nil),
			load:    prometheus.NewDesc("switchboard_agent_load", "Open conversations held by agents, weighted by channel.", nil, nil),
			oldest: prometheus.NewDesc("switchboard_oldest_waiting_seconds",
				"How long the conversation that has waited longest for an agent has waited, by queue.", []string{"queue"}, nil),
		})
	}
}

type stateCollector struct {
	b                     *agents.Board
	w                     *agents.Waitlist
	h                     *RulesHolder // nil: routing is off
	now                   func() time.Time
	waiting, agents, load *prometheus.Desc
	oldest                *prometheus.Desc
}

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.waiting
	ch <- c.agents
	ch <- c.load
	ch <- c.oldest
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	now := c.now()
	waiting := c.w.Ordered()
	if c.h != nil { // every queue has a depth, 0 included, so dashboards see an empty queue
		for _, q := range c.h.Current().QueueNames() {
			if _, ok := waiting[q]; !ok {
				waiting[q] = nil
			}
		}
	}
	for q, list := range waiting {
		ch <- prometheus.MustNewConstMetric(c.waiting, prometheus.GaugeValue, float64(len(list)), q)
		var first time.Time
		for _, e := range list {
			if first.IsZero() || e.QueuedAt.Before(first) {
				first = e.QueuedAt
			}
		}
		age := 0.0 // nobody waiting
		if !first.IsZero() {
			age = max(0, now.Sub(first).Seconds())
		}
		ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, age, q)
	}
	counts := map[rules.Presence]int{rules.Available: 0, rules.Away: 0, rules.Offline: 0}
	load := 0
	roster := c.b.Roster()
	c.b.Read(roster, now, "", func(v rules.AgentView) {
		for i := 0; i < roster.Len(); i++ {
			counts[v.Presence(i)]++
			load += v.State(i).Weighted()
		}
	})
	for p, n := range counts {
		ch <- prometheus.MustNewConstMetric(c.agents, prometheus.GaugeValue, float64(n), string(p))
	}
	ch <- prometheus.MustNewConstMetric(c.load, prometheus.GaugeValue, float64(load))
}
