package webhooks

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/switchboardhq/switchboard/configs/cfg"
	"github.com/switchboardhq/switchboard/pipeline/kernel"
	"github.com/switchboardhq/switchboard/pipeline/streams"
)

// Spec is a subscription as the API takes and stores it (sb_webhooks, sub.<id>).
type Spec struct {
	ID       string   `json:"id"`
	URL      string   `json:"url"`
	Secrets  []string `json:"secrets,omitempty"`
	Events   []string `json:"events,omitempty"`
	Channels []string `json:"channels,omitempty"`
	Queues   []string `json:"queues,omitempty"`
	Accounts []string `json:"accounts,omitempty"`
	Start    string   `json:"start,omitempty"`
	Timeout  string   `json:"timeout,omitempty"`
}

// Source says where a subscription is declared.
const (
	SourceConfig = "config"
	SourceAPI    = "api"
)

// Info is a subscription and where it is declared.
type Info struct {
	*Subscription
	Source string
}

// ValidationError lists what is wrong with a Spec (the first field first).
type ValidationError struct {
	Field, Msg string
	All        []string
}

func (e *ValidationError) Error() string { return e.Field + ": " + e.Msg }

// ErrConfigDeclared is a change asked through the API to a subscription the config declares.
var ErrConfigDeclared = errors.New("declared in the config file")

func subKey(id string) string { return "sub." + id }

// subscription turns a spec into a subscription (defaults filled) or says what is wrong.
func (sp Spec) subscription() (*Subscription, error) {
	s := &Subscription{ID: sp.ID, URL: sp.URL, Events: sp.Events, Channels: sp.Channels, Queues: sp.Queues, Accounts: sp.Accounts, Start: sp.Start}
	for _, sec := range sp.Secrets {
		s.Secrets = append(s.Secrets, cfg.NewSecret(sec))
	}
	if err := cfg.SetDefaults(s); err != nil {
		return nil, err
	}
	var probs []problem
	if sp.Timeout != "" {
		d, err := time.ParseDuration(sp.Timeout)
		if err != nil || d <= 0 {
			probs = append(probs, problem{"timeout", "write a duration such as 10s"})
		}
		s.Timeout = cfg.Duration(d)
	}
	probs = append(probs, s.problems()...)
	if len(probs) > 0 {
		e := &ValidationError{Field: probs[0].field, Msg: probs[0].msg}
		for _, p := range probs {
			e.All = append(e.All, p.field+": "+p.msg)
		}
		return nil, e
	}
	return s, nil
}

// Put creates or replaces an API-managed subscription; it starts (or restarts, keeping its
// position) on every instance within a second. A spec without secrets keeps the stored
// subscription's, or gets a new one, returned as generated.
func (d *Deliverer) Put(ctx context.Context, sp Spec) (generated string, created bool, err error) {
	if d.declared(sp.ID) {
		return "", false, fmt.Errorf("webhook subscription %q is %w: change it there", sp.ID, ErrConfigDeclared)
	}
	check := sp
	if len(check.Secrets) == 0 {
		check.Secrets = []string{newSecret()} // kept or generated below
	}
	if _, err := check.subscription(); err != nil {
		return "", false, err
	}
	var old Spec
	rev, gerr := kernel.GetJSON(ctx, d.state, subKey(sp.ID), &old)
	if gerr != nil && !errors.Is(gerr, kernel.ErrNotFound) {
		return "", false, gerr
	}
	created = errors.Is(gerr, kernel.ErrNotFound)
	if len(sp.Secrets) == 0 {
		if sp.Secrets = old.Secrets; created || len(sp.Secrets) == 0 {
			generated = newSecret()
			sp.Secrets = []string{generated}
		}
	}
	if created && sp.Start != "all" {
		// "new" is from now: place the position before the subscription starts anywhere.
		stream, err := d.o.JS.Stream(ctx, streams.StreamConversations)
		if err != nil {
			return "", false, kernel.Unavailable(err)
		}
		_, err = kernel.PutJSON(ctx, d.state, stateKey(sp.ID), State{Position: stream.CachedInfo().State.LastSeq}, 0)
		if err != nil && !errors.Is(err, kernel.ErrConflict) {
			return "", false, err
		}
	}
	if _, err := kernel.PutJSON(ctx, d.state, subKey(sp.ID), sp, rev); err != nil {
		return "", false, err
	}
	return generated, created, nil
}

// newSecret is a fresh signing secret: whsec_ + base64 of 32 random bytes.
func newSecret() string {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	return "whsec_" + base64.StdEncoding.EncodeToString(key)
}

// Delete removes an API-managed subscription, its position and state (its delivery log
// expires with log_retention).
func (d *Deliverer) Delete(ctx context.Context, id string) error {
	if d.declared(id) {
		return fmt.Errorf("webhook subscription %q is %w: remove it there", id, ErrConfigDeclared)
	}
	if _, err := d.state.Get(ctx, subKey(id)); errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("%w webhook subscription %q", ErrUnknown, id)
	}
	if err := d.state.Delete(ctx, subKey(id)); err != nil {
		return kernel.Unavailable(err)
	}
	if err := d.state.Delete(ctx, stateKey(id)); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return kernel.Unavailable(err)
	}
	return nil
}

