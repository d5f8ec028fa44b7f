package kpi_test

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/router/insight/kpi"
	"github.com/switchboardhq/switchboard/router/rules"
	"github.com/switchboardhq/switchboard/schema"
)

// fenced returns the bodies of the fenced blocks of the given info string, in order.
func fenced(doc, info string) []string {
	var out []string
	for _, part := range strings.Split(doc, "```"+info+"\n")[1:] {
		body, _, _ := strings.Cut(part, "```")
		out = append(out, body)
	}
	return out
}

// TestWorkedExamplesInTheDocs computes every worked example of docs/insight.md (an events
// block followed by a figures block) and checks the figures the page states.
func TestWorkedExamplesInTheDocs(t *testing.T) {
	data, err := os.ReadFile("../../../docs/insight.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	events, figures := fenced(doc, "events"), fenced(doc, "figures")
	if len(events) == 0 || len(events) != len(figures) {
		t.Fatalf("%d events blocks and %d figures blocks", len(events), len(figures))
	}
	for i := range events {
		got := computeExample(t, events[i])
		var want []string
		for _, line := range strings.Split(strings.TrimSpace(figures[i]), "\n") {
			want = append(want, strings.Join(strings.Fields(line), " "))
		}
		if !slices.Equal(got, want) {
			t.Errorf("worked example %d: the page says\n%s\ncomputed\n%s", i+1, strings.Join(want, "\n"), strings.Join(got, "\n"))
		}
	}
}

// computeExample runs an events block through a tracker and lists the figures: every time
// figure's samples in seconds (in the order taken, those taken back removed), then every
// counter, in the order of the figures block's conventions (kpi.Metrics, kpi.Counters), only
// those with something to say.
func computeExample(t *testing.T, block string) []string {
	t.Helper()
	loc := time.UTC
	hours, window := "", time.Duration(0)
	var evs []*schema.Event
	for _, line := range strings.Split(strings.TrimSpace(block), "\n") {
		f := strings.Fields(line)
		switch f[0] {
		case "zone":
			var err error
			if loc, err = time.LoadLocation(f[1]); err != nil {
				t.Fatal(err)
			}
			continue
		case "hours":
			hours = fmt.Sprintf("{timezone: %s, weekly: {%s: [%q]}}", loc, f[1], f[2])
			continue
		case "window":
			window, _ = time.ParseDuration(f[1])
			continue
		}
		at, err := time.ParseInLocation("2006-01-02 15:04:05", f[0]+" "+f[1], loc)
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		ev := &schema.Event{Type: schema.EventType(f[2]), At: at, Seq: uint64(len(evs) + 1), ConversationID: "c"}
		kv := map[string]string{}
		rest := f[3:]
		if ev.Type == schema.EventMessage {
			m := &schema.Message{Kind: schema.KindMessage}
			switch rest[0] {
			case "in":
				m.Direction = schema.Inbound
			case "out":
				m.Direction = schema.Outbound
			case "note":
				m.Direction, m.Kind = schema.Outbound, schema.KindNote
			case "automated":
				m.Direction, m.Flags = schema.Outbound, []string{schema.FlagAutomated}
			}
			ev.Message = m
			rest = rest[1:]
		}
		for _, p := range rest {
			k, v, _ := strings.Cut(p, "=")
			kv[k] = v
		}
		if m := ev.Message; m != nil {
			m.Channel, m.Account, m.AgentID = schema.Channel(kv["channel"]), kv["account"], kv["agent"]
		}
		if q, a := kv["queue"], kv["agent"]; (q != "" || a != "") && ev.Message == nil {
			p, _ := strconv.Atoi(kv["priority"])
			ev.Routing = &schema.Routing{Queue: q, AgentID: a, Priority: p}
		}
		evs = append(evs, ev)
	}
	o := kpi.Options{ReopenWindow: window}
	if hours != "" {
		rs, err := rules.ParseRules("example.yaml", []byte("queues: {q: {}}\ndefault_queue: q\nbusiness_hours: {office: "+hours+"}\n"), rules.NewRoster(nil, nil))
		if err != nil {
			t.Fatal(err)
		}
		o.Calendar = rs.Calendar("office")
	}
	samples, counts := map[string][]int64{}, map[string]int64{}
	tr := &kpi.Tracker{}
	for _, ev := range evs {
		for _, op := range tr.Apply(ev, o) {
			if !kpi.IsMetric(op.Name) {
				counts[op.Name] += op.Sign
				continue
			}
			s := op.Value / 1000
			if op.Sign > 0 {
				samples[op.Name] = append(samples[op.Name], s)
			} else if i := slices.Index(samples[op.Name], s); i >= 0 {
				samples[op.Name] = slices.Delete(samples[op.Name], i, i+1)
			}
		}
	}
	var out []string
	for _, m := range kpi.Metrics {
		if len(samples[m]) > 0 {
			var vs []string
			for _, v := range samples[m] {
				vs = append(vs, strconv.FormatInt(v, 10))
			}
			out = append(out, m+" = "+strings.Join(vs, " "))
		}
	}
	for _, c := range kpi.Counters {
		if n, ok := counts[c]; ok {
			out = append(out, fmt.Sprintf("%s = %d", c, n))
		}
	}
	return out
}
