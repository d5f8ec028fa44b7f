package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"image/color"
	"image/png"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/nats-io/nats.go"

	"github.com/switchboardhq/switchboard/cmd/switchboard/app/apptest"
	"github.com/switchboardhq/switchboard/router/insight"
	"github.com/switchboardhq/switchboard/router/planning"
	"github.com/switchboardhq/switchboard/router/rules"
	"github.com/switchboardhq/switchboard/schema"
)

// fakeClock is the router's clock in a replayed history: the test moves it.
type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) Now() time.Time  { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) Set(t time.Time) { c.ns.Store(t.UnixNano()) }
func (c *fakeClock) String() string  { return c.Now().Format(time.RFC3339) }

// atMinute is m minutes after day's midnight.
func atMinute(day time.Time, m int) time.Time { return day.Add(time.Duration(m) * time.Minute) }

// shift is an agent on duty from..to (minutes of the local day), weekdays only or every day.
type shift struct {
	agent    string
	from, to int
	weekdays bool
}

var e2eShifts = []shift{{"ann", 9 * 60, 17 * 60, false}, {"bob", 9 * 60, 17 * 60, true}, {"cy", 12 * 60, 14 * 60, true}}

func (s shift) on(day time.Time) bool {
	wd := day.Weekday()
	return !s.weekdays || (wd != time.Saturday && wd != time.Sunday)
}

// genConv is one generated conversation: it arrives at at and is resolved handle later.
type genConv struct {
	at     time.Time
	handle time.Duration
}

// generateWeeks makes two weeks of traffic from day0 (local midnight): arrivals only while
// agents are on duty, never more open at once than their capacity (2 each), and none open
// across a shift change, so every conversation is assigned the moment it arrives and nothing
// the router decides (who takes it, when a queued one is picked) changes the figures. The
// second week has more traffic than the first.
func generateWeeks(day0 time.Time, loc *time.Location, seed uint64) []genConv {
	rng := rand.New(rand.NewPCG(seed, 1))
	var out []genConv
	for d := range 14 {
		day := time.Date(day0.Year(), day0.Month(), day0.Day()+d, 0, 0, 0, 0, loc)
		var changes []int
		for _, s := range e2eShifts {
			if s.on(day) {
				changes = append(changes, s.from, s.to)
			}
		}
		for slot := 9 * 2; slot < 17*2; slot++ {
			n := 1 + rng.IntN(3) // weekends: one agent on duty for this, so some are under-staffed
			if wd := day.Weekday(); wd == time.Saturday || wd == time.Sunday {
				n++
			}
			if d >= 7 && rng.IntN(2) == 0 {
				n++
			}
			offs := rng.Perm(28)[:n]
			slices.Sort(offs)
			for _, off := range offs {
				at := atMinute(day, slot*30+off+1).Add(time.Duration(rng.IntN(60)) * time.Second)
				c := genConv{at: at, handle: time.Duration(120+rng.IntN(361)) * time.Second}
				if crossesChange(day, c, changes) || openAt(out, at) >= 2*onDuty(day, at) {
					continue
				}
				out = append(out, c)
			}
		}
	}
	return out
}

func crossesChange(day time.Time, c genConv, changes []int) bool {
	for _, m := range changes {
		ch := atMinute(day, m)
		if c.at.Before(ch) && !c.at.Add(c.handle).Before(ch) {
			return true
		}
	}
	return false
}

func openAt(cs []genConv, t time.Time) int {
	n := 0
	for _, c := range cs {
		if !c.at.After(t) && c.at.Add(c.handle).After(t) {
			n++
		}
	}
	return n
}

// onDuty is how many agents are on duty at t.
func onDuty(day time.Time, t time.Time) int {
	n := 0
	for _, s := range e2eShifts {
		if s.on(day) && !t.Before(atMinute(day, s.from)) && t.Before(atMinute(day, s.to)) {
			n++
		}
	}
	return n
}

