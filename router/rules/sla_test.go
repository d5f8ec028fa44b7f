package rules

import (
	"strings"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/schema"
)

const slaRules = `
queues: {general: {}, billing: {}}
default_queue: general
business_hours:
  office: {timezone: UTC, weekly: {mon-fri: ["09:00-17:00"]}}
sla:
  - name: vip
    when: {customer: {tier: gold}}
    warn: 10m
    targets: {first_response: 30m, resolution: 8h}
  - name: billing
    queue: [billing]
    business_hours: office
    targets: {first_response: 2h, next_response: 4h}
    by_priority:
      1: {first_response: 1h}
  - name: default
    targets: {first_response: 4h}
`

func TestSLAPoliciesMatchInOrderAndStartClocks(t *testing.T) {
	rs, err := ParseRules("rules.yaml", []byte(slaRules), NewRoster(nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	gold := &schema.Customer{Attributes: map[string]string{"tier": "gold"}}
	start := time.Date(2026, 12, 4, 16, 30, 0, 0, time.UTC) // a Friday
	for _, c := range []struct {
		in   SLAInput
		want string
	}{
		{SLAInput{Customer: gold, Queue: "billing"}, "vip"},
		{SLAInput{Queue: "billing"}, "billing"},
		{SLAInput{Queue: "general"}, "default"},
	} {
		if p := rs.SLA(c.in); p == nil || p.Name != c.want {
			t.Fatalf("%+v: policy %v, want %s", c.in, p, c.want)
		}
	}
	vip := rs.SLA(SLAInput{Customer: gold})
	fr := vip.Clock(schema.SLAFirstResponse, 0, start)
	if fr.Target != 1800 || !fr.DueAt.Equal(start.Add(30*time.Minute)) || !fr.WarnAt.Equal(start.Add(20*time.Minute)) {
		t.Fatalf("vip first response: %+v", fr)
	}
	if vip.Clock(schema.SLANextResponse, 0, start) != nil {
		t.Fatal("a metric without a target has a clock")
	}
	billing := rs.SLA(SLAInput{Queue: "billing", Priority: 1})
	fr = billing.Clock(schema.SLAFirstResponse, 1, start)
	// 1 h of business time from Friday 16:30: 30 min on Friday, 30 min on Monday.
	if fr.Target != 3600 || !fr.DueAt.Equal(time.Date(2026, 12, 7, 9, 30, 0, 0, time.UTC)) || fr.BusinessHours != "office" {
		t.Fatalf("billing priority 1 first response: %+v", fr)
	}
	// warn at 80% = 48 min of business time: 30 on Friday, 18 on Monday.
	if !fr.WarnAt.Equal(time.Date(2026, 12, 7, 9, 18, 0, 0, time.UTC)) {
		t.Fatalf("warn at %s", fr.WarnAt)
	}
}

func TestSLAPolicyErrorsAreLocated(t *testing.T) {
	bad := `
queues: {general: {}}
default_queue: general
sla:
  - name: a
    queue: [nowhere]
    business_hours: never
    warn: 120%
    targets: {first_response: 500ms}
  - name: a
    targets: {}
  - {name: "b c", targets: {resolution: 1h}, when: {regex: "("}}
`
	_, err := ParseRules("rules.yaml", []byte(bad), NewRoster(nil, nil))
	if err == nil {
		t.Fatal("bad policies compiled")
	}
	for _, want := range []string{
		`rules.yaml:6:13: sla[0].queue[0]: unknown queue "nowhere"`,
		`rules.yaml:7:21: sla[0].business_hours: unknown business hours "never"`,
		`rules.yaml:8:11: sla[0].warn: invalid share "120%"`,
		`sla[0].targets.first_response: must be at least 1s`,
		`sla[1].name: duplicate policy name "a" (also sla[0])`,
		`sla[1].targets: a policy needs a target`,
		`sla[2].name: policy names may hold only letters`,
		`sla[2].when.regex: invalid regular expression`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
}
