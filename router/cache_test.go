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

// A customer whose message is in hand (another lane's) keeps its entries when the cache
// overflows; forgetting a customer drops its entries, kept-aside ones included, and no
// other customer's.
func TestCacheKeepsTheCustomersInHand(t *testing.T) {
	pc := newPartCache()
	release := pc.lockCustomer("busy")
	for i := range cacheMax {
		s := &convState{}
		s.ID, s.LastSeq = fmt.Sprintf("c%d", i), 1 // never stored
		s.CustomerID = []string{"busy", "idle", "other"}[i%3]
		pc.putConv(s, 0)
		pc.putThread(s.CustomerID, &threadState{}, 0)
	}
	next := &convState{}
	next.ID, next.CustomerID = "next", "new"
	pc.putConv(next, 0)
	busy := 0
	for _, e := range pc.convs {
		if e.customer != "busy" && e.s != next {
			t.Fatalf("%s of %s stayed cached through the overflow", e.s.ID, e.customer)
		}
		if e.customer == "busy" {
			busy++
		}
	}
	if want := (cacheMax + 2) / 3; busy != want {
		t.Fatalf("%d of the busy customer's conversations cached, want %d", busy, want)
	}
	for _, e := range pc.evicted {
		if e.customer == "busy" {
			t.Fatalf("%s of the busy customer was evicted", e.s.ID)
		}
	}
	if n := len(pc.evicted); n != cacheMax-busy {
		t.Fatalf("%d kept aside, want %d", n, cacheMax-busy)
	}
	pc.forget("idle")
	for _, e := range pc.evicted {
		if e.customer == "idle" {
			t.Fatalf("forget kept %s aside", e.s.ID)
		}
	}
	if n, want := len(pc.evicted), cacheMax/3; n != want { // "other"'s: i%3 == 2
		t.Fatalf("after forgetting idle: %d kept aside, want %d", n, want)
	}
	pc.forget("busy")
	if _, ok := pc.getThread("busy"); ok || len(pc.convs) != 1 {
		t.Fatalf("after forgetting busy: %d conversations cached, thread kept %v", len(pc.convs), ok)
	}
	release()
	if len(pc.held) != 0 {
		t.Fatalf("held after release: %v", pc.held)
	}
}
