package meta

import (
	"context"
	"sync"
)

// handOffWorkers bounds how many senders' items of one POST are handed off at once.
const handOffWorkers = 8

// handOffAll hands every item of a batch off and returns when all are durable or one failed.
// Items of one customer keep their order (they share a partition and the router decides in
// arrival order), as do the receipts; different customers go in parallel, so a large batch
// is answered in the time of its longest customer's run rather than of the sum.
func (c *Connector) handOffAll(ctx context.Context, items []item) (receipt, error) {
	groups := groupBySender(items)
	if c.workers <= 1 || len(groups) == 1 {
		var rc receipt
		for _, g := range groups {
			if err := c.handOffRun(ctx, g, &rc); err != nil {
				return rc, err
			}
		}
		return rc, nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu    sync.Mutex
		total receipt
		first error
		wg    sync.WaitGroup
		slots = make(chan struct{}, c.workers)
	)
	for _, g := range groups {
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer func() { <-slots; wg.Done() }()
			var rc receipt
			err := c.handOffRun(ctx, g, &rc)
			mu.Lock()
			defer mu.Unlock()
			total.add(rc)
			if err != nil && first == nil {
				first = err
				cancel()
			}
		}()
	}
	wg.Wait()
	return total, first
}

func (c *Connector) handOffRun(ctx context.Context, run []item, rc *receipt) error {
	for _, it := range run {
		if err := c.handOff(ctx, it, rc); err != nil {
			return err
		}
	}
	return nil
}

// groupBySender splits items into ordered runs: one per customer, one for all receipts, in
// the order each first appears.
func groupBySender(items []item) [][]item {
	index := map[string]int{}
	var groups [][]item
	for _, it := range items {
		key := "receipts"
		if it.Message != nil {
			key = it.Message.From.Key()
		}
		i, ok := index[key]
		if !ok {
			i = len(groups)
			index[key] = i
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], it)
	}
	return groups
}

func (r *receipt) add(o receipt) {
	r.Messages += o.Messages
	r.Duplicates += o.Duplicates
	r.Statuses += o.Statuses
}
