package app

import (
	"context"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/switchboardhq/switchboard/router/rest"
)

// reloadMetrics are switchboard_config_last_reload_successful and its timestamp, as
// Prometheus and Alertmanager export theirs.
type reloadMetrics struct {
	ok, at prometheus.Gauge
}

func newReloadMetrics(reg prometheus.Registerer) *reloadMetrics {
	m := &reloadMetrics{
		ok: prometheus.NewGauge(prometheus.GaugeOpts{Name: "switchboard_config_last_reload_successful",
			Help: "1 if the last config reload (SIGHUP, POST /-/reload) succeeded or none was asked for, 0 if the file was bad and the config in force stayed."}),
		at: prometheus.NewGauge(prometheus.GaugeOpts{Name: "switchboard_config_last_reload_success_timestamp_seconds",
			Help: "When the config in force was loaded (the start, or the last successful reload)."}),
	}
	m.ok.Set(1)
	m.at.SetToCurrentTime()
	reg.MustRegister(m.ok, m.at)
	return m
}

// watchHangup reloads the config file on every SIGHUP (hup, registered by Run) until ctx
// ends.
func (a *App) watchHangup(ctx context.Context, hup <-chan os.Signal) {
	if a.configPath == "" {
		return
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			_, _ = a.Reload(ctx) // logged
		}
	}
}

// Reload reads the config file again and swaps in what can change without a restart:
// router.agents and router.load_weights (with the rules file, compiled against the new
// roster), rest.tokens and rest.jwt, webhooks.subscriptions. The whole file is checked first
// and the roster and rules are compiled before anything is swapped: on any problem the
// config in force stays, switchboard_config_last_reload_successful goes to 0 and the error
// says why. Other changed sections are named in RestartRequired.
func (a *App) Reload(ctx context.Context) (rest.ConfigReload, error) {
	a.reloadMu.Lock()
	defer a.reloadMu.Unlock()
	res, err := a.reload(ctx)
	if err != nil {
		a.reloads.ok.Set(0)
		a.log.Error("config not reloaded; the config in force stays", zap.String("file", a.configPath), zap.Error(err))
		return res, err
	}
	a.reloads.ok.Set(1)
	a.reloads.at.SetToCurrentTime()
	a.log.Info("config reloaded", zap.String("file", a.configPath), zap.Strings("reloaded", res.Reloaded),
		zap.Strings("restart_required", res.RestartRequired))
	for _, w := range res.RestartRequired {
		a.log.Warn("config changed in a section that takes effect at the next start", zap.String("section", w))
	}
	return res, nil
}

func (a *App) reload(ctx context.Context) (rest.ConfigReload, error) {
	var res rest.ConfigReload
	if a.configPath == "" {
		return res, rest.ErrNoConfigFile
	}
	next, err := LoadConfig(a.configPath)
	if err != nil {
		return res, fmt.Errorf("%w:\n%w", rest.ErrInvalidConfig, err)
	}
	applyOverrides(next, a.opts)
	cur := a.cfg
	res.RestartRequired = restartRequired(cur, next)
	w := a.w
	rosterChanged := !reflect.DeepEqual(cur.Router.Agents, next.Router.Agents) || !reflect.DeepEqual(cur.Router.LoadWeights, next.Router.LoadWeights)
	if cur.Router.RoutingEnabled() == next.Router.RoutingEnabled() {
		// The rules file is read again either way, compiled against the new roster.
		before := ""
		if rs := w.router.Rules(); rs != nil {
			before = rs.Version
		}
		if res.Warnings, err = w.router.ApplyConfig(next.Router.Agents, next.Router.LoadWeights); err != nil {
			return res, fmt.Errorf("%w:\n%w", rest.ErrInvalidConfig, err)
		}
		if rosterChanged {
			res.Reloaded = append(res.Reloaded, "router.agents")
		}
		if rs := w.router.Rules(); rs != nil && rs.Version != before && !rosterChanged {
			res.Reloaded = append(res.Reloaded, "router.rules_file")
		}
		cur.Router.Agents, cur.Router.LoadWeights = next.Router.Agents, next.Router.LoadWeights
	}
	if fh := w.router.FlowsHolder(); fh != nil && fh.Path() == next.Router.FlowsFile {
		changed, err := fh.Reload()
		if err != nil {
			return res, fmt.Errorf("%w:\n%w", rest.ErrInvalidConfig, err)
		}
		if changed {
			res.Reloaded = append(res.Reloaded, "router.flows_file")
		}
	}
	if !reflect.DeepEqual(cur.REST, next.REST) {
		w.rest.SetCredentials(next.REST)
		cur.REST = next.REST
		res.Reloaded = append(res.Reloaded, "rest")
	}
	if !reflect.DeepEqual(cur.Webhooks.Subscriptions, next.Webhooks.Subscriptions) {
		w.webhooks.SetConfig(ctx, next.Webhooks.Subscriptions)
		cur.Webhooks.Subscriptions = next.Webhooks.Subscriptions
		res.Reloaded = append(res.Reloaded, "webhooks.subscriptions")
	}
	return res, nil
}

// restartRequired names the changed sections that are not reloaded.
func restartRequired(cur, next *Config) []string {
	var out []string
	differ := func(name string, a, b any) {
		if !reflect.DeepEqual(a, b) {
			out = append(out, name)
		}
	}
	differ("log", cur.Log, next.Log)
	differ("data_dir", cur.DataDir, next.DataDir)
	differ("memory_limit", cur.MemoryLimit, next.MemoryLimit)
	differ("http", cur.HTTP, next.HTTP)
	differ("nats", cur.NATS, next.NATS)
	differ("pipeline", cur.Pipeline, next.Pipeline)
	differ("insight", cur.Insight, next.Insight)
	cr, nr := cur.Router, next.Router
	if cr.RoutingEnabled() != nr.RoutingEnabled() {
		out = append(out, "router (routing turned "+map[bool]string{true: "on", false: "off"}[nr.RoutingEnabled()]+")")
	}
	cr.Agents, cr.LoadWeights, nr.Agents, nr.LoadWeights = nil, nil, nil, nil
	differ("router", cr, nr)
	cw, nw := cur.Webhooks, next.Webhooks
	cw.Subscriptions, nw.Subscriptions = nil, nil
	differ("webhooks", cw, nw)
	cv, nv := reflect.ValueOf(cur.Channels), reflect.ValueOf(next.Channels)
	for i := 0; i < cv.NumField(); i++ {
		name, _, _ := strings.Cut(cv.Type().Field(i).Tag.Get("yaml"), ",")
		differ("channels."+name, cv.Field(i).Interface(), nv.Field(i).Interface())
	}
	slices.Sort(out)
	return out
}