// action is one step of the replay, at a time of the generated history.
type action struct {
	at     time.Time
	order  int // at the same instant: resolutions, then presence, then arrivals
	agent  string
	status string
	conv   int // index into the generated conversations
	kind   string
}

func replayActions(day0 time.Time, loc *time.Location, convs []genConv) []action {
	var acts []action
	for _, s := range e2eShifts {
		acts = append(acts, action{at: day0, order: 1, kind: "presence", agent: s.agent, status: "offline"})
	}
	for d := range 14 {
		day := time.Date(day0.Year(), day0.Month(), day0.Day()+d, 0, 0, 0, 0, loc)
		for _, s := range e2eShifts {
			if s.on(day) {
				acts = append(acts, action{at: atMinute(day, s.from), order: 1, kind: "presence", agent: s.agent, status: "available"},
					action{at: atMinute(day, s.to), order: 1, kind: "presence", agent: s.agent, status: "offline"})
			}
		}
	}
	for i, c := range convs {
		acts = append(acts, action{at: c.at, order: 2, kind: "arrive", conv: i}, action{at: c.at.Add(c.handle), order: 0, kind: "resolve", conv: i})
	}
	slices.SortStableFunc(acts, func(a, b action) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return a.order - b.order
	})
	return acts
}

// replay drives the gateway through the actions, the router's clock at each action's time:
// each step waits for its event before the clock moves on.
func replay(t *testing.T, g *apptest.Gateway, clock *fakeClock, acts []action) {
	assigned := make(chan *nats.Msg, 64)
	resolved := make(chan *nats.Msg, 64)
	for subj, ch := range map[string]chan *nats.Msg{"sb.conv.*.assigned": assigned, "sb.conv.*.resolved": resolved} {
		sub, err := g.NC.ChanSubscribe(subj, ch)
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Unsubscribe()
	}
	next := func(ch chan *nats.Msg, what string) *schema.Event {
		select {
		case m := <-ch:
			var ev schema.Event
			if err := json.Unmarshal(m.Data, &ev); err != nil {
				t.Fatal(err)
			}
			return &ev
		case <-time.After(10 * time.Second):
			t.Fatalf("at %s: no %s event", clock, what)
		}
		return nil
	}
	conv := map[int]string{}
	for _, a := range acts {
		clock.Set(a.at)
		switch a.kind {
		case "presence":
			if st, b := g.Do("PUT", "/v1/agents/"+a.agent+"/presence", apptest.Token, map[string]any{"status": a.status}); st != 200 {
				t.Fatalf("presence %s %s: %d %s", a.agent, a.status, st, b)
			}
		case "arrive":
			g.PostAPI(fmt.Sprintf("m%d", a.conv), fmt.Sprintf("c%d@example.com", a.conv), "where is my order?")
			ev := next(assigned, "assigned")
			if !ev.At.Equal(a.at) {
				t.Fatalf("conversation %d assigned at %s, want %s (queued?)", a.conv, ev.At, a.at)
			}
			conv[a.conv] = ev.ConversationID
		case "resolve":
			if st, b := g.Do("POST", "/v1/conversations/"+conv[a.conv]+"/resolve", apptest.Token, nil); st != 202 {
				t.Fatalf("resolve: %d %s", st, b)
			}
			if ev := next(resolved, "resolved"); ev.ConversationID != conv[a.conv] {
				t.Fatalf("resolved %s, want %s", ev.ConversationID, conv[a.conv])
			}
		}
	}
}

// expected is the test's own computation of one interval's staffing.
type expected struct {
	arrivals, handled int
	handleMs          int64
	staffed           int
}

// requiredAgents is the smallest headcount whose servers (c each) answer share within the
// time, by the factorial Erlang C formula (erlangC): the test's own search.
func requiredAgents(arrivals float64, length, aht time.Duration, c int, share float64, within time.Duration) (int, float64) {
	if arrivals == 0 {
		return 0, 1
	}
	a := arrivals / length.Seconds() * aht.Seconds()
	for n := 1; ; n++ {
		if sl := serviceLevel(a, n*c, aht, within); sl >= share {
			return n, sl
		}
	}
}

