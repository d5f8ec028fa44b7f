package router

import (
	"fmt"
	"testing"
)

// When the cache overflows, the snapshots it holds ahead of their stored checkpoint (or with
// none) are kept aside to be stored; the ones as stored are simply dropped.
func TestCacheOverflowKeepsUnstoredSnapshotsAside(t *testing.T) {
	pc := newPartCache()
	unstored := map[string]bool{}
	for i := range cacheMax {
		s := &convState{}
		s.ID, s.LastSeq = fmt.Sprintf("c%d", i), 5
		switch i % 3 {
		case 0: // as stored
			s.stored = 5
		case 1: // behind its checkpoint
			s.stored = 2
			unstored[s.ID] = true
		default: // never stored
			unstored[s.ID] = true
		}
		pc.putConv(s, uint64(i))
	}
	if len(pc.evicted) != 0 {
		t.Fatalf("%d evicted before the cache was full", len(pc.evicted))
	}
	next := &convState{}
	next.ID = "next"
	pc.putConv(next, 0)
	if len(pc.convs) != 1 || pc.convs["next"].s != next {
		t.Fatalf("after the overflow the cache holds %d entries", len(pc.convs))
	}
	if len(pc.evicted) != len(unstored) {
		t.Fatalf("%d kept aside, want %d", len(pc.evicted), len(unstored))
	}
	for _, e := range pc.evicted {
		if !unstored[e.s.ID] {
			t.Fatalf("%s was kept aside although it is as stored", e.s.ID)
		}
		if want := e.s.ID; fmt.Sprintf("c%d", e.rev) != want {
			t.Fatalf("%s kept with revision %d", want, e.rev)
		}
	}
	pc.clear()
	if len(pc.evicted) != 0 {
		t.Fatal("clear kept the evicted snapshots")
	}
}
