package main

import (
	"context"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/cmd/switchboard/app"
	"github.com/switchboardhq/switchboard/configs/cfg"
	"github.com/switchboardhq/switchboard/router/flows"
	"github.com/switchboardhq/switchboard/router/kb"
	"github.com/switchboardhq/switchboard/router/rules"
)

// runCheck checks a config file and the rules file it names (or --rules), reporting every
// problem of both with file:line:col. Secrets that are not available here (an unset
// environment variable) are warnings, so a config can be linted without the production
// secrets; --require-secrets makes them errors, as they are for serve.
func runCheck(_ context.Context, args []string) error {
	fs := newFlags("check")
	configPath := fs.String("config", "configs/switchboard.yaml", "config file to check")
	rulesPath := fs.String("rules", "", "rules file to check against the config's roster (default: router.rules_file)")
	requireSecrets := fs.Bool("require-secrets", false, "fail when a secret's environment variable or file is missing (serve always does)")
	apiRoster := fs.Bool("api-roster", false, "agents are also managed through the API (PUT /v1/agents/{id}): a queue no agent of router.agents can serve is a warning, as serve reports it")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	c, secrets, err := app.CheckConfig(*configPath)
	if c == nil {
		return err
	}
	failed := reportSecrets(secrets, *requireSecrets)
	if err != nil {
		failed = true
		_ = reportErrors(err)
	} else if !failed {
		fmt.Printf("%s: ok\n", *configPath)
	}
	path := *rulesPath
	if path == "" {
		path = c.Router.RulesFile
	}
	roster := rules.NewLiveRoster(c.Router.Agents, nil, c.Router.LoadWeights, *apiRoster || len(c.Router.Agents) == 0)
	inForce := rules.DefaultRules(roster)
	if path != "" {
		rs, err := rules.LoadRulesFile(path, roster)
		if rs != nil {
			inForce = rs
		}
		if err != nil {
			failed = true
			_ = reportErrors(err)
		} else {
			fmt.Printf("%s: ok (version %s, %d queues, %d SLA policies, %d survey policies)\n", path, rs.Version, len(rs.QueueNames()),
				len(rs.SLAPolicies()), len(rs.SurveyPolicies()))
			for _, w := range rs.Warnings {
				fmt.Fprintf(os.Stderr, "warning: %s\n", w)
			}
			for _, p := range rs.SLATooLong(c.Pipeline.WithDefaults().Retention.Route.D(), time.Now()) {
				failed = true
				fmt.Fprintf(os.Stderr, "%s: %s\n", path, p)
			}
			if err := checkInsightHours(*configPath, c, rs); err != nil {
				failed = true
				_ = reportErrors(err)
			}
		}
	} else if err := checkInsightHours(*configPath, c, nil); err != nil {
		failed = true
		_ = reportErrors(err)
	}
	if !checkFlows(c, inForce) {
		failed = true
	}
	if failed {
		return errFailed
	}
	return nil
}

// reportSecrets prints the secrets not available here, as warnings or (required) errors, and
// reports whether they fail the command.
func reportSecrets(secrets cfg.Errors, required bool) bool {
	if len(secrets) == 0 {
		return false
	}
	label := "warning"
	if required {
		label = "error"
	}
	for _, e := range secrets {
		fmt.Fprintf(os.Stderr, "%s: %s\n", label, e.Error())
	}
	if required {
		fmt.Fprintf(os.Stderr, "%d secret(s) missing\n", len(secrets))
	} else {
		fmt.Fprintf(os.Stderr, "%d secret(s) not set here: `serve` will refuse to start without them (--require-secrets makes this an error)\n", len(secrets))
	}
	return required
}

// checkInsightHours checks that insight.business_hours names business hours of the rules
// file, located in the config file.
func checkInsightHours(configPath string, c *app.Config, rs *rules.Rules) error {
	name := c.Insight.BusinessHours
	if name == "" || rs.Calendar(name) != nil {
		return nil
	}
	data, err := os.ReadFile(configPath)
	if err != nil {
		return err
	}
	doc, _ := cfg.Decode(configPath, data, &app.Config{})
	if doc == nil {
		return nil
	}
	if rs == nil {
		doc.Errorf("insight.business_hours", "%q needs a rules file (router.rules_file) that defines it under business_hours", name)
	} else {
		doc.Errorf("insight.business_hours", "unknown business hours %q (the rules file defines: %s)", name, strings.Join(rs.Calendars(), ", "))
	}
	return doc.Err()
}

// checkFlows checks the flows file and the knowledge base the config names, and what the
// rules and the flows say of each other; it reports whether all is well.
func checkFlows(c *app.Config, rs *rules.Rules) bool {
	ok := true
	rc := c.Router
	if rc.KnowledgeBase != "" {
		b, err := kb.Load(rc.KnowledgeBase)
		if err != nil {
			ok = false
			fmt.Fprintln(os.Stderr, err)
		} else {
			fmt.Printf("%s: ok (%d articles)\n", rc.KnowledgeBase, len(b.Articles))
		}
	}
	if rc.FlowsFile == "" {
		return ok
	}
	f, err := flows.LoadFile(rc.FlowsFile)
	if err != nil {
		_ = reportErrors(err)
		return false
	}
	fmt.Printf("%s: ok (version %s, flows: %s)\n", rc.FlowsFile, f.Version, strings.Join(slices.Sorted(maps.Keys(f.Flows)), ", "))
	for _, p := range app.CheckFlows(rs, f) {
		ok = false
		fmt.Fprintf(os.Stderr, "%s: %s\n", rc.FlowsFile, p)
	}
	return ok
}
