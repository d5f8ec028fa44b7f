package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/switchboardhq/switchboard/router/planning"
)

// runStaffing is the staffing calculator (docs/planning.md): the agents an arrival rate and
// handle time need for a service target.
func runStaffing(_ context.Context, args []string) error {
	fs := newFlags("staffing")
	whatIf := fs.Bool("what-if", false, "the calculator alone: staff the workload given by the flags below")
	arrivals := fs.String("arrivals", "", "arrival rate, such as 120/h, 40/30m or 2000/d")
	aht := fs.Duration("aht", 0, "average handle time of one contact, such as 6m")
	concurrency := fs.Int("concurrency", 1, "contacts an agent handles at once (live chat: 2 or 3)")
	patience := fs.Duration("patience", 0, "mean time customers wait before giving up (Erlang A); 0: nobody gives up (Erlang C)")
	target := fs.String("target", "80/20s", "service target: SHARE/TIME (80/20s, 90/4h) or asa=30s")
	occupancy := fs.String("max-occupancy", "", "cap on agent occupancy, such as 85% (default: none)")
	shrinkage := fs.String("shrinkage", "0%", "share of paid time off the queue (breaks, training), such as 30%")
	asCSV := fs.Bool("csv", false, "print CSV")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if !*whatIf {
		return badInput("staffing from the measured history is not built yet; use --what-if with --arrivals, --aht and --target")
	}
	in, err := whatIfInput(*arrivals, *aht, *concurrency, *patience, *target, *occupancy, *shrinkage)
	if err != nil {
		return err
	}
	return writeWhatIf(os.Stdout, in, *asCSV)
}

// whatIf is the calculator's input.
type whatIf struct {
	queue     planning.Queue
	target    planning.Target
	shrinkage float64
}

func whatIfInput(arrivals string, aht time.Duration, concurrency int, patience time.Duration, target, occupancy, shrinkage string) (whatIf, error) {
	var in whatIf
	if arrivals == "" {
		return in, badInput("--arrivals is needed, such as 120/h")
	}
	rate, err := planning.ParseRate(arrivals)
	if err != nil {
		return in, badInput("--arrivals: %v", err)
	}
	if aht <= 0 {
		return in, badInput("--aht must be a positive duration, such as 6m")
	}
	if concurrency < 1 {
		return in, badInput("--concurrency must be 1 or more")
	}
	if patience < 0 {
		return in, badInput("--patience cannot be negative")
	}
	if in.target, err = planning.ParseTarget(target); err != nil {
		return in, badInput("--target: %v", err)
	}
	if occupancy != "" {
		if in.target.MaxOccupancy, err = planning.ParseShare(occupancy); err != nil || in.target.MaxOccupancy == 0 {
			return in, badInput("--max-occupancy: write a share above 0%% and below 100%%, such as 85%%")
		}
	}
	if in.shrinkage, err = planning.ParseShare(shrinkage); err != nil {
		return in, badInput("--shrinkage: %v", err)
	}
	in.queue = planning.Queue{Arrivals: rate, AHT: aht, Concurrency: concurrency, Patience: patience}
	return in, nil
}

// writeWhatIf prints the required headcount and the service level of the headcounts around it.
func writeWhatIf(w io.Writer, in whatIf, asCSV bool) error {
	req, err := planning.Required(in.queue, in.target)
	if err != nil {
		return badInput("%v", err)
	}
	model := "Erlang C"
	if in.queue.Patience > 0 {
		model = fmt.Sprintf("Erlang A, patience %s", in.queue.Patience)
	}
	rows := [][]string{{"agents", "scheduled", "service_level", "asa_seconds", "occupancy", "p_wait", "abandon", "meets_target"}}
	for n := max(req.Agents-2, 1); n <= req.Agents+3; n++ {
		r := in.queue.At(n, in.target.Within)
		meets := "no"
		if n >= req.Agents {
			meets = "yes"
		}
		rows = append(rows, []string{strconv.Itoa(n), strconv.Itoa(planning.Scheduled(n, in.shrinkage)),
			ratio(r.ServiceLevel), fmt.Sprintf("%.1f", r.ASA), ratio(r.Occupancy), ratio(r.PWait), ratio(r.Abandon), meets})
	}
	if asCSV {
		cw := csv.NewWriter(w)
		_ = cw.WriteAll(rows)
		return cw.Error()
	}
	fmt.Fprintf(w, "%.1f contacts/h × %s handle time = %.2f Erlangs", in.queue.Arrivals*3600, in.queue.AHT, in.queue.Load())
	if c := in.queue.Concurrency; c > 1 {
		fmt.Fprintf(w, " (%.2f agents' worth at %d contacts at once)", in.queue.Load()/float64(c), c)
	}
	fmt.Fprintf(w, "; target %s; %s\n", in.target, model)
	fmt.Fprintf(w, "required: %d agents on the queue (service level %.1f%%, ASA %.1f s, occupancy %.1f%%)",
		req.Agents, 100*req.ServiceLevel, req.ASA, 100*req.Occupancy)
	if in.shrinkage > 0 {
		fmt.Fprintf(w, "; %d to schedule with %.0f%% shrinkage", planning.Scheduled(req.Agents, in.shrinkage), 100*in.shrinkage)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	for _, r := range rows {
		for _, c := range r {
			fmt.Fprint(tw, c, "\t")
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

func ratio(v float64) string { return strconv.FormatFloat(v, 'f', 4, 64) }

// badInput is a bad command line with its reason: printed, exit code 2.
func badInput(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }
func (e *usageError) Is(t error) bool {
	return t == errUsage
}
