package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchboardhq/switchboard/cmd/switchboard/app"
	"github.com/switchboardhq/switchboard/router/insight"
	"github.com/switchboardhq/switchboard/router/insight/kpi"
)

// runReport prints the service figures (docs/insight.md) from the stored report cells.
func runReport(ctx context.Context, args []string) error {
	fs := newFlags("report")
	configPath := fs.String("config", "", "config file to take NATS and the insight zone from")
	url := fs.String("nats", "", "NATS URL (default: the config's, else nats://127.0.0.1:4222)")
	since := fs.String("since", "7d", "report this far back from now (e.g. 90m, 24h, 7d); ignored with --from")
	from := fs.String("from", "", "start: RFC 3339 time on a 15-minute boundary, or a date (midnight in the insight zone)")
	to := fs.String("to", "", "end (exclusive): like --from; a date means the end of that day (default: now)")
	by := fs.String("by", "", "group by these dimensions (comma-separated: channel,account,queue,agent,priority)")
	interval := fs.String("interval", "", "one row per 15m, hour, day or week (default: the whole range)")
	asCSV := fs.Bool("csv", false, "print every figure as CSV")
	asJSON := fs.Bool("json", false, "print the report as JSON (as GET /v1/reports/conversations answers)")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	iv, err := kpi.ParseInterval(*interval)
	if err != nil {
		return fmt.Errorf("--interval: %w", err)
	}
	ic := insight.Config{}
	if *configPath != "" {
		c, _, err := app.CheckConfig(*configPath)
		if err != nil {
			return fmt.Errorf("config:\n%w", err)
		}
		ic = c.Insight
	}
	nc, js, err := connectJetStream(*configPath, *url)
	if err != nil {
		return err
	}
	defer nc.Close()
	return writeReport(ctx, js, ic, reportFlags{from: *from, to: *to, since: *since, by: *by, interval: iv, csv: *asCSV, json: *asJSON}, os.Stdout)
}

// reportFlags are report's command line.
type reportFlags struct {
	from, to, since, by string
	interval            kpi.Interval
	csv, json           bool
}

// writeReport queries the cells and writes the report to w.
func writeReport(ctx context.Context, js jetstream.JetStream, ic insight.Config, fl reportFlags, w io.Writer) error {
	reports, err := insight.OpenReports(ctx, js, ic)
	if err != nil {
		return fmt.Errorf("%w (has `switchboard serve` run with insight on?)", err)
	}
	f, t, field, err := insight.ParseRange(fl.from, fl.to, time.Now(), reports.Location())
	if err != nil {
		return fmt.Errorf("--%s: %w", field, err)
	}
	if fl.from == "" {
		back, err := parseSince(fl.since)
		if err != nil {
			return fmt.Errorf("--since: %w", err)
		}
		f = t.Add(-back).Truncate(15 * time.Minute)
	}
	var groupBy []string
	if fl.by != "" {
		groupBy = strings.Split(fl.by, ",")
	}
	rep, err := reports.Conversations(ctx, insight.Query{From: f, To: t, Interval: fl.interval, GroupBy: groupBy})
	if err != nil {
		return err
	}
	switch {
	case fl.json:
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	case fl.csv:
		return rep.WriteCSV(w)
	}
	printReport(w, rep)
	return nil
}

// parseSince reads a duration, with d for days.
func parseSince(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days <= 0 {
			return 0, fmt.Errorf("invalid %q (write e.g. 7d, 24h, 90m)", s)
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("invalid %q (write e.g. 7d, 24h, 90m)", s)
	}
	return d, nil
}

// printReport prints the figures people look at first as an aligned table; --csv has them all.
func printReport(w io.Writer, rep *insight.Report) {
	loc, _ := time.LoadLocation(rep.Timezone)
	if loc == nil {
		loc = time.UTC
	}
	fmt.Fprintf(w, "%s to %s (%s), %s\n\n", rep.From.In(loc).Format("2006-01-02 15:04"), rep.To.In(loc).Format("2006-01-02 15:04"), rep.Timezone, rep.Interval)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	var head []string
	if rep.Interval != "total" {
		head = append(head, "START")
	}
	for _, g := range rep.GroupBy {
		head = append(head, strings.ToUpper(g))
	}
	head = append(head, "OPENED", "RESOLVED", "REPLIES", "FRT AVG", "FRT P50", "FRT P90", "NEXT P50", "WAIT P50", "RESOL P50", "FCR", "REOPEN", "FRT SLA", "CSAT", "NPS")
	fmt.Fprintln(tw, strings.Join(head, "\t")+"\t")
	for _, s := range rep.Rows {
		var row []string
		if rep.Interval != "total" {
			row = append(row, s.Start.In(loc).Format("2006-01-02 15:04"))
		}
		for _, g := range rep.GroupBy {
			v := insight.DimValue(s.Dims, g)
			if v == "" {
				v = "-"
			}
			row = append(row, v)
		}
		m := s.Metrics
		row = append(row, strconv.FormatInt(s.Counts[kpi.Opened], 10), strconv.FormatInt(s.Counts[kpi.Resolved], 10),
			strconv.FormatInt(s.Counts[kpi.Replies], 10),
			avgSeconds(m[kpi.FirstResponse]), pSeconds(m[kpi.FirstResponse], 50), pSeconds(m[kpi.FirstResponse], 90),
			pSeconds(m[kpi.NextResponse], 50), pSeconds(m[kpi.QueueWait], 50), pSeconds(m[kpi.ResolutionFirst], 50),
			percent(s.Rates["fcr_rate"]), percent(s.Rates["reopen_rate"]), percent(s.Rates["sla_first_response_attainment"]),
			percent(s.Rates["csat"]), npsText(s.Rates[kpi.NPS]))
		fmt.Fprintln(tw, strings.Join(row, "\t")+"\t")
	}
	tw.Flush()
	if len(rep.Rows) == 0 {
		fmt.Fprintln(w, "(no conversations in this range)")
	}
	fmt.Fprintf(w, "\nfigures through stream sequence %d (stored %s); --csv prints every figure\n", rep.Through.Seq, rep.Through.At.Format(time.RFC3339))
}

// npsText is an NPS as a signed whole number ("-" without answers).
func npsText(v *float64) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf("%+.0f", *v)
}

func avgSeconds(m kpi.MetricSummary) string {
	if m.Count == 0 {
		return "-"
	}
	return human(time.Duration(m.AvgSeconds * float64(time.Second)))
}

func pSeconds(m kpi.MetricSummary, p int) string {
	if m.Count == 0 {
		return "-"
	}
	v := m.P50Seconds
	if p == 90 {
		v = m.P90Seconds
	}
	return human(time.Duration(v) * time.Second)
}

// human prints a duration to the second, in its two largest units.
func human(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd%02dh", int(d.Hours())/24, int(d.Hours())%24)
}

func percent(v *float64) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", *v*100)
}

// runInsight runs the insight subcommands.
func runInsight(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "rebuild" {
		fmt.Fprintln(os.Stderr, "usage: switchboard insight rebuild [--config FILE] [--nats URL]")
		return errUsage
	}
	fs := newFlags("insight rebuild")
	configPath := fs.String("config", "", "config file to take NATS and the insight settings from")
	url := fs.String("nats", "", "NATS URL (default: the config's, else nats://127.0.0.1:4222)")
	if err := fs.Parse(args[1:]); err != nil {
		return errUsage
	}
	return rebuildInsight(ctx, *configPath, *url, os.Stderr)
}
