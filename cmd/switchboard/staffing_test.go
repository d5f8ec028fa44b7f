package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"math"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// erlangC is the probability of waiting at n agents for a Erlangs, from the textbook
// formula with factorials (small n only): the test's own computation, not the package's.
func erlangC(a float64, n int) float64 {
	term, sum := 1.0, 1.0 // a^k / k!
	for k := 1; k < n; k++ {
		term *= a / float64(k)
		sum += term
	}
	top := term * a / float64(n) * float64(n) / (float64(n) - a)
	return top / (sum + top)
}

// The calculator on Call Centre Helper's example (200 contacts an hour, AHT 3 minutes, 80% in
// 20 s): 14 agents, 20 to schedule with 30% shrinkage; every headcount's service level and
// ASA in the CSV agree with the factorial formula.
func TestStaffingWhatIf(t *testing.T) {
	in, err := whatIfInput("200/h", 3*time.Minute, 1, 0, "80/20s", "", "30%")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := writeWhatIf(&out, in, true); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&out).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 7 || strings.Join(recs[0], ",") != "agents,scheduled,service_level,asa_seconds,occupancy,p_wait,abandon,meets_target" {
		t.Fatalf("CSV: %v", recs)
	}
	for _, r := range recs[1:] {
		n, _ := strconv.Atoi(r[0])
		c := erlangC(10, n)
		sl, asa := 1-c*math.Exp(-float64(n-10)*20/180), c*180/float64(n-10)
		gotSL, _ := strconv.ParseFloat(r[2], 64)
		gotASA, _ := strconv.ParseFloat(r[3], 64)
		if math.Abs(gotSL-sl) > 5e-5 || math.Abs(gotASA-asa) > 0.05 {
			t.Errorf("%d agents: SL %s ASA %s, want %.4f %.1f", n, r[2], r[3], sl, asa)
		}
		if meets := sl >= 0.8; (r[7] == "yes") != meets {
			t.Errorf("%d agents: meets_target %s with SL %.4f", n, r[7], sl)
		}
		if n == 14 && r[1] != "20" {
			t.Errorf("14 agents with 30%% shrinkage: schedule %s, want 20", r[1])
		}
	}
	out.Reset()
	if err := writeWhatIf(&out, in, false); err != nil || !strings.Contains(out.String(), "required: 14 agents on the queue (service level 88.8%, ASA 7.8 s, occupancy 71.4%); 20 to schedule with 30% shrinkage") {
		t.Fatalf("table: %v\n%s", err, out.String())
	}
}

// Bad input names what is wrong and exits 2: the binary is run as an operator would.
func TestStaffingBadInput(t *testing.T) {
	bin := binary(t)
	for _, c := range []struct{ args, msg string }{
		{"--what-if --aht 3m", "--arrivals is needed"},
		{"--what-if --arrivals 12/fortnight --aht 3m", "the period must be"},
		{"--what-if --arrivals 100/h", "--aht must be a positive duration"},
		{"--what-if --arrivals 100/h --aht 3m --target 100/20s", "the share must be a percentage above 0 and below 100"},
		{"--what-if --arrivals 1e12/h --aht 3m", "unreachable target: 80% within 20s is not met by up to 100000 agents"},
		{"--what-if --arrivals 100/h --aht 3m --shrinkage 120%", "--shrinkage"},
		{"--target 80/20s", "not built yet"},
		{"--queue general", "flag provided but not defined: -queue"},
	} {
		cmd := exec.CommandContext(context.Background(), bin, append([]string{"staffing"}, strings.Fields(c.args)...)...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		code := -1
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		if code != 2 || !strings.Contains(stderr.String(), c.msg) {
			t.Errorf("staffing %s: exit %d, stderr %q; want 2 and %q", c.args, code, stderr.String(), c.msg)
		}
	}
}
