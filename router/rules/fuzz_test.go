package rules

import (
	"errors"
	"os"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/configs/cfg"
	"github.com/switchboardhq/switchboard/schema"
)

// FuzzParseRules: any input gives rules or located errors, never a panic.
func FuzzParseRules(f *testing.F) {
	if data, err := os.ReadFile("../../configs/rules.yaml"); err == nil {
		f.Add(string(data))
	}
	f.Add("queues: {q: {skills: [general]}}\nrules: [{name: a, when: {expr: 'message.text == \"\"'}, targets: [{queue: q}]}]\n")
	f.Add("business_hours: {o: {weekly: {fri-mon: ['00:00-24:00']}}}\ndefault_queue: q\nqueues: {q: {}}\n")
	f.Add("rules: [{name: a, when: {expr: |\n    message.text ==\n  }}]\n")
	f.Fuzz(func(t *testing.T, src string) {
		rs, err := ParseRules("fuzz.yaml", []byte(src), testRoster())
		if err != nil {
			var es cfg.Errors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("error %v is not a non-empty cfg.Errors", err)
			}
			return
		}
		rs.Decide(&Input{Message: msg("email", "hello"), Now: monday}, NewStaticView(rs.roster))
	})
}

// FuzzDecide: any message through the example rules decides without a panic, and an
// assigned agent is available, serves the queue and has room.
func FuzzDecide(f *testing.F) {
	data, err := os.ReadFile("../../configs/rules.yaml")
	if err != nil {
		f.Fatal(err)
	}
	roster := NewRoster([]AgentConfig{
		{ID: "alice", Skills: []string{"billing", "general"}, Languages: []string{"en", "fr"}, Teams: []string{"tier1"}, Capacity: map[string]int{"webchat": 2}},
		{ID: "bruno", Skills: []string{"billing", "general"}, Languages: []string{"de", "en"}, Teams: []string{"tier1"}},
		{ID: "chen", Skills: []string{"technical", "general"}, Languages: []string{"en", "zh"}, Teams: []string{"tier2"}, Capacity: map[string]int{"default": 4}},
		{ID: "dana", Skills: []string{"vip", "billing", "technical", "general"}, Languages: []string{"en", "he"}, Teams: []string{"tier2"},
			Capacity: map[string]int{"default": 3}, MaxLoad: 6},
	}, map[string]int{"webchat": 3})
	rs, err := ParseRules("rules.yaml", data, roster)
	if err != nil {
		f.Fatal(err)
	}
	f.Add("email", "support", "Refund please", "", "de", "vip", "2500", int64(0), uint8(15))
	f.Add("webchat", "site", "the app is down", "Outage", "", "", "", int64(13*3600), uint8(3))
	f.Add("sms", "", "\xff\xfe", "", "zz-ZZ", "*", "abc", int64(-5), uint8(0))
	f.Fuzz(func(t *testing.T, ch, account, text, subject, lang, tier, total string, offset int64, agents uint8) {
		now := monday.Add(time.Duration(offset%(14*24*3600)) * time.Second)
		v := NewStaticView(roster)
		for i := 0; i < roster.Len(); i++ {
			if agents&(1<<i) != 0 {
				v.Set(i, Available, map[string]int{ch: int(agents>>4) % 4}, now)
			}
		}
		m := &schema.Message{Channel: schema.Channel(ch), Account: account, Text: text, Subject: subject, Language: lang,
			Kind: schema.KindMessage, Metadata: map[string]string{"order_total": total}}
		d := rs.Decide(&Input{Message: m, Customer: &schema.Customer{Attributes: map[string]string{"tier": tier}}, Now: now}, v)
		if d.Agent == "" {
			return
		}
		a, ok := roster.Lookup(d.Agent)
		q := rs.queues[d.Queue]
		if !ok || q == nil || v.Presence(a.idx) != Available || !v.State(a.idx).HasRoom(a, roster.Weight(m.Channel), m.Channel) {
			t.Fatalf("assigned %s in %s without room or availability: %+v", d.Agent, d.Queue, d)
		}
		found := false
		for _, i := range q.eligible {
			found = found || i == a.idx
		}
		if !found {
			t.Fatalf("%s cannot serve %s: %+v", d.Agent, d.Queue, d)
		}
	})
}
