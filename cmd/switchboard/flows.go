package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"

	"github.com/switchboardhq/switchboard/router/flows"
)

// runFlows dispatches `switchboard flows check|test` (issue 16: the flows are not yet run by
// the gateway; these check and test a flows file on their own).
func runFlows(_ context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: switchboard flows check FLOWS.yaml\n"+
			"       switchboard flows test --flows FLOWS.yaml CASES.yaml")
		return errUsage
	}
	switch args[0] {
	case "check":
		return runFlowsCheck(args[1:], os.Stdout)
	case "test":
		return runFlowsTest(args[1:], os.Stdout)
	}
	fmt.Fprintf(os.Stderr, "switchboard flows: unknown subcommand %q (check, test)\n", args[0])
	return errUsage
}

func runFlowsCheck(args []string, out io.Writer) error {
	fs := newFlags("flows check")
	if err := fs.Parse(args); err != nil || fs.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: switchboard flows check FLOWS.yaml")
		return errUsage
	}
	f, err := flows.LoadFile(fs.Arg(0))
	if err != nil {
		return reportErrors(err)
	}
	for _, name := range slices.Sorted(maps.Keys(f.Flows)) {
		fl := f.Flows[name]
		fmt.Fprintf(out, "%s: flow %s ok (version %s, starts at %s)\n", fs.Arg(0), name, fl.Version, fl.First)
	}
	return nil
}

func runFlowsTest(args []string, out io.Writer) error {
	fs := newFlags("flows test")
	flowsPath := fs.String("flows", "", "the flows file the dialogues run against")
	if err := fs.Parse(args); err != nil || fs.NArg() != 1 || *flowsPath == "" {
		fmt.Fprintln(os.Stderr, "usage: switchboard flows test --flows FLOWS.yaml CASES.yaml")
		return errUsage
	}
	f, err := flows.LoadFile(*flowsPath)
	if err != nil {
		return reportErrors(err)
	}
	results, err := flows.RunCaseFile(fs.Arg(0), f)
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
		fmt.Fprintf(out, "FAIL  %s (%s)\n", r.Name, r.Position)
		for _, msg := range r.Failures {
			fmt.Fprintf(out, "        %s\n", msg)
		}
	}
	fmt.Fprintf(out, "%d dialogue(s), %d failed\n", len(results), failed)
	if failed > 0 {
		return errFailed
	}
	return nil
}
