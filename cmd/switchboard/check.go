package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/switchboardhq/switchboard/cmd/switchboard/app"
	"github.com/switchboardhq/switchboard/configs/cfg"
)

func runCheck(_ context.Context, args []string) error {
	fs := newFlags("check")
	configPath := fs.String("config", "configs/switchboard.yaml", "config file to check")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	_, err := app.LoadConfig(*configPath)
	if err == nil {
		fmt.Printf("%s: ok\n", *configPath)
		return nil
	}
	var es cfg.Errors
	if errors.As(err, &es) {
		for _, e := range es {
			fmt.Fprintln(os.Stderr, e.Error())
		}
		fmt.Fprintf(os.Stderr, "%d error(s)\n", len(es))
		return errFailed
	}
	return err
}
