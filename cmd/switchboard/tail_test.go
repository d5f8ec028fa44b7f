package main

import (
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/schema"
)

// tail shows what a triage event changed.
func TestFormatTriageEvents(t *testing.T) {
	at := time.Date(2026, 12, 3, 9, 30, 0, 0, time.UTC)
	p := 50
	for _, c := range []struct {
		ev   *schema.Event
		want string
	}{
		{&schema.Event{Type: schema.EventTagged, ConversationID: "cnv_1", Seq: 4, At: at, Reason: "big account", Triage: &schema.Triage{Tags: []string{"vip", "refund"}}},
			"09:30:00.000 cnv_1 #4 tagged      tags=vip,refund (big account)"},
		{&schema.Event{Type: schema.EventPriorityChanged, ConversationID: "cnv_1", Seq: 5, At: at, Triage: &schema.Triage{Priority: &p, PreviousPriority: 5}},
			"09:30:00.000 cnv_1 #5 priority_changed priority=50 (was 5)"},
		{&schema.Event{Type: schema.EventWoken, ConversationID: "cnv_1", Seq: 6, At: at, Reason: "the customer wrote", Triage: &schema.Triage{Until: &at, Wake: "customer"}},
			"09:30:00.000 cnv_1 #6 woken       until=2026-12-03T09:30:00Z by=customer (the customer wrote)"},
	} {
		if got := formatEvent(c.ev); got != c.want {
			t.Errorf("got  %q\nwant %q", got, c.want)
		}
	}
}
