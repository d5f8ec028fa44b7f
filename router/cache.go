package router

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"go.uber.org/zap"

	"github.com/switchboardhq/switchboard/pipeline/kernel"
	"github.com/switchboardhq/switchboard/router/identity"
	"github.com/switchboardhq/switchboard/schema"
)

// partCache keeps one partition's conversation snapshots and threading states with their KV
// revisions. The partition is their only writer, so a cached entry is current unless the
// partition was processed elsewhere meanwhile; then the next write fails its
// compare-and-set (or the event fence), the customer's entries are dropped and the cause
// retried.
//
// A customer's message holds mu shared and its customer's lock ([partCache.lockCustomer]):
// the partition's lanes (pipeline.lanes) handle different customers' messages at once, each
// touching only its own customer's entries. Everything else of the partition (SB_ROUTE:
// forwarded messages, statuses, commands, timers) holds mu alone, as all the partition's work
// did before lanes. m guards the maps, which the lanes share.
type partCache struct {
	mu      sync.RWMutex
	m       sync.Mutex
	convs   map[string]cachedConv
	threads map[string]cachedThread
	// evicted are snapshots the cache dropped when it overflowed while they were ahead of
	// their stored checkpoint (or had none): stored once the work in hand succeeds
	// ([Router.storeEvicted]), so that a busy partition does not fold them from the stream.
	// A customer being worked on is never evicted: its lane holds its entries.
	evicted []cachedConv
	// opening are the messages in hand that created their customer: the conversation such a
	// message opens cannot exist yet (see [freshCustomers]).
	opening map[string]bool
	// held are the customers whose messages are in hand, with how many wait for each.
	held map[string]*heldCustomer
}

type heldCustomer struct {
	mu sync.Mutex
	n  int
}

type cachedConv struct {
	s   *convState
	rev uint64
	// customer is the conversation's customer, as it was cached: a lane looking at a
	// conversation a message names reads it without touching another customer's state.
	customer string
}

type cachedThread struct {
	s   *threadState
	rev uint64
}

// cacheMax bounds each map; past it the cache starts over.
const cacheMax = 8192

func newPartCache() *partCache {
	return &partCache{convs: map[string]cachedConv{}, threads: map[string]cachedThread{},
		opening: map[string]bool{}, held: map[string]*heldCustomer{}}
}

// lockCustomer takes customer's lock in the partition (the caller holds mu shared) and
// returns its release.
func (pc *partCache) lockCustomer(customer string) func() {
	pc.m.Lock()
	h := pc.held[customer]
	if h == nil {
		h = &heldCustomer{}
		pc.held[customer] = h
	}
	h.n++
	pc.m.Unlock()
	h.mu.Lock()
	return func() {
		h.mu.Unlock()
		pc.m.Lock()
		if h.n--; h.n == 0 {
			delete(pc.held, customer)
		}
		pc.m.Unlock()
	}
}

// clear drops everything (the caller holds mu alone).
func (pc *partCache) clear() {
	pc.m.Lock()
	defer pc.m.Unlock()
	clear(pc.convs)
	clear(pc.threads)
	pc.evicted = nil
}

// forget drops customer's entries, evicted ones included: a failed change may have left
// them ahead of their stream, and the next attempt reads them fresh.
func (pc *partCache) forget(customer string) {
	pc.m.Lock()
	defer pc.m.Unlock()
	delete(pc.threads, customer)
	for id, e := range pc.convs {
		if e.customer == customer {
			delete(pc.convs, id)
		}
	}
	pc.evicted = slices.DeleteFunc(pc.evicted, func(e cachedConv) bool { return e.customer == customer })
}

func (pc *partCache) getConv(id string) (cachedConv, bool) {
	pc.m.Lock()
	defer pc.m.Unlock()
	e, ok := pc.convs[id]
	return e, ok
}

