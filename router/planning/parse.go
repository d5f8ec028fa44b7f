package planning

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// ParseTarget reads a service target as planners write it: "80/20s" (80% answered within
// 20 s), "90/4h", or "asa=30s" (an average speed of answer).
func ParseTarget(s string) (Target, error) {
	s = strings.TrimSpace(s)
	if d, ok := strings.CutPrefix(strings.ToLower(s), "asa="); ok {
		asa, err := time.ParseDuration(d)
		if err != nil || asa <= 0 {
			return Target{}, fmt.Errorf("target %q: the ASA must be a positive duration such as 30s", s)
		}
		return Target{ASA: asa}, nil
	}
	share, within, ok := strings.Cut(s, "/")
	if !ok {
		return Target{}, fmt.Errorf("target %q: write SHARE/TIME (80/20s: 80%% within 20 seconds) or asa=30s", s)
	}
	p, err := strconv.ParseFloat(strings.TrimSuffix(share, "%"), 64)
	if err != nil || !(p > 0 && p < 100) {
		return Target{}, fmt.Errorf("target %q: the share must be a percentage above 0 and below 100", s)
	}
	d, err := time.ParseDuration(within)
	if err != nil || d < 0 {
		return Target{}, fmt.Errorf("target %q: the time must be a duration such as 20s or 4h", s)
	}
	return Target{Share: p / 100, Within: d}, nil
}

// ParseRate reads an arrival rate, "120/h", "40/30m", "3/min", "2000/d", as contacts per second.
func ParseRate(s string) (float64, error) {
	n, per, ok := strings.Cut(strings.TrimSpace(s), "/")
	v, err := strconv.ParseFloat(n, 64)
	if !ok || err != nil || !(v >= 0) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("arrivals %q: write COUNT/PERIOD, such as 120/h or 40/30m", s)
	}
	var d time.Duration
	switch per {
	case "s", "sec":
		d = time.Second
	case "min", "m":
		d = time.Minute
	case "h", "hour":
		d = time.Hour
	case "d", "day":
		d = 24 * time.Hour
	default:
		if d, err = time.ParseDuration(per); err != nil || d <= 0 {
			return 0, fmt.Errorf("arrivals %q: the period must be s, min, h, d or a duration such as 30m", s)
		}
	}
	return v / d.Seconds(), nil
}

// ParseShare reads a share of time, "30%" or "0.3", in [0, 1).
func ParseShare(s string) (float64, error) {
	t := strings.TrimSpace(s)
	pct := strings.HasSuffix(t, "%")
	v, err := strconv.ParseFloat(strings.TrimSuffix(t, "%"), 64)
	if pct || v > 1 {
		v /= 100
	}
	if err != nil || !(v >= 0 && v < 1) {
		return 0, fmt.Errorf("%q: write a percentage from 0%% to below 100%%, such as 30%%", s)
	}
	return v, nil
}
