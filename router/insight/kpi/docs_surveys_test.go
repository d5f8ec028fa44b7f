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
	"github.com/switchboardhq/switchboard/schema"
)

// TestSurveyExampleInTheDocs computes the worked example of docs/surveys.md (a survey-events
// block: "date time type id kind channel [score|reminder]", one conversation per survey) through
// trackers, a cell and Summarize, and checks the figures the page states.
func TestSurveyExampleInTheDocs(t *testing.T) {
	data, err := os.ReadFile("../../../docs/surveys.md")
	if err != nil {
		t.Fatal(err)
	}
	events, figures := fenced(string(data), "survey-events"), fenced(string(data), "survey-figures")
	if len(events) != 1 || len(figures) != 1 {
		t.Fatalf("%d survey-events and %d survey-figures blocks", len(events), len(figures))
	}
	trackers := map[string]*kpi.Tracker{}
	seqs := map[string]uint64{}
	cell := kpi.NewCell()
	for _, line := range strings.Split(strings.TrimSpace(events[0]), "\n") {
		f := strings.Fields(line)
		at, err := time.Parse("2006-01-02 15:04:05", f[0]+" "+f[1])
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		id := f[3]
		seqs[id]++
		se := &schema.SurveyEvent{ID: id, Kind: f[4], Channel: schema.Channel(f[5])}
		se.Min, se.Max = schema.SurveyScale(se.Kind)
		if len(f) > 6 {
			if f[6] == "reminder" {
				se.Reminder = true
			} else {
				n, _ := strconv.Atoi(f[6])
				se.Score = &n
			}
		}
		if trackers[id] == nil {
			trackers[id] = &kpi.Tracker{}
		}
		for _, op := range trackers[id].Apply(&schema.Event{Type: schema.EventType(f[2]), At: at, Seq: seqs[id], ConversationID: id, Survey: se}, kpi.Options{}) {
			cell.Add(op)
		}
	}
	total := kpi.NewAccumulator(nil)
	total.Add(time.Time{}, cell)
	sums := total.Summaries()
	if len(sums) != 1 {
		t.Fatalf("%d summaries", len(sums))
	}
	s := sums[0]
	pct := func(name string) string {
		if v := s.Rates[name]; v != nil {
			return fmt.Sprintf("%.1f%%", *v*100)
		}
		return "-"
	}
	num := func(name string) string {
		if v := s.Rates[name]; v != nil {
			return fmt.Sprintf("%.2f", *v)
		}
		return "-"
	}
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(figures[0]), "\n") {
		name, _, _ := strings.Cut(line, " = ")
		var v string
		switch {
		case name == "nps":
			v = fmt.Sprintf("%+.0f", *s.Rates[kpi.NPS])
		case strings.HasSuffix(name, "_average"):
			v = num(name)
		case name == "csat" || strings.HasSuffix(name, "_rate"):
			v = pct(name)
		case slices.Contains(kpi.Counters, name):
			v = strconv.FormatInt(s.Counts[name], 10)
		default:
			t.Fatalf("unknown figure %q on the page", name)
		}
		got = append(got, name+" = "+v)
	}
	var want []string
	for _, line := range strings.Split(strings.TrimSpace(figures[0]), "\n") {
		want = append(want, strings.TrimSpace(line))
	}
	if !slices.Equal(got, want) {
		t.Errorf("the page says\n%s\ncomputed\n%s", strings.Join(want, "\n"), strings.Join(got, "\n"))
	}
}
