package router

import (
	"bytes"
	"context"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboardhq/switchboard/router/rules"
	"go.uber.org/zap"

	"github.com/switchboardhq/switchboard/pipeline/kernel"
)

// RulesHolder holds the rules in force and reloads them from their file: a new file is
// built and checked fully, then swapped in at once; a bad file keeps the old rules running,
// logs why and sets switchboard_rules_last_reload_successful to 0.
type RulesHolder struct {
	path   string
	roster *rules.Roster
	log    *zap.Logger
	cur    atomic.Pointer[rules.Rules]

	mu       sync.Mutex
	lastData []byte // the file as last read (perhaps bad)
	inForce  []byte // the file of the rules in force (what a new roster is compiled with)
	lastErr  error
	lastOK   bool
	onReload func(ok bool, r *rules.Rules)
	check    func(*rules.Rules) error
}

// SetCheck adds a check beyond the rules file's own that new rules must pass (the deployment's
// limits, such as how long SLA timers are kept), and applies it to the rules in force now.
func (h *RulesHolder) SetCheck(check func(*rules.Rules) error) error {
	h.mu.Lock()
	h.check = check
	h.mu.Unlock()
	return check(h.Current())
}

// NewRulesHolder loads the rules file (path "" uses [DefaultRules]); a bad file is an error.
func NewRulesHolder(path string, roster *rules.Roster, log *zap.Logger) (*RulesHolder, error) {
	h := &RulesHolder{path: path, roster: roster, log: log.Named("rules"), lastOK: true}
	if path == "" {
		h.cur.Store(rules.DefaultRules(roster))
		return h, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	rs, err := rules.ParseRules(path, data, roster)
	if err != nil {
		return nil, err
	}
	h.warn(rs)
	h.cur.Store(rs)
	h.lastData, h.inForce = data, data
	return h, nil
}

// Build compiles the rules in force (the file as last read) against another roster, with
// the deployment's check, without swapping anything in.
func (h *RulesHolder) Build(roster *rules.Roster) (*rules.Rules, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.build(roster)
}

func (h *RulesHolder) build(roster *rules.Roster) (*rules.Rules, error) {
	return h.buildFrom(roster, h.inForce)
}

func (h *RulesHolder) buildFrom(roster *rules.Roster, data []byte) (*rules.Rules, error) {
	if h.path == "" {
		return rules.DefaultRules(roster), nil
	}
	rs, err := rules.ParseRules(h.path, data, roster)
	if err == nil && h.check != nil {
		err = h.check(rs)
	}
	return rs, err
}

// UseRoster swaps in the rules compiled against a new roster (agents added, changed or
// removed). On error the rules and roster in force stay.
func (h *RulesHolder) UseRoster(roster *rules.Roster) (*rules.Rules, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	rs, err := h.build(roster)
	if err != nil {
		h.log.Error("the roster change does not fit the rules; the previous roster stays in force", zap.Error(err))
		return nil, err
	}
	h.roster = roster
	h.warn(rs)
	h.cur.Store(rs)
	h.notify(true, rs)
	if !h.lastOK {
		h.notify(false, rs) // the file on disk is still the bad one: say so again
	}
	return rs, nil
}

// ReloadWith reads the rules file again and compiles it against roster (a reloaded config's
// roster); both are put in force together, or neither. Unlike [RulesHolder.Reload] it
// compiles even an unchanged file (the roster may have changed).
func (h *RulesHolder) ReloadWith(roster *rules.Roster) (*rules.Rules, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	data := h.inForce
	if h.path != "" {
		var err error
		if data, err = os.ReadFile(h.path); err != nil {
			return nil, err
		}
	}
	rs, err := h.buildFrom(roster, data)
	if err != nil {
		return nil, err
	}
	h.roster, h.lastData, h.inForce, h.lastErr, h.lastOK = roster, data, data, nil, true
	h.warn(rs)
	h.cur.Store(rs)
	h.notify(true, rs)
	return rs, nil
}

// warn logs the rules' roster-dependent warnings.
func (h *RulesHolder) warn(rs *rules.Rules) {
	for _, w := range rs.Warnings {
		h.log.Warn("rules: " + w)
	}
}

// Current returns the rules in force.
func (h *RulesHolder) Current() *rules.Rules { return h.cur.Load() }

// Status reports the last reload: whether it succeeded and, if not, why.
func (h *RulesHolder) Status() (ok bool, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.lastOK, h.lastErr
}

// Reload reads the file again; if it changed, it is checked and swapped in. It returns
// whether new rules are in force, and the problems of a bad file (the old rules stay).
func (h *RulesHolder) Reload() (bool, error) {
	if h.path == "" {
		return false, nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	data, err := os.ReadFile(h.path)
	if err == nil && bytes.Equal(data, h.lastData) {
		return false, h.lastErr
	}
	var rs *rules.Rules
	if err == nil {
		rs, err = rules.ParseRules(h.path, data, h.roster)
	}
	if err == nil && h.check != nil {
		err = h.check(rs)
	}
	h.lastData = data
	h.lastErr, h.lastOK = err, err == nil
	if err != nil {
		h.log.Error("rules file not reloaded; the previous rules stay in force",
			zap.String("file", h.path), zap.String("version", h.Current().Version), zap.Error(err))
		h.notify(false, h.Current())
		return false, err
	}
	h.warn(rs)
	h.inForce = data
	old := h.cur.Swap(rs)
	h.log.Info("rules reloaded", zap.String("file", h.path), zap.String("version", rs.Version), zap.String("previous", old.Version))
	h.notify(true, rs)
	return true, nil
}

func (h *RulesHolder) notify(ok bool, rs *rules.Rules) {
	if h.onReload != nil {
		h.onReload(ok, rs)
	}
}

// Watch reloads the file every interval until ctx ends.
func (h *RulesHolder) Watch(ctx context.Context, interval time.Duration) {
	if h.path == "" {
		return
	}
	kernel.Every(ctx, interval, func() { _, _ = h.Reload() })
}