func serviceLevel(a float64, servers int, aht, within time.Duration) float64 {
	if a == 0 {
		return 1
	}
	if float64(servers) <= a {
		return 0
	}
	return 1 - erlangC(a, servers)*math.Exp(-(float64(servers)-a)*within.Seconds()/aht.Seconds())
}

// The end-to-end check: two generated weeks of traffic with a known arrival pattern,
// handle times and shifts go through a running gateway (its clock moved to each step's time);
// the staffing report's CSV — arrivals, handle time, staffed agents, required agents, service
// levels and statuses per 30-minute interval, the backtest's WAPE and bias, and a week's
// forecast — is compared with values the test computes from the generator itself. The
// chart of the same report is drawn (kept as a test artifact).
func TestStaffingEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("replays two weeks of traffic")
	}
	loc, err := time.LoadLocation("Europe/Istanbul")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().In(loc)
	end := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
	day0 := time.Date(end.Year(), end.Month(), end.Day()-14, 0, 0, 0, 0, loc)
	convs := generateWeeks(day0, loc, 17)
	clock := &fakeClock{}
	clock.Set(day0)
	g := apptest.Start(t, apptest.DefaultConfig+`insight: {flush_interval: 100ms, timezone: Europe/Istanbul}
router:
  presence: {heartbeat_timeout: 0}
  agents:
    - {id: ann, skills: [general], capacity: {default: 2}}
    - {id: bob, skills: [general], capacity: {default: 2}}
    - {id: cy, skills: [general], capacity: {default: 2}}
`, apptest.Options{Now: clock.Now})
	started := time.Now()
	replay(t, g, clock, replayActions(day0, loc, convs))
	t.Logf("replayed %d conversations over two weeks in %s", len(convs), time.Since(started).Round(time.Millisecond))

	// The test's own figures per interval: arrivals where they open, handle times where they
	// are resolved (a figure counts in the interval it completes), agents on duty.
	const iv = 30 * time.Minute
	bucket := func(t time.Time) time.Time { return t.Truncate(iv) } // Istanbul is UTC+3 all year
	want := map[time.Time]*expected{}
	at := func(t time.Time) *expected {
		b := bucket(t)
		if want[b] == nil {
			want[b] = &expected{}
		}
		return want[b]
	}
	var totalMs int64
	for _, c := range convs {
		at(c.at).arrivals++
		e := at(c.at.Add(c.handle))
		e.handled++
		e.handleMs += c.handle.Milliseconds()
		totalMs += c.handle.Milliseconds()
	}
	for s := day0; s.Before(end); s = s.Add(iv) {
		l := s.In(loc)
		at(s).staffed = onDuty(time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, loc), s)
	}
	rangeAHT := time.Duration(totalMs/int64(len(convs))) * time.Millisecond

	rs := rules.DefaultRules(rules.NewRoster(g.Config.Router.Agents, nil))
	q := insight.StaffingQuery{Queue: "default", Interval: iv, Target: planning.Target{Share: 0.8, Within: 20 * time.Second}, Days: 7}
	hf := historyFlags{from: day0.Format(time.RFC3339), to: end.Format(time.RFC3339)}
	ctx := context.Background()
	var out bytes.Buffer
	apptest.Eventually(t, 20*time.Second, func() error {
		out.Reset()
		if err := writeStaffing(ctx, g.JS, g.Config.Insight, rs, q, hf, staffingOutput{json: true}, &out); err != nil {
			return err
		}
		var rep insight.StaffingReport
		if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
			t.Fatalf("%v: %s", err, out.String())
		}
		if in := rep.Inputs; in.Arrivals != int64(len(convs)) || in.Handled != int64(len(convs)) {
			return fmt.Errorf("the projection has %d arrivals and %d handled of %d", in.Arrivals, in.Handled, len(convs))
		}
		return nil
	})
	var rep insight.StaffingReport
	_ = json.Unmarshal(out.Bytes(), &rep)
	if in := rep.Inputs; in.AHTSeconds != rangeAHT.Seconds() || in.Concurrency != 2 || in.PatienceSec != nil || in.Answered != int64(len(convs)) {
		t.Errorf("inputs %+v; want AHT %s, concurrency 2, no patience, %d answered", in, rangeAHT, len(convs))
	}

	// Everything came on the API channel: its report is the queue's; none came on WhatsApp.
	byChannel := q
	byChannel.Channel = "api"
	out.Reset()
	if err := writeStaffing(ctx, g.JS, g.Config.Insight, rs, byChannel, hf, staffingOutput{json: true}, &out); err != nil {
		t.Fatal(err)
	}
	var apiRep insight.StaffingReport
	_ = json.Unmarshal(out.Bytes(), &apiRep)
	if apiRep.Inputs != rep.Inputs || len(apiRep.Rows) != len(rep.Rows) || apiRep.Channel != "api" {
		t.Errorf("channel api: %+v, want the queue's %+v", apiRep.Inputs, rep.Inputs)
	}
	byChannel.Channel = "whatsapp"
	if err := writeStaffing(ctx, g.JS, g.Config.Insight, rs, byChannel, hf, staffingOutput{}, &out); !errors.Is(err, errUsage) || !strings.Contains(err.Error(), `queue "default" on whatsapp has no handled conversations`) {
		t.Errorf("channel whatsapp: %v", err)
	}

	out.Reset()
	if err := writeStaffing(ctx, g.JS, g.Config.Insight, rs, q, hf, staffingOutput{csv: true}, &out); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&out).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	past, future := recs[1:1+14*48], recs[1+14*48:]
	if len(past) != 14*48 || len(future) != 7*48 {
		t.Fatalf("%d rows, want %d past and %d forecast", len(recs)-1, 14*48, 7*48)
	}
	num := func(r []string, name string) float64 {
		v, err := strconv.ParseFloat(r[col[name]], 64)
		if err != nil {
			t.Fatalf("%s %s: %q", r[0], name, r[col[name]])
		}
		return v
	}
	var weeks [2]map[int]float64 // slot of the week → arrivals
	weeks[0], weeks[1] = map[int]float64{}, map[int]float64{}
	var under int
	for i, r := range past {
		start := day0.Add(time.Duration(i) * iv)
		if got := r[col["start"]]; got != start.UTC().Format(time.RFC3339) {
			t.Fatalf("row %d starts %s, want %s", i, got, start.UTC().Format(time.RFC3339))
		}
		e := at(start)
		weeks[i/(7*48)][i%(7*48)] = float64(e.arrivals)
		aht := rangeAHT
		if e.handled > 0 {
			aht = time.Duration(e.handleMs/int64(e.handled)) * time.Millisecond
		}
		req, _ := requiredAgents(float64(e.arrivals), iv, aht, 2, 0.8, 20*time.Second)
		status := "ok"
		switch {
		case e.staffed < req:
			status, under = "under", under+1
		case e.staffed-1 >= req:
			status = "over"
		}
		sl := serviceLevel(float64(e.arrivals)/iv.Seconds()*aht.Seconds(), e.staffed*2, aht, 20*time.Second)
		if num(r, "arrivals") != float64(e.arrivals) || math.Abs(num(r, "aht_seconds")-aht.Seconds()) > 0.051 ||
			num(r, "staffed") != float64(e.staffed) || num(r, "required") != float64(req) || r[col["status"]] != status ||
			math.Abs(num(r, "predicted_at_staffed")-sl) > 5e-5 {
			t.Errorf("%s: arrivals %s aht %s staffed %s required %s status %s SL at staffed %s; want %d %.1f %d %d %s %.4f",
				start.Format("Mon 15:04"), r[col["arrivals"]], r[col["aht_seconds"]], r[col["staffed"]], r[col["required"]], r[col["status"]],
				r[col["predicted_at_staffed"]], e.arrivals, aht.Seconds(), e.staffed, req, status, sl)
		}
		if achieved := r[col["achieved"]]; (e.arrivals > 0) != (achieved == "1.0000") || (e.arrivals == 0 && achieved != "") {
			t.Errorf("%s: achieved %q with %d arrivals (all answered at once)", start.Format("Mon 15:04"), achieved, e.arrivals)
		}
	}

	// Backtest: the second week forecast from the first alone is the first week itself.
	var absErr, signed, actual, t1, t2 float64
	for s := range 7 * 48 {
		w1, w2 := weeks[0][s], weeks[1][s]
		absErr += math.Abs(w2 - w1)
		signed += w1 - w2
		actual += w2
		t1, t2 = t1+w1, t2+w2
	}
	if rep.Backtest == nil || math.Abs(rep.Backtest.WAPE-absErr/actual) > 1e-9 || math.Abs(rep.Backtest.Bias-signed/actual) > 1e-9 {
		t.Errorf("backtest %+v; want WAPE %.4f, bias %.4f", rep.Backtest, absErr/actual, signed/actual)
	}
	// Forecast: the slots weighted 2:1 (newest first) times the trend through the two weekly
	// totals at the next week (x = 0 for x = -1, -2), over the weighted mean total.
	factor := math.Max(0.5, math.Min(2, (2*t2-t1)/((2*t2+t1)/3)))
	var peak [7]int // per forecast day
	for i, r := range future {
		w := (2*weeks[1][i] + weeks[0][i]) / 3 * factor
		req, _ := requiredAgents(w, iv, rangeAHT, 2, 0.8, 20*time.Second)
		peak[i/48] = max(peak[i/48], req)
		if r[col["forecast"]] != "true" || math.Abs(num(r, "arrivals")-w) > 0.0051 || num(r, "required") != float64(req) || r[col["staffed"]] != "" {
			t.Errorf("forecast %s: arrivals %s required %s staffed %q; want %.2f %d", r[col["start"]], r[col["arrivals"]], r[col["required"]], r[col["staffed"]], w, req)
		}
	}
	t.Logf("%d conversations; backtest WAPE %.3f; trend factor %.3f; %d under-staffed intervals", len(convs), absErr/actual, factor, under)
	if under == 0 {
		t.Error("the generated traffic should leave some intervals under-staffed (the check of the status would be idle)")
	}

	// The chart of the same report, kept with the screenshots.
	dir := apptest.ArtifactsDir(t)
	for _, name := range []string{"staffing.svg", "staffing.png"} {
		path := filepath.Join(dir, name)
		out.Reset()
		if err := writeStaffing(ctx, g.JS, g.Config.Insight, rs, q, hf, staffingOutput{chart: path}, &out); err != nil {
			t.Fatal(err)
		}
		checkChart(t, path)
		t.Logf("chart: %s", path)
	}
	if !strings.Contains(out.String(), "forecast backtest") {
		t.Errorf("table:\n%s", out.String())
	}
	staffingPageInChromium(t, g, under, fmt.Sprintf("%.1f%%", 100*absErr/actual), peak)
}

