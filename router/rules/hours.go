package rules

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
	_ "time/tzdata" // business hours name IANA zones; do not depend on the host's zoneinfo
)

// openingHours is a compiled [HoursSpec].
type openingHours struct {
	loc      *time.Location
	week     [7][]interval // by time.Weekday
	holidays map[string]bool
}

// interval is [from, to) in minutes after midnight.
type interval struct{ from, to int }

type hoursError struct{ field, msg string }

func (e *hoursError) Error() string { return e.field + ": " + e.msg }

var weekdays = map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday,
	"wed": time.Wednesday, "thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}

func compileHours(h *HoursSpec) (*openingHours, error) {
	if h == nil {
		return nil, &hoursError{"weekly", "is required"}
	}
	o := &openingHours{loc: time.UTC, holidays: map[string]bool{}}
	if h.Timezone != "" {
		loc, err := time.LoadLocation(h.Timezone)
		if err != nil {
			return nil, &hoursError{"timezone", fmt.Sprintf("unknown time zone %q (write an IANA name such as Europe/Berlin)", h.Timezone)}
		}
		o.loc = loc
	}
	if len(h.Weekly) == 0 {
		return nil, &hoursError{"weekly", "is required: e.g. {mon-fri: [\"09:00-17:00\"]}"}
	}
	for _, key := range slices.Sorted(maps.Keys(h.Weekly)) {
		days, err := parseDays(key)
		if err != nil {
			return nil, &hoursError{"weekly." + key, err.Error()}
		}
		for i, spec := range h.Weekly[key] {
			iv, err := parseInterval(spec)
			if err != nil {
				return nil, &hoursError{fmt.Sprintf("weekly.%s[%d]", key, i), err.Error()}
			}
			for _, d := range days {
				o.week[d] = append(o.week[d], iv)
			}
		}
	}
	for i, d := range h.Holidays {
		if _, err := time.Parse(time.DateOnly, d); err != nil {
			return nil, &hoursError{fmt.Sprintf("holidays[%d]", i), fmt.Sprintf("invalid date %q (write YYYY-MM-DD)", d)}
		}
		o.holidays[d] = true
	}
	return o, nil
}

// parseDays reads "mon", "mon-fri" or "fri-mon" (wrapping over the weekend).
func parseDays(s string) ([]time.Weekday, error) {
	from, to, isRange := strings.Cut(strings.ToLower(strings.TrimSpace(s)), "-")
	a, ok1 := weekdays[from]
	b, ok2 := weekdays[to]
	if !isRange {
		b, ok2 = a, ok1
	}
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("invalid days %q (write mon, tue, ..., sun or a range such as mon-fri)", s)
	}
	var out []time.Weekday
	for d := a; ; d = (d + 1) % 7 {
		out = append(out, d)
		if d == b {
			return out, nil
		}
	}
}

// parseInterval reads "09:00-17:30"; 24:00 ends a day.
func parseInterval(s string) (interval, error) {
	from, to, ok := strings.Cut(strings.TrimSpace(s), "-")
	bad := fmt.Errorf("invalid interval %q (write HH:MM-HH:MM, e.g. 09:00-17:30)", s)
	if !ok {
		return interval{}, bad
	}
	f, err1 := parseClock(from)
	t, err2 := parseClock(to)
	if err1 != nil || err2 != nil {
		return interval{}, bad
	}
	if t <= f {
		return interval{}, fmt.Errorf("interval %q ends before it starts (write hours past midnight as two intervals on two days)", s)
	}
	return interval{f, t}, nil
}

func parseClock(s string) (int, error) {
	var h, m int
	if n, err := fmt.Sscanf(strings.TrimSpace(s), "%d:%d", &h, &m); err != nil || n != 2 {
		return 0, fmt.Errorf("bad time")
	}
	if h < 0 || m < 0 || m > 59 || h > 24 || (h == 24 && m != 0) {
		return 0, fmt.Errorf("bad time")
	}
	return h*60 + m, nil
}

