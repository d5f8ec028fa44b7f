package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchboardhq/switchboard/router/insight"
	"github.com/switchboardhq/switchboard/router/planning"
	"github.com/switchboardhq/switchboard/router/rules"
)

// runStaffing is the staffing calculator (docs/planning.md): the agents an arrival rate and
// handle time need for a service target.
func runStaffing(ctx context.Context, args []string) error {
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
	configPath := fs.String("config", "", "config file: NATS, the insight zone, the agents and the rules file (the queue's agents)")
	url := fs.String("nats", "", "NATS URL (default: the config's, else nats://127.0.0.1:4222)")
	queue := fs.String("queue", "", "the queue to staff from its measured history")
	channel := fs.String("channel", "", "only the queue's conversations on this channel (such as whatsapp); default: all its channels")
	since := fs.String("since", "28d", "measure this far back from the start of today (e.g. 14d); ignored with --from")
	from := fs.String("from", "", "start: a date (midnight in the insight zone) or RFC 3339 time")
	to := fs.String("to", "", "end (exclusive): like --from (default: the start of today)")
	interval := fs.Duration("interval", 30*time.Minute, "planning interval: 15m, 30m or 60m")
	days := fs.Int("days", 7, "days to forecast after the range (0: none)")
	asJSON := fs.Bool("json", false, "print the report as JSON (as GET /v1/reports/staffing answers)")
	chart := fs.String("chart", "", "also draw the report into this file (.svg or .png): arrivals, required and staffed agents per interval")
	quiet := fs.Bool("quiet", false, "no progress bar on stderr while the history is read")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if !*whatIf {
		if *queue == "" {
			return badInput("name a queue (--queue) to staff from the measured history, or use --what-if with --arrivals, --aht and --target")
		}
		t, err := planning.ParseTarget(*target)
		if err != nil {
			return badInput("--target: %v", err)
		}
		if *occupancy != "" {
			if t.MaxOccupancy, err = planning.ParseShare(*occupancy); err != nil {
				return badInput("--max-occupancy: %v", err)
			}
		}
		sh, err := planning.ParseShare(*shrinkage)
		if err != nil {
			return badInput("--shrinkage: %v", err)
		}
		if *chart != "" {
			if err := checkChartPath(*chart); err != nil {
				return err
			}
		}
		if *configPath == "" {
			return badInput("--config is needed with --queue: the queue's agents and rules come from it")
		}
		c, rs, err := loadRules(*configPath, "")
		if err != nil {
			return err
		}
		nc, js, err := connectJetStream(*configPath, *url)
		if err != nil {
			return err
		}
		defer nc.Close()
		q := insight.StaffingQuery{Queue: *queue, Channel: *channel, Interval: *interval, Target: t, Shrinkage: sh, Days: *days}
		if *concurrency > 1 {
			q.Concurrency = *concurrency
		}
		out := staffingOutput{csv: *asCSV, json: *asJSON, chart: *chart}
		if !*quiet {
			out.progress = os.Stderr
		}
		return writeStaffing(ctx, js, c.Insight, rs, q, historyFlags{from: *from, to: *to, since: *since}, out, os.Stdout)
	}
	if *chart != "" {
		return badInput("--chart draws a queue's intervals: use it with --queue (the calculator prints a table)")
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

// historyFlags are the range flags of staffing.
type historyFlags struct{ from, to, since string }

// staffingOutput says how to write the report: a table (default), CSV or JSON on stdout, a
// chart file besides, and a progress bar on progress (nil: none) while the cells are read.
type staffingOutput struct {
	csv, json bool
	chart     string
	progress  io.Writer
}

// writeStaffing reads a queue's staffing report from the cells and writes it to w.
func writeStaffing(ctx context.Context, js jetstream.JetStream, ic insight.Config, rs *rules.Rules, q insight.StaffingQuery, hf historyFlags, out staffingOutput, w io.Writer) error {
	reports, err := insight.OpenReports(ctx, js, ic)
	if err != nil {
		return fmt.Errorf("%w (has `switchboard serve` run with insight on?)", err)
	}
	loc := reports.Location()
	now := time.Now().In(loc)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
	if hf.to == "" {
		hf.to = today.Format(time.RFC3339)
	}
	f, t, field, err := insight.ParseRange(hf.from, hf.to, now, loc)
	if err != nil {
		return badInput("--%s: %v", field, err)
	}
	if hf.from == "" {
		back, err := parseSince(hf.since)
		if err != nil {
			return badInput("--since: %v", err)
		}
		f = t.Add(-back)
	}
	q.From, q.To = f, t
	if err := q.FromRules(rs); err != nil {
		return badInput("%v", err)
	}
	var bar *progressBar
	if out.progress != nil {
		bar = newProgressBar(out.progress, "reading "+q.Queue+"'s history", "cells")
		q.Progress = bar.update
	}
	rep, err := reports.Staffing(ctx, q)
	if bar != nil {
		bar.finish()
	}
	var qe *insight.QueryError
	if errors.As(err, &qe) {
		return badInput("%v", err)
	}
	if err != nil {
		return err
	}
	if q.Days > 0 && !slices.ContainsFunc(rep.Rows, func(r planning.Row) bool { return r.Forecast }) {
		return badInput("no forecast: %s (--days 0 reports the measured intervals alone)", rep.ForecastNote)
	}
	if out.chart != "" {
		if err := writeStaffingChart(out.chart, rep); err != nil {
			return err
		}
	}
	switch {
	case out.json:
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	case out.csv:
		return rep.WriteCSV(w)
	}
	printStaffing(w, rep)
	if out.chart != "" {
		fmt.Fprintf(w, "\nchart: %s\n", out.chart)
	}
	return nil
}

// printStaffing writes the report as an aligned table.
func printStaffing(w io.Writer, rep *insight.StaffingReport) {
	in := rep.Inputs
	loc, err := time.LoadLocation(rep.Timezone)
	if err != nil {
		loc = time.UTC
	}
	queue := rep.Queue
	if rep.Channel != "" {
		queue += " on " + rep.Channel
	}
	fmt.Fprintf(w, "queue %s, %s to %s (%s), %s intervals, target %s\n", queue, rep.From.Format(time.DateOnly), rep.To.Format(time.DateOnly),
		rep.Timezone, rep.Interval, rep.Target)
	fmt.Fprintf(w, "measured: %d arrivals, AHT %.0f s, %d at once", in.Arrivals, in.AHTSeconds, in.Concurrency)
	if in.PatienceSec != nil {
		fmt.Fprintf(w, ", patience %.0f s (Erlang A)", *in.PatienceSec)
	}
	fmt.Fprintln(w)
	if bt := rep.Backtest; bt != nil {
		fmt.Fprintf(w, "forecast backtest (the last 7 days from the weeks before): WAPE %.1f%%, bias %+.1f%%\n", 100*bt.WAPE, 100*bt.Bias)
	} else if rep.ForecastNote != "" {
		fmt.Fprintf(w, "forecast: %s\n", rep.ForecastNote)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "START\tARRIVALS\tAHT S\tREQUIRED\tSCHEDULED\tSTAFFED\tSL AT STAFFED\tACHIEVED\tSTATUS\t")
	pct := func(v *float64) string {
		if v == nil {
			return "-"
		}
		return fmt.Sprintf("%.1f%%", 100**v)
	}
	for _, r := range rep.Rows {
		staffed, arrivals := "-", fmt.Sprintf("%.0f", r.Arrivals)
		if r.Staffed >= 0 {
			staffed = fmt.Sprintf("%.1f", r.Staffed)
		}
		if r.Forecast {
			arrivals = fmt.Sprintf("~%.1f", r.Arrivals)
		}
		status := string(r.Status)
		if r.Error != "" {
			status = r.Error
		}
		fmt.Fprintf(tw, "%s\t%s\t%.0f\t%d\t%d\t%s\t%s\t%s\t%s\t\n", r.Start.In(loc).Format("Mon 2006-01-02 15:04"), arrivals, r.AHTSeconds,
			r.Required, r.Scheduled, staffed, pct(r.PredictedAtStaffed), pct(r.Achieved), status)
	}
	_ = tw.Flush()
}
