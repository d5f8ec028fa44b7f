package router

import (
	"sync"
	"time"

	"github.com/switchboardhq/switchboard/router/identity"
	"github.com/switchboardhq/switchboard/schema"
)

// freshCustomers hands the customer records the identity stage just created to the router
// pass that handles the message which created them ([identity.Graph.OnCreated]): such a
// customer has no threading state and no conversation yet, and its record is the one just
// written, so the router reads none of them back. An entry is taken once, by the message
// that made it, within freshFor; the rest (a message forwarded to another partition, a
// failed pass) age out. Only an optimisation: without an entry the router reads as usual.
type freshCustomers struct {
	mu sync.Mutex
	m  map[string]freshCustomer // by message id
}

type freshCustomer struct {
	c     *schema.Customer
	first *identity.FirstConversation
	at    time.Time
}

const (
	freshFor = 10 * time.Second
	freshMax = 4096
)

// Created records the customer message m created (the identity graph's OnCreated hook).
func (r *Router) Created(m *schema.Message, c *schema.Customer, first *identity.FirstConversation) {
	f := &r.fresh
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.m == nil || len(f.m) >= freshMax {
		f.m = map[string]freshCustomer{}
	}
	f.m[m.ID] = freshCustomer{c: c, first: first, at: time.Now()}
}

// takeFresh returns the record message m created for its customer, once (nil: none).
func (r *Router) takeFresh(m *schema.Message) *freshCustomer {
	f := &r.fresh
	f.mu.Lock()
	defer f.mu.Unlock()
	e, ok := f.m[m.ID]
	if !ok {
		return nil
	}
	delete(f.m, m.ID)
	if e.c.ID != m.CustomerID || time.Since(e.at) > freshFor {
		return nil
	}
	return &e
}