// staffingPageInChromium opens the dashboard's staffing page on the same history and checks
// what it shows against the test's own figures: the under-staffed intervals, the backtest's
// WAPE, each forecast day's peak requirement, and the two charts.
func staffingPageInChromium(t *testing.T, g *apptest.Gateway, under int, wape string, peak [7]int) {
	ctx := apptest.Browser(t, 1400, 1300)
	if err := chromedp.Do(ctx, chromedp.Navigate(g.URL+"/dashboard/staffing.html?queue=default&since=14d#token="+apptest.Token)); err != nil {
		t.Fatal(err)
	}
	apptest.Poll(t, ctx, `document.body.dataset.rows || document.getElementById("query-error").textContent || ""`, func(v string) bool {
		if v != "" && v != "1008" {
			t.Fatalf("the staffing page shows %q, want 1008 intervals", v)
		}
		return v == "1008"
	})
	text := func(expr string) string { return apptest.Poll(t, ctx, expr, func(string) bool { return true }) }
	if got := text(`document.getElementById("under").textContent`); got != strconv.Itoa(under) {
		t.Errorf("the page shows %s under-staffed intervals, the test counts %d", got, under)
	}
	if got := text(`document.getElementById("wape").textContent`); got != wape {
		t.Errorf("the page shows WAPE %s, the test computes %s", got, wape)
	}
	days := text(`Array.from(document.querySelectorAll("#days-ahead tbody tr")).map(r => r.cells[2].textContent).join(",")`)
	var want []string
	for _, p := range peak {
		want = append(want, strconv.Itoa(p))
	}
	if days != strings.Join(want, ",") {
		t.Errorf("days ahead: peak required %s, the test computes %s", days, strings.Join(want, ","))
	}
	if got := text(`document.querySelectorAll("#under-list tbody tr").length + ""`); got != strconv.Itoa(min(under, 20)) {
		t.Errorf("%s under-staffed intervals listed, want %d", got, min(under, 20))
	}
	if got := text(`document.querySelectorAll("#arrivals-chart canvas, #agents-chart canvas").length + ""`); got != "2" {
		t.Errorf("%s chart canvases, want 2", got)
	}
	apptest.Screenshot(t, ctx, "staffing-dashboard.png")
	// A bad target is named on the page, as the API names it.
	if err := chromedp.Do(ctx, chromedp.SetValue("#target", "80"), chromedp.Click("#query button")); err != nil {
		t.Fatal(err)
	}
	apptest.Poll(t, ctx, `document.getElementById("query-error").textContent`, func(v string) bool { return strings.Contains(v, "(target)") })
}

