package main

import (
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/switchboardhq/switchboard/router/insight"
	"github.com/switchboardhq/switchboard/router/planning"
)

// Chart colours: measured in blue, forecast in orange, required in black, staffed in green,
// under-staffed intervals shaded red.
var (
	colArrivals  = color.RGBA{R: 0x3b, G: 0x82, B: 0xc4, A: 0xff}
	colFill      = color.NRGBA{R: 0x3b, G: 0x82, B: 0xc4, A: 0x40}
	colForecast  = color.RGBA{R: 0xe0, G: 0x7b, B: 0x12, A: 0xff}
	colRequired  = color.RGBA{R: 0x22, G: 0x22, B: 0x22, A: 0xff}
	colScheduled = color.RGBA{R: 0x88, G: 0x88, B: 0x88, A: 0xff}
	colStaffed   = color.RGBA{R: 0x1f, G: 0x9d, B: 0x55, A: 0xff}
	colUnder     = color.NRGBA{R: 0xe5, G: 0x3e, B: 0x3e, A: 0x70}
	colFuture    = color.NRGBA{R: 0x80, G: 0x80, B: 0x80, A: 0x20}
)

// writeStaffingChart draws the report into path (.svg or .png): arrivals per interval
// (measured, then forecast) above, required, scheduled and staffed agents below, with the
// under-staffed intervals shaded and the forecast days greyed.
func writeStaffingChart(path string, rep *insight.StaffingReport) error {
	if err := checkChartPath(path); err != nil {
		return err
	}
	ext := strings.ToLower(filepath.Ext(path))
	if len(rep.Rows) == 0 {
		return badInput("--chart: the report has no intervals to draw")
	}
	loc, err := time.LoadLocation(rep.Timezone)
	if err != nil {
		loc = time.UTC
	}
	top, bottom, err := staffingPlots(rep, loc)
	if err != nil {
		return err
	}
	const w, h = 32 * vg.Centimeter, 18 * vg.Centimeter
	var c vg.CanvasWriterTo
	if ext == ".svg" {
		c = vgsvg.New(w, h)
	} else {
		c = vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(144))}
	}
	dc := draw.New(c)
	tiles := draw.Tiles{Rows: 2, Cols: 1, PadX: vg.Millimeter, PadY: 4 * vg.Millimeter,
		PadTop: 2 * vg.Millimeter, PadBottom: 2 * vg.Millimeter, PadLeft: 2 * vg.Millimeter, PadRight: 4 * vg.Millimeter}
	plots := [][]*plot.Plot{{top}, {bottom}}
	canvases := plot.Align(plots, tiles, dc)
	top.Draw(canvases[0][0])
	bottom.Draw(canvases[1][0])
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := c.WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// checkChartPath refuses a chart file name whose format is not known.
func checkChartPath(path string) error {
	if ext := strings.ToLower(filepath.Ext(path)); ext != ".svg" && ext != ".png" {
		return badInput("--chart: write a file name ending in .svg or .png, not %q", path)
	}
	return nil
}

// chartSeries are the report's lines as steps over unix seconds.
type chartSeries struct {
	measured, forecast, required, scheduled, staffed plotter.XYs
	maxAgents, maxArrivals                           float64
	shades                                           [][2]float64 // under-staffed intervals
	firstFuture                                      int          // the first forecast row, or -1
	xmin, xmax                                       float64
}

func seriesOf(rows []planning.Row) chartSeries {
	x := func(t time.Time) float64 { return float64(t.Unix()) }
	endOf := func(i int) time.Time { return rows[i].Start.Add(time.Duration(rows[i].LengthSeconds) * time.Second) }
	c := chartSeries{firstFuture: -1, xmin: x(rows[0].Start), xmax: x(endOf(len(rows) - 1))}
	for i, r := range rows {
		x0, x1 := x(r.Start), x(endOf(i))
		step := func(xys *plotter.XYs, v float64) {
			*xys = append(*xys, plotter.XY{X: x0, Y: v}, plotter.XY{X: x1, Y: v})
		}
		if r.Forecast {
			if c.firstFuture < 0 {
				c.firstFuture = i
				if n := len(c.measured); n > 0 {
					c.forecast = append(c.forecast, c.measured[n-1]) // the two lines join
				}
			}
			step(&c.forecast, r.Arrivals)
		} else {
			step(&c.measured, r.Arrivals)
			if r.Staffed >= 0 {
				step(&c.staffed, r.Staffed)
				c.maxAgents = max(c.maxAgents, r.Staffed)
			}
			if r.Status == planning.StatusUnder {
				c.shades = append(c.shades, [2]float64{x0, x1})
			}
		}
		c.maxArrivals = max(c.maxArrivals, r.Arrivals)
		step(&c.required, float64(r.Required))
		step(&c.scheduled, float64(r.Scheduled))
		c.maxAgents = max(c.maxAgents, float64(r.Scheduled), float64(r.Required))
	}
	return c
}

