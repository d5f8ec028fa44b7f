package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/switchboardhq/switchboard/cmd/switchboard/app"
	"github.com/switchboardhq/switchboard/configs/cfg"
	"github.com/switchboardhq/switchboard/router/rules"
)

// runRules dispatches `switchboard rules test|replay`.
func runRules(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: switchboard rules test [--config F] [--rules R] CASES.yaml\n"+
			"       switchboard rules replay --rules NEW.yaml [--config F] [--since 24h] [--nats URL]")
		return errUsage
	}
	switch args[0] {
	case "test":
		return runRulesTest(args[1:], os.Stdout)
	case "replay":
		return runRulesReplay(ctx, args[1:], os.Stdout)
	}
	fmt.Fprintf(os.Stderr, "switchboard rules: unknown subcommand %q (test, replay)\n", args[0])
	return errUsage
}

// loadRules loads the config's roster and a rules file (rulesPath, or the config's).
// Secrets the config names but this machine lacks are warnings here: testing and replaying
// rules needs none of them. Other config problems are reported together with the rules
// file's.
func loadRules(configPath, rulesPath string) (*app.Config, *rules.Rules, error) {
	c, secrets, cerr := app.CheckConfig(configPath)
	if c == nil {
		return nil, nil, cerr
	}
	reportSecrets(secrets, false)
	if cerr != nil {
		_ = reportErrors(cerr)
	}
	roster := rules.NewRoster(c.Router.Agents, c.Router.LoadWeights)
	if rulesPath == "" {
		rulesPath = c.Router.RulesFile
	}
	if rulesPath == "" {
		if cerr != nil {
			return nil, nil, errFailed
		}
		return c, rules.DefaultRules(roster), nil
	}
	rs, err := rules.LoadRulesFile(rulesPath, roster)
	if err != nil {
		return nil, nil, reportErrors(err)
	}
	if cerr != nil {
		return nil, nil, errFailed
	}
	return c, rs, nil
}

// reportErrors prints located config errors one per line and returns errFailed.
func reportErrors(err error) error {
	var es cfg.Errors
	if !errors.As(err, &es) {
		return err
	}
	for _, e := range es {
		fmt.Fprintln(os.Stderr, e.Error())
	}
	fmt.Fprintf(os.Stderr, "%d error(s)\n", len(es))
	return errFailed
}

func runRulesTest(args []string, out io.Writer) error {
	fs := newFlags("rules test")
	configPath := fs.String("config", "configs/switchboard.yaml", "config file (the agents roster, the rules file)")
	rulesPath := fs.String("rules", "", "rules file to test (default: the config's router.rules_file)")
	if err := fs.Parse(args); err != nil || fs.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: switchboard rules test [--config F] [--rules R] CASES.yaml")
		return errUsage
	}
	_, rs, err := loadRules(*configPath, *rulesPath)
	if err != nil {
		return err
	}
	results, err := rules.RunCaseFile(fs.Arg(0), rs)
	if err != nil {
		return reportErrors(err)
	}
	failed := 0
	for _, r := range results {
		if r.OK() {
			fmt.Fprintf(out, "ok    %s\n", r.Name)
			continue
		}
		failed++
		d := r.Decision
		fmt.Fprintf(out, "FAIL  %s (%s)\n", r.Name, r.Position)
		for _, f := range r.Failures {
			fmt.Fprintf(out, "        %s\n", f)
		}
		fmt.Fprintf(out, "        decision: rule=%q target=%d queue=%q agent=%q: %s\n", d.Rule, d.Target, d.Queue, d.Agent, d.Reason)
	}
	fmt.Fprintf(out, "%d case(s), %d failed (rules version %s)\n", len(results), failed, rs.Version)
	if failed > 0 {
		return errFailed
	}
	return nil
}
