package main

import (
	"context"
	"fmt"

	"github.com/switchboardhq/switchboard/cmd/switchboard/app"
	"github.com/switchboardhq/switchboard/router"
)

// runCheck checks a config file and the rules file it names (or --rules), reporting every
// problem with file:line:col.
func runCheck(_ context.Context, args []string) error {
	fs := newFlags("check")
	configPath := fs.String("config", "configs/switchboard.yaml", "config file to check")
	rulesPath := fs.String("rules", "", "rules file to check against the config's roster (default: router.rules_file)")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	c, err := app.LoadConfig(*configPath)
	if err != nil {
		return reportErrors(err)
	}
	fmt.Printf("%s: ok\n", *configPath)
	path := *rulesPath
	if path == "" {
		path = c.Router.RulesFile
	}
	if path == "" {
		return nil
	}
	rs, err := router.LoadRulesFile(path, router.NewRoster(c.Router.Agents, c.Router.LoadWeights))
	if err != nil {
		return reportErrors(err)
	}
	fmt.Printf("%s: ok (version %s, %d queues)\n", path, rs.Version, len(rs.QueueNames()))
	return nil
}