// staffingPlots builds the two panels over one time axis (unix seconds).
func staffingPlots(rep *insight.StaffingReport, loc *time.Location) (*plot.Plot, *plot.Plot, error) {
	c := seriesOf(rep.Rows)
	top := plot.New()
	iv := rep.Interval
	if d, err := time.ParseDuration(iv); err == nil {
		iv = fmt.Sprintf("%.0f minutes", d.Minutes())
	}
	queue := rep.Queue
	if rep.Channel != "" {
		queue += " on " + rep.Channel
	}
	top.Title.Text = fmt.Sprintf("Queue %s: arrivals per %s (%s)", queue, iv, rep.Timezone)
	top.Y.Label.Text = "conversations"
	bottom := plot.New()
	bottom.Title.Text = fmt.Sprintf("Agents for %s (AHT %.0f s, %d at once)", rep.Target, rep.Inputs.AHTSeconds, rep.Inputs.Concurrency)
	bottom.Y.Label.Text = "agents"
	bottom.Y.Tick.Marker = wholeTicks{}
	top.Y.Max, bottom.Y.Max = c.maxArrivals*1.25+1, c.maxAgents*1.6+1 // room for the legends
	for _, p := range []*plot.Plot{top, bottom} {
		p.X.Min, p.X.Max = c.xmin, c.xmax
		p.X.Tick.Marker = timeTicks{loc: loc}
		p.Y.Min = 0
		p.Legend.Top = true
		p.Add(plotter.NewGrid())
		if c.firstFuture >= 0 {
			p.Add(mustPolygon(colFuture, rect(float64(rep.Rows[c.firstFuture].Start.Unix()), c.xmax, 0, p.Y.Max)))
		}
	}
	for _, s := range c.shades {
		bottom.Add(mustPolygon(colUnder, rect(s[0], s[1], 0, bottom.Y.Max)))
	}
	if err := addLine(top, "measured", c.measured, colArrivals, colFill, false); err != nil {
		return nil, nil, err
	}
	if err := addLine(top, "forecast", c.forecast, colForecast, nil, true); err != nil {
		return nil, nil, err
	}
	for _, l := range []struct {
		name string
		xys  plotter.XYs
		col  color.Color
		dash bool
	}{{"staffed (measured)", c.staffed, colStaffed, false}, {"to schedule (with shrinkage)", c.scheduled, colScheduled, true}, {"required on the queue", c.required, colRequired, false}} {
		if l.col == colScheduled && slices.Equal(c.scheduled, c.required) {
			continue // no shrinkage: the same line
		}
		if err := addLine(bottom, l.name, l.xys, l.col, nil, l.dash); err != nil {
			return nil, nil, err
		}
	}
	if len(c.shades) > 0 {
		bottom.Legend.Add("under-staffed", mustPolygon(colUnder, rect(0, 1, 0, 1)))
	}
	return top, bottom, nil
}

func addLine(p *plot.Plot, name string, xys plotter.XYs, col, fill color.Color, dashed bool) error {
	if len(xys) == 0 {
		return nil
	}
	l, err := plotter.NewLine(xys)
	if err != nil {
		return fmt.Errorf("chart %s: %w", name, err)
	}
	l.Color, l.Width, l.FillColor = col, vg.Points(1.2), fill
	if col == colStaffed {
		l.Width = vg.Points(2.5) // shows around the required line where they agree
	}
	if dashed {
		l.Dashes = []vg.Length{vg.Points(4), vg.Points(2)}
	}
	p.Add(l)
	p.Legend.Add(name, l)
	return nil
}

func rect(x0, x1, y0, y1 float64) plotter.XYs {
	return plotter.XYs{{X: x0, Y: y0}, {X: x1, Y: y0}, {X: x1, Y: y1}, {X: x0, Y: y1}}
}

func mustPolygon(col color.Color, xys plotter.XYs) *plotter.Polygon {
	p, _ := plotter.NewPolygon(xys) // four finite points: never an error
	p.Color = col
	p.LineStyle.Width = 0
	return p
}

// wholeTicks marks whole numbers (headcounts), about six labelled.
type wholeTicks struct{}

func (wholeTicks) Ticks(lo, hi float64) []plot.Tick {
	step := max(1, int(math.Ceil((hi-lo)/6)))
	var out []plot.Tick
	for v := int(math.Ceil(lo)); float64(v) <= hi; v++ {
		label := ""
		if v%step == 0 {
			label = strconv.Itoa(v)
		}
		out = append(out, plot.Tick{Value: float64(v), Label: label})
	}
	return out
}

// timeTicks marks local midnights (labelled with the weekday and date) and, on short ranges,
// every six hours; longer ranges label every Monday.
type timeTicks struct{ loc *time.Location }

func (tt timeTicks) Ticks(lo, hi float64) []plot.Tick {
	start, end := time.Unix(int64(lo), 0).In(tt.loc), time.Unix(int64(hi), 0).In(tt.loc)
	days := end.Sub(start).Hours() / 24
	var out []plot.Tick
	for d := time.Date(start.Year(), start.Month(), start.Day(), 0, 0, 0, 0, tt.loc); !d.After(end); d = time.Date(d.Year(), d.Month(), d.Day()+1, 0, 0, 0, 0, tt.loc) {
		label := ""
		switch {
		case days <= 24:
			label = d.Format("Mon 2")
		case d.Weekday() == time.Monday:
			label = d.Format("Mon 2 Jan")
		}
		if !d.Before(start) {
			out = append(out, plot.Tick{Value: float64(d.Unix()), Label: label})
		}
		if days <= 3 {
			for h := 6; h < 24; h += 6 {
				t := time.Date(d.Year(), d.Month(), d.Day(), h, 0, 0, 0, tt.loc)
				if !t.Before(start) && !t.After(end) {
					out = append(out, plot.Tick{Value: float64(t.Unix()), Label: t.Format("15:04")})
				}
			}
		}
	}
	return out
}