func (d *Deliverer) declared(id string) bool {
	return slices.ContainsFunc(d.configured(), func(s *Subscription) bool { return s.ID == id })
}

// Subscriptions lists every subscription: the config's, then the API's by id.
func (d *Deliverer) Subscriptions(ctx context.Context) ([]Info, error) {
	var out []Info
	for _, s := range d.configured() {
		out = append(out, Info{Subscription: s, Source: SourceConfig})
	}
	keys, err := d.state.ListKeysFiltered(ctx, "sub.*")
	if err != nil {
		return nil, kernel.Unavailable(err)
	}
	var ids []string
	for k := range keys.Keys() {
		ids = append(ids, strings.TrimPrefix(k, "sub."))
	}
	slices.Sort(ids)
	for _, id := range ids {
		s, err := d.sub(ctx, id)
		if err != nil {
			continue // removed meanwhile, or not valid any more (logged by the watcher)
		}
		out = append(out, Info{Subscription: s, Source: SourceAPI})
	}
	return out, nil
}

// sub finds a subscription by id: the config's, else a stored one.
func (d *Deliverer) sub(ctx context.Context, id string) (*Subscription, error) {
	for _, s := range d.configured() {
		if s.ID == id {
			return s, nil
		}
	}
	var sp Spec
	if _, err := kernel.GetJSON(ctx, d.state, subKey(id), &sp); err != nil {
		if errors.Is(err, kernel.ErrNotFound) {
			return nil, fmt.Errorf("%w webhook subscription %q", ErrUnknown, id)
		}
		return nil, err
	}
	return sp.subscription()
}

// watchManaged starts, restarts and stops the API's subscriptions as they are stored.
func (d *Deliverer) watchManaged(ctx context.Context) error {
	w, err := d.state.Watch(ctx, "sub.*")
	if err != nil {
		return kernel.Unavailable(err)
	}
	defer w.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case e, ok := <-w.Updates():
			if !ok {
				return kernel.Unavailable(errors.New("the webhook subscriptions' watch ended"))
			}
			if e == nil {
				continue // the stored ones have all been seen
			}
			d.applyManaged(ctx, e)
		}
	}
}

func (d *Deliverer) applyManaged(ctx context.Context, e jetstream.KeyValueEntry) {
	id := strings.TrimPrefix(e.Key(), "sub.")
	if d.declared(id) {
		d.o.Logger.Warn("a stored webhook subscription has the id of one in the config file; the config's is used", zap.String("subscription", id))
		return
	}
	d.stop(id)
	if e.Operation() != jetstream.KeyValuePut {
		d.o.Logger.Info("webhook subscription removed", zap.String("subscription", id))
		return
	}
	var sp Spec
	if err := json.Unmarshal(e.Value(), &sp); err != nil {
		d.o.Logger.Error("a stored webhook subscription does not decode; not delivered", zap.String("subscription", id), zap.Error(err))
		return
	}
	s, err := sp.subscription()
	if err != nil {
		d.o.Logger.Error("a stored webhook subscription is not valid; not delivered", zap.String("subscription", id), zap.Error(err))
		return
	}
	d.start(ctx, s)
}

// configured is webhooks.subscriptions as in force.
func (d *Deliverer) configured() []*Subscription {
	d.cmu.RLock()
	defer d.cmu.RUnlock()
	return d.config
}

// SetConfig swaps in the subscriptions of a reloaded config file: those removed or changed
// stop, those added or changed start (from their stored position: a changed URL or filter
// does not lose or repeat events). A stored subscription the config no longer shadows
// starts. It returns the ids that changed.
func (d *Deliverer) SetConfig(ctx context.Context, subs []Subscription) []string {
	next := make([]*Subscription, len(subs))
	for i := range subs {
		next[i] = &subs[i]
	}
	d.cmu.Lock()
	old := d.config
	d.config = next
	d.cmu.Unlock()
	byID := func(list []*Subscription) map[string]*Subscription {
		m := map[string]*Subscription{}
		for _, s := range list {
			m[s.ID] = s
		}
		return m
	}
	was, now := byID(old), byID(next)
	var changed []string
	for _, id := range slices.Sorted(maps.Keys(was)) {
		if s, ok := now[id]; !ok || !reflect.DeepEqual(s, was[id]) {
			changed = append(changed, id)
		}
	}
	for _, id := range slices.Sorted(maps.Keys(now)) {
		if _, ok := was[id]; !ok {
			changed = append(changed, id)
		}
	}
	d.mu.Lock()
	runCtx := d.runCtx
	d.mu.Unlock()
	if runCtx == nil || runCtx.Err() != nil {
		return changed
	}
	for _, id := range changed {
		d.stop(id)
		if s, ok := now[id]; ok {
			d.start(runCtx, s)
		} else if s, err := d.sub(ctx, id); err == nil {
			d.start(runCtx, s) // the API's subscription of that id, shadowed until now
		}
	}
	if len(changed) > 0 {
		d.o.Logger.Info("webhook subscriptions of the config file reloaded", zap.Strings("changed", changed))
	}
	return changed
}
