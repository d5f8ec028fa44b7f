package kpi_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/router/insight/kpi"
	"github.com/switchboardhq/switchboard/router/insight/kpi/kpitest"
	"github.com/switchboardhq/switchboard/schema"
)

func TestFiguresEqualABruteForceRecomputation(t *testing.T) {
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	for seed := range uint64(12) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			g := &kpitest.Gen{Rng: rand.New(rand.NewPCG(seed, 99)), Now: time.Date(2026, 11, 1, 3, 0, 0, 0, time.UTC)} // DST ends in New York on 1 Nov
			cal := kpitest.StepCalendar{Loc: loc}
			o := kpi.Options{Calendar: cal, ReopenWindow: 48 * time.Hour}
			var all []*schema.Event
			var want []kpitest.Sample
			for i := range 60 {
				evs := g.Conversation(fmt.Sprintf("c%d", i))
				all = append(all, evs...)
				want = append(want, kpitest.BruteForce(evs, cal, o.ReopenWindow)...)
			}
			// The projection sees the conversations interleaved, in time order.
			sort.SliceStable(all, func(i, j int) bool { return all[i].At.Before(all[j].At) })
			cells := map[string]*kpi.Cell{}
			trackers := map[string]*kpi.Tracker{}
			for _, e := range all {
				tr := trackers[e.ConversationID]
				if tr == nil {
					tr = &kpi.Tracker{}
					trackers[e.ConversationID] = tr
				}
				for _, op := range tr.Apply(e, o) {
					kpi.Place(op, loc, func(base string, mi int, op kpi.Op) {
						key := kpi.CellID{Base: base, Mask: kpi.Masks[mi]}.Key()
						if cells[key] == nil {
							cells[key] = kpi.NewCell()
						}
						cells[key].Add(op)
					})
				}
				if again := tr.Apply(e, o); again != nil {
					t.Fatalf("an event applied twice gave ops again: %v", again)
				}
			}
			rng := rand.New(rand.NewPCG(seed, 7))
			for q := range 40 {
				from := g.Now.Add(time.Duration(rng.IntN(6*24*4)) * 15 * time.Minute)
				to := from.Add(time.Duration(1+rng.IntN(8*24*4)) * 15 * time.Minute)
				if q%5 == 0 { // whole local days
					from = kpitest.StartOfDay(from.In(loc)).Add(24 * time.Hour)
					to = time.Date(from.Year(), from.Month(), from.Day()+1+rng.IntN(5), 0, 0, 0, 0, loc)
				}
				ivs := []kpi.Interval{kpi.IntervalNone, kpi.Interval15m, kpi.IntervalHour, kpi.IntervalDay, kpi.IntervalWeek}
				iv := ivs[rng.IntN(len(ivs))]
				var groupBy []string
				for _, d := range kpi.DimNames {
					if rng.IntN(3) == 0 && len(groupBy) < kpi.MaxGroupBy {
						groupBy = append(groupBy, d)
					}
				}
				plan, err := kpi.PlanFor(from, to, iv, loc, kpi.MaskOf(groupBy))
				if errors.Is(err, kpi.ErrGroupNeedsDays) {
					// Several dimensions need whole days: ask for those instead.
					from = kpitest.StartOfDay(from.In(loc))
					to = time.Date(from.Year(), from.Month(), from.Day()+1+rng.IntN(6), 0, 0, 0, 0, loc)
					if iv == kpi.Interval15m || iv == kpi.IntervalHour {
						iv = kpi.IntervalDay
					}
					plan, err = kpi.PlanFor(from, to, iv, loc, kpi.MaskOf(groupBy))
				}
				if err != nil {
					t.Fatal(err)
				}
				acc := kpi.NewAccumulator(groupBy)
				for _, ref := range plan {
					if c := cells[ref.Key+kpi.MaskOf(groupBy).Suffix()]; c != nil {
						acc.Add(ref.Bucket, c)
					}
				}
				kpitest.Compare(t, fmt.Sprintf("query %d [%s, %s) %q by %v", q, from, to, iv, groupBy), acc.Summaries(), want, from, to, iv, groupBy, loc)
			}
		})
	}
}