// open reports whether the hours are open at t.
func (o *openingHours) open(t time.Time) bool {
	t = t.In(o.loc)
	if o.holidays[t.Format(time.DateOnly)] {
		return false
	}
	m := t.Hour()*60 + t.Minute()
	for _, iv := range o.week[t.Weekday()] {
		if m >= iv.from && m < iv.to {
			return true
		}
	}
	return false
}

// Calendar is a named set of business hours from the rules file, for measuring time in
// business hours (docs/insight.md).
type Calendar interface {
	// Open reports whether the hours are open at t.
	Open(t time.Time) bool
	// Between is how much of [from, to) falls in open hours (0 when to is not after from).
	Between(from, to time.Time) time.Duration
	// Add is the moment d of open time after from.
	Add(from time.Time, d time.Duration) time.Time
}

// Calendar returns the business hours called name, or nil when the rules define none by
// that name.
func (r *Rules) Calendar(name string) Calendar {
	if r == nil || r.hours[name] == nil {
		return nil
	}
	return r.hours[name]
}

// Calendars lists the names of the business hours the rules define.
func (r *Rules) Calendars() []string {
	if r == nil {
		return nil
	}
	return slices.Sorted(maps.Keys(r.hours))
}

// Open reports whether the hours are open at t.
func (o *openingHours) Open(t time.Time) bool { return o.open(t) }

// Between adds up the open intervals of every local day that [from, to) touches. Days are
// walked in the calendar's zone, so a daylight-saving change shortens or lengthens the day
// it falls on, as a wall clock does.
func (o *openingHours) Between(from, to time.Time) time.Duration {
	if !to.After(from) {
		return 0
	}
	var total time.Duration
	f, t := from.In(o.loc), to.In(o.loc)
	day := time.Date(f.Year(), f.Month(), f.Day(), 0, 0, 0, 0, o.loc)
	for !day.After(t) {
		if !o.holidays[day.Format(time.DateOnly)] {
			for _, iv := range o.week[day.Weekday()] {
				a := clockOn(day, iv.from)
				b := clockOn(day, iv.to)
				a, b = later(a, f), earlier(b, t)
				if b.After(a) {
					total += b.Sub(a)
				}
			}
		}
		day = time.Date(day.Year(), day.Month(), day.Day()+1, 0, 0, 0, 0, o.loc)
	}
	return total
}

// clockOn is minute m (after midnight; 1440 is the next midnight) of day, on the wall clock.
func clockOn(day time.Time, m int) time.Time {
	return time.Date(day.Year(), day.Month(), day.Day(), m/60, m%60, 0, 0, day.Location())
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func earlier(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// Add is the moment d of open time after from (for d = 0: the first open moment at or after
// from). Hours that never open within a year leave it a year after from.
func (o *openingHours) Add(from time.Time, d time.Duration) time.Time {
	f := from.In(o.loc)
	day := time.Date(f.Year(), f.Month(), f.Day(), 0, 0, 0, 0, o.loc)
	for range 366 + 7 {
		if !o.holidays[day.Format(time.DateOnly)] {
			ivs := slices.Clone(o.week[day.Weekday()])
			slices.SortFunc(ivs, func(a, b interval) int { return a.from - b.from })
			for _, iv := range ivs {
				a, b := later(clockOn(day, iv.from), f), clockOn(day, iv.to)
				if !b.After(a) {
					continue
				}
				if span := b.Sub(a); d <= span {
					return a.Add(d)
				} else {
					d -= span
				}
			}
		}
		day = time.Date(day.Year(), day.Month(), day.Day()+1, 0, 0, 0, 0, o.loc)
	}
	return from.AddDate(1, 0, 0)
}

// Holiday reports whether any business-hours calendar lists day's date (as day's zone reads
// it) among its holidays.
func (rs *Rules) Holiday(day time.Time) bool {
	d := day.Format(time.DateOnly)
	for _, h := range rs.hours {
		if h.holidays[d] {
			return true
		}
	}
	return false
}