func (pc *partCache) putConv(c *convState, rev uint64) {
	pc.m.Lock()
	defer pc.m.Unlock()
	if len(pc.convs) >= cacheMax {
		for id, e := range pc.convs {
			if pc.held[e.customer] != nil {
				continue // its lane is working on it
			}
			if e.s.LastSeq != e.s.stored {
				pc.evicted = append(pc.evicted, e)
			}
			delete(pc.convs, id)
		}
	}
	pc.convs[c.ID] = cachedConv{c, rev, c.CustomerID}
}

func (pc *partCache) getThread(customer string) (cachedThread, bool) {
	pc.m.Lock()
	defer pc.m.Unlock()
	e, ok := pc.threads[customer]
	return e, ok
}

func (pc *partCache) putThread(customer string, t *threadState, rev uint64) {
	pc.m.Lock()
	defer pc.m.Unlock()
	if len(pc.threads) >= cacheMax {
		for id := range pc.threads {
			if pc.held[id] == nil {
				delete(pc.threads, id)
			}
		}
	}
	pc.threads[customer] = cachedThread{t, rev}
}

func (pc *partCache) dropThread(customer string) {
	pc.m.Lock()
	defer pc.m.Unlock()
	delete(pc.threads, customer)
}

// takeEvicted returns the evicted snapshots not cached again since, and forgets them.
func (pc *partCache) takeEvicted() []cachedConv {
	pc.m.Lock()
	defer pc.m.Unlock()
	out := pc.evicted[:0:0]
	for _, e := range pc.evicted {
		if _, ok := pc.convs[e.s.ID]; !ok {
			out = append(out, e)
		}
	}
	pc.evicted = nil
	return out
}

func (pc *partCache) hasEvicted() bool {
	pc.m.Lock()
	defer pc.m.Unlock()
	return len(pc.evicted) > 0
}

func (pc *partCache) setOpening(id string, on bool) {
	pc.m.Lock()
	defer pc.m.Unlock()
	if on {
		pc.opening[id] = true
	} else {
		delete(pc.opening, id)
	}
}

func (pc *partCache) isOpening(id string) bool {
	pc.m.Lock()
	defer pc.m.Unlock()
	return pc.opening[id]
}

// threadState is the router's per-customer threading state (sb_threads, c.<customer>).
type threadState struct {
	// Current is the customer's latest conversation per threading scope.
	Current map[string]string `json:"current"`
	// LastSurvey is the customer's latest survey sent under a policy with once_per.
	LastSurvey *surveyMark `json:"last_survey,omitempty"`
}

func threadKey(customer string) string { return "c." + customer }

// loadConv returns a conversation snapshot (ErrNotFound when absent). The returned state
// belongs to the cache: a failed change must clear the cache.
//
// The stored snapshot is trusted as it is: the router stores every snapshot it holds
// unwritten when it stops ([Router.flush]), so it is behind its events only after a crash
// or when the cache overflowed. Then the change's first publish is fenced and
// [Router.recover] folds the events in and completes their causes. Reading the stream here
// instead would cost a random read of the stream for every conversation after every restart.
//
// A conversation has no stored snapshot until its first checkpoint ([change.checkpoint]): a
// new one that was neither routed nor resolved yet lives in the cache and in its events. One
// missing from the cache too (after a crash, or when the cache overflowed) is folded from
// its events, with revision 0, up to its last cause: a crash may have cut that cause's
// events short, and only a fenced publish ([Router.recover]) completes it. So the state is
// what a snapshot stored before the last cause would say: a change decided on it is fenced,
// the stream's events are folded in, and the change completes or is retried on them. A
// conversation whose events are all its opening message's is folded whole: the customer's
// threading state names it only once that message was done.
func (r *Router) loadConv(ctx context.Context, pc *partCache, id string) (*convState, uint64, error) {
	if e, ok := pc.getConv(id); ok {
		return e.s, e.rev, nil
	}
	s, rev, err := r.readConv(ctx, id)
	if err != nil {
		return nil, 0, err
	}
	pc.putConv(s, rev)
	return s, rev, nil
}