// checkChart opens the chart as a user's viewer would: the SVG is well-formed XML with the
// panels' titles; the PNG decodes at 32 × 18 cm, 144 dpi, and has pixels of each series'
// colour (measured arrivals, forecast, required, staffed) and of the under-staffed shading.
func checkChart(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasSuffix(path, ".svg") {
		dec := xml.NewDecoder(bytes.NewReader(data))
		var text strings.Builder
		for {
			tok, err := dec.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			if cd, ok := tok.(xml.CharData); ok {
				text.Write(cd)
			}
		}
		for _, want := range []string{"Queue default: arrivals per 30 minutes (Europe/Istanbul)", "Agents for 80% within 20s", "forecast", "staffed (measured)", "under-staffed"} {
			if !strings.Contains(text.String(), want) {
				t.Errorf("%s: no %q in its text", path, want)
			}
		}
		return
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if b := img.Bounds(); b.Dx() != 1814 || b.Dy() != 1020 {
		t.Errorf("%s: %v, want 1814×1020", path, b)
	}
	white := color.RGBA{R: 0xff, G: 0xff, B: 0xff, A: 0xff}
	want := map[string]color.RGBA{"measured": colArrivals, "forecast": colForecast, "required": colRequired, "staffed": colStaffed,
		"under-staffed": blend(colUnder, white), "forecast days": blend(colFuture, white)}
	seen := map[string]int{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			px := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
			for name, c := range want {
				if near(px, c) {
					seen[name]++
				}
			}
		}
	}
	for name, c := range want {
		if seen[name] < 50 {
			t.Errorf("%s: %d pixels of the %s colour %v", path, seen[name], name, c)
		}
	}
}

// blend is c drawn over an opaque background.
func blend(c color.NRGBA, bg color.RGBA) color.RGBA {
	a := float64(c.A) / 255
	mix := func(f, b uint8) uint8 { return uint8(math.Round(float64(f)*a + float64(b)*(1-a))) }
	return color.RGBA{R: mix(c.R, bg.R), G: mix(c.G, bg.G), B: mix(c.B, bg.B), A: 0xff}
}

// near allows the rasterizer's rounding (2 of 255 per channel).
func near(a, b color.RGBA) bool {
	d := func(x, y uint8) bool { return x-y <= 2 || y-x <= 2 }
	return d(a.R, b.R) && d(a.G, b.G) && d(a.B, b.B) && a.A == b.A
}
