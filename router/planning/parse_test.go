package planning

import (
	"math"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	for in, want := range map[string]Target{
		"80/20s": {Share: 0.8, Within: 20 * time.Second}, "90%/4h": {Share: 0.9, Within: 4 * time.Hour},
		"asa=30s": {ASA: 30 * time.Second}, " 95/0s ": {Share: 0.95},
	} {
		if got, err := ParseTarget(in); err != nil || got != want {
			t.Errorf("ParseTarget(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "80", "100/20s", "0/20s", "80/soon", "asa=0s", "asa=x", "-5/20s", "NaN/20s"} {
		if _, err := ParseTarget(bad); err == nil {
			t.Errorf("ParseTarget(%q) accepted", bad)
		}
	}
	for in, perHour := range map[string]float64{"120/h": 120, "40/30m": 80, "3/min": 180, "2400/d": 100, "0/h": 0} {
		if got, err := ParseRate(in); err != nil || math.Abs(got*3600-perHour) > 1e-9 {
			t.Errorf("ParseRate(%q) = %v/h, %v; want %v/h", in, got*3600, err, perHour)
		}
	}
	for _, bad := range []string{"120", "x/h", "-1/h", "5/fortnight", "5/0s", "NaN/h", "Inf/h"} {
		if _, err := ParseRate(bad); err == nil {
			t.Errorf("ParseRate(%q) accepted", bad)
		}
	}
	for in, want := range map[string]float64{"30%": 0.3, "0.3": 0.3, "0": 0, "25": 0.25} {
		if got, err := ParseShare(in); err != nil || math.Abs(got-want) > 1e-12 {
			t.Errorf("ParseShare(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"100%", "x", "-3%", "150", "NaN", "NaN%"} {
		if _, err := ParseShare(bad); err == nil {
			t.Errorf("ParseShare(%q) accepted", bad)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"80/20s", "asa=30s", "120/h", "30%", "40/30m"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if tg, err := ParseTarget(s); err == nil && (tg.Share < 0 || tg.Share >= 1 || tg.Within < 0 || tg.ASA < 0) {
			t.Fatalf("ParseTarget(%q) = %+v", s, tg)
		}
		if r, err := ParseRate(s); err == nil && (r < 0 || math.IsNaN(r)) {
			t.Fatalf("ParseRate(%q) = %v", s, r)
		}
		if v, err := ParseShare(s); err == nil && (v < 0 || v >= 1 || math.IsNaN(v)) {
			t.Fatalf("ParseShare(%q) = %v", s, v)
		}
	})
}