// loadOwnConv is loadConv for a conversation a message names (a threading header, a survey
// button's payload): ErrNotFound unless it is customer's. Another customer's conversation is
// neither cached nor touched, since another lane may be working on it.
func (r *Router) loadOwnConv(ctx context.Context, pc *partCache, id, customer string) (*convState, uint64, error) {
	if e, ok := pc.getConv(id); ok {
		if e.customer != customer {
			return nil, 0, kernel.ErrNotFound
		}
		return e.s, e.rev, nil
	}
	s, rev, err := r.readConv(ctx, id)
	if err != nil {
		return nil, 0, err
	}
	if s.CustomerID != customer {
		return nil, 0, kernel.ErrNotFound
	}
	pc.putConv(s, rev)
	return s, rev, nil
}

// readConv is loadConv without the cache: the stored snapshot, else the conversation folded
// from its events.
func (r *Router) readConv(ctx context.Context, id string) (*convState, uint64, error) {
	s, rev, err := r.readSnapshot(ctx, id)
	if !errors.Is(err, kernel.ErrNotFound) {
		return s, rev, err
	}
	stored, serr := r.eventsAfter(ctx, id, 0)
	if serr != nil {
		return nil, 0, serr
	}
	if len(stored) == 0 {
		return nil, 0, err
	}
	k := len(stored)
	for k > 0 && stored[k-1].Cause == stored[len(stored)-1].Cause {
		k--
	}
	if k > 0 {
		stored = stored[:k]
	}
	s = &convState{}
	s.catchUp(stored, r.scopeOf)
	r.o.Metrics.Stage.WithLabelValues("router", "folded").Inc()
	return s, 0, nil
}

// readSnapshot is the stored snapshot of a conversation (ErrNotFound: none).
func (r *Router) readSnapshot(ctx context.Context, id string) (*convState, uint64, error) {
	var s convState
	rev, err := kernel.GetJSON(ctx, r.store.Conversations, id, &s)
	if err != nil {
		return nil, 0, err
	}
	s.stored = s.LastSeq
	return &s, rev, nil
}

// loadSnapshot is loadConv without the fold: ErrNotFound when the conversation has no stored
// snapshot and is not in the cache. A new conversation's id derives from the message that
// opens it; one whose events a crashed attempt published is found by the event fence.
func (r *Router) loadSnapshot(ctx context.Context, pc *partCache, id string) (*convState, uint64, error) {
	if e, ok := pc.getConv(id); ok {
		return e.s, e.rev, nil
	}
	s, rev, err := r.readSnapshot(ctx, id)
	if err != nil {
		return nil, 0, err
	}
	pc.putConv(s, rev)
	return s, rev, nil
}

// storeEvicted stores the snapshots the partition's cache dropped ahead of their checkpoint
// (compare-and-set; one changed since is left alone). Only after the work in hand succeeded:
// a failed change may leave a cached state ahead of its stream.
func (r *Router) storeEvicted(ctx context.Context, pc *partCache) {
	for _, e := range pc.takeEvicted() { // not those loaded again meanwhile: the cache has them
		if _, err := kernel.PutJSON(ctx, r.store.Conversations, e.s.ID, e.s, e.rev); err != nil && !errors.Is(err, kernel.ErrConflict) {
			r.log.Debug("store an evicted snapshot", zap.String("conversation", e.s.ID), zap.Error(err))
		}
	}
}

// flush stores the snapshots the partition caches hold ahead of their stored checkpoint
// (compare-and-set: one another instance changed since is left alone).
func (r *Router) flush(ctx context.Context) {
	n := 0
	for _, pc := range r.caches {
		pc.mu.Lock() // the partitions have stopped: nothing waits for this
		n += r.flushPartition(ctx, pc)
		pc.mu.Unlock()
	}
	if n > 0 {
		r.log.Info("stored snapshots at stop", zap.Int("conversations", n))
	}
}

