package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/switchboardhq/switchboard/cmd/switchboard/app"
	"github.com/switchboardhq/switchboard/pipeline"
	"github.com/switchboardhq/switchboard/pipeline/streams"
	"github.com/switchboardhq/switchboard/router/insight"
	"github.com/switchboardhq/switchboard/router/rules"
)

// rebuildInsight recomputes the report cells from the stream with a progress bar.
func rebuildInsight(ctx context.Context, configPath, url string, w io.Writer) error {
	c := &app.Config{}
	if configPath != "" {
		var err error
		if c, _, err = app.CheckConfig(configPath); err != nil {
			return fmt.Errorf("config:\n%w", err)
		}
	}
	var current func() *rules.Rules
	if c.Insight.BusinessHours != "" {
		rs, err := rules.LoadRulesFile(c.Router.RulesFile, rules.NewRoster(c.Router.Agents, c.Router.LoadWeights))
		if err != nil {
			return fmt.Errorf("rules (for insight.business_hours):\n%w", err)
		}
		current = func() *rules.Rules { return rs }
	}
	nc, js, err := connectJetStream(configPath, url)
	if err != nil {
		return err
	}
	defer nc.Close()
	return rebuildWith(ctx, js, c, current, w)
}

// rebuildWith rebuilds on js.
func rebuildWith(ctx context.Context, js jetstream.JetStream, c *app.Config, current func() *rules.Rules, w io.Writer) error {
	if err := insight.Provision(ctx, js, c.Insight, c.NATS.Replicas); err != nil {
		return err
	}
	leaseKV, err := js.KeyValue(ctx, streams.BucketLeases)
	if err != nil {
		return fmt.Errorf("open %s: %w (has `switchboard serve` run against this NATS?)", streams.BucketLeases, err)
	}
	host, _ := os.Hostname()
	leases := pipeline.NewLeases(leaseKV, &pipeline.Instance{ID: fmt.Sprintf("rebuild-%s-%d", host, os.Getpid())}, 30*time.Second, zap.NewNop())
	p, err := insight.New(ctx, insight.Options{JS: js, Config: c.Insight, Rules: current, Leases: leases})
	if err != nil {
		return err
	}
	bar := newProgressBar(w, "rebuilding insight", "events")
	pos, err := p.Rebuild(ctx, bar.update)
	bar.finish()
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "rebuilt generation %d through stream sequence %d in %s; a running gateway continues from there\n",
		pos.Generation, pos.Seq, bar.elapsed().Round(100*time.Millisecond))
	return nil
}

// progressBar draws "label [=====>    ]  45%  450,000/1,000,000  12,000/s  ETA 46s" on one
// line of a terminal (a line per 10% when w is not one).
type progressBar struct {
	w     io.Writer
	label string
	unit  string // what is counted: events, cells
	start time.Time
	tty   bool
	last  int
}

func newProgressBar(w io.Writer, label, unit string) *progressBar {
	tty := false
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			tty = true
		}
	}
	return &progressBar{w: w, label: label, unit: unit, start: time.Now(), tty: tty, last: -1}
}

func (b *progressBar) elapsed() time.Duration { return time.Since(b.start) }

func (b *progressBar) update(done, total uint64) {
	pct := 100
	if total > 0 {
		pct = int(done * 100 / total)
	}
	if !b.tty && pct/10 == b.last/10 && b.last >= 0 {
		return
	}
	b.last = pct
	el := time.Since(b.start)
	rate := float64(done) / max(el.Seconds(), 0.001)
	eta := "-"
	if rate > 0 && done < total {
		eta = time.Duration(float64(total-done) / rate * float64(time.Second)).Round(time.Second).String()
	}
	const width = 30
	fill := pct * width / 100
	bar := strings.Repeat("=", fill)
	if fill < width {
		bar += ">" + strings.Repeat(" ", width-fill-1)
	}
	line := fmt.Sprintf("%s [%s] %3d%%  %d/%d %s  %.0f/s  ETA %s", b.label, bar, pct, done, total, b.unit, rate, eta)
	if b.tty {
		fmt.Fprintf(b.w, "\r%s\x1b[K", line)
	} else {
		fmt.Fprintln(b.w, line)
	}
}

func (b *progressBar) finish() {
	if b.tty {
		fmt.Fprintln(b.w)
	}
}