// flushPartition is flush for one partition's cache (its mu held alone); it returns how many
// snapshots it stored.
func (r *Router) flushPartition(ctx context.Context, pc *partCache) int {
	pc.m.Lock()
	defer pc.m.Unlock()
	n := 0
	for id, e := range pc.convs {
		if e.s.LastSeq == e.s.stored {
			continue
		}
		rev, err := kernel.PutJSON(ctx, r.store.Conversations, id, e.s, e.rev)
		if err != nil {
			r.log.Warn("snapshot not stored at stop; the next change will catch it up", zap.String("conversation", id), zap.Error(err))
			continue
		}
		e.s.stored = e.s.LastSeq
		pc.convs[id] = cachedConv{e.s, rev, e.customer}
		n++
	}
	return n
}

// loadThread returns the customer's threading state (empty when absent).
func (r *Router) loadThread(ctx context.Context, pc *partCache, customer string) (*threadState, uint64, error) {
	t, rev, _, err := r.readThread(ctx, pc, customer)
	return t, rev, err
}

// readThread is loadThread that also returns the customer record when it had to read it
// (nil otherwise): a customer without threading state of its own (see below) is read anyway,
// and the message in hand needs the record next.
func (r *Router) readThread(ctx context.Context, pc *partCache, customer string) (*threadState, uint64, *schema.Customer, error) {
	return r.readThreadFresh(ctx, pc, customer, nil)
}

// readThreadFresh is readThread for a customer the message in hand created (f, when not
// nil): nothing is read.
func (r *Router) readThreadFresh(ctx context.Context, pc *partCache, customer string, f *freshCustomer) (*threadState, uint64, *schema.Customer, error) {
	if e, ok := pc.getThread(customer); ok {
		return e.s, e.rev, nil, nil
	}
	if f != nil {
		t := &threadState{Current: map[string]string{}}
		if f.first != nil {
			t.Current[f.first.Scope] = f.first.ID
		}
		pc.putThread(customer, t, 0)
		return t, 0, f.c, nil
	}
	t := &threadState{}
	rev, err := kernel.GetJSON(ctx, r.store.Threads, threadKey(customer), t)
	if err != nil && !errors.Is(err, kernel.ErrNotFound) {
		return nil, 0, nil, err
	}
	if t.Current == nil {
		t.Current = map[string]string{}
	}
	var cust *schema.Customer
	if rev == 0 {
		// None stored: a customer with one conversation so far, the one its record was
		// created with (identity.Graph.OpensFirst), has no threading state of its own.
		var first *identity.FirstConversation
		cust, first, err = identity.Read(ctx, r.store.Customers, customer)
		if err != nil {
			return nil, 0, nil, fmt.Errorf("customer %s: %w", customer, err)
		}
		if first != nil {
			t.Current[first.Scope] = first.ID
		}
	}
	pc.putThread(customer, t, rev)
	return t, rev, cust, nil
}

// setCurrent records conv as the customer's latest conversation in scope.
func (r *Router) setCurrent(ctx context.Context, pc *partCache, customer, scope, conv string) error {
	t, rev, err := r.loadThread(ctx, pc, customer)
	if err != nil {
		return err
	}
	if t.Current[scope] == conv {
		return nil
	}
	t.Current[scope] = conv
	return r.storeThread(ctx, pc, customer, t, rev)
}

// storeThread writes a customer's threading state by compare-and-set (a failed write drops
// it from the cache: the next read is fresh).
func (r *Router) storeThread(ctx context.Context, pc *partCache, customer string, t *threadState, rev uint64) error {
	newRev, err := kernel.PutJSON(ctx, r.store.Threads, threadKey(customer), t, rev)
	if err != nil {
		pc.dropThread(customer)
		return err
	}
	pc.putThread(customer, t, newRev)
	return nil
}
