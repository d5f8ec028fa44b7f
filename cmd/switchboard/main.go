// Command switchboard is the omnichannel message-ingestion gateway.
//
//	switchboard serve --config configs/switchboard.yaml   run the gateway
//	switchboard check --config FILE                       check a config and its rules, every error with file:line:col
//	switchboard rules test CASES.yaml                     run declarative routing cases against the rules
//	switchboard rules replay --rules NEW.yaml             replay recorded traffic against candidate rules
//	switchboard tail                                      follow the unified conversation stream
//	switchboard bench                                     load-test the API channel end to end
//	switchboard dlq list|redrive                          inspect and redrive dead letters
//	switchboard staffing --queue Q --config FILE         the agents a queue needed and had, and a forecast
//	switchboard staffing --what-if --arrivals 120/h ...   the agents a workload needs for a target
//
// Run a command with -h for its flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

type command struct {
	name, summary string
	run           func(ctx context.Context, args []string) error
}

func commands() []command {
	return []command{
		{"serve", "run the gateway", runServe},
		{"check", "check a config file and its rules file and report every error", runCheck},
		{"rules", "test routing rules (rules test CASES.yaml) or replay traffic against candidates (rules replay)", runRules},
		{"flows", "check a flows file (flows check), run its declarative dialogues (flows test) or replay recorded conversations against a candidate (flows replay)", runFlows},
		{"kb", "search the flows' knowledge base as an article step would (kb search \"query\")", runKB},
		{"tail", "follow the unified conversation stream", runTail},
		{"report", "print the service figures (response and resolution times, FCR, volume) from the stream", runReport},
		{"insight", "rebuild the service figures from the stream (insight rebuild)", runInsight},
		{"staffing", "the agents a queue needs per interval, measured and forecast, or for a workload (--what-if)", runStaffing},
		{"bench", "load-test the API channel end to end against the raw JetStream ceiling", runBench},
		{"dlq", "list or redrive dead letters (messages a stage could not process)", runDLQ},
		{"version", "print the version", func(context.Context, []string) error { fmt.Println(version); return nil }},
	}
}

// errUsage is returned for bad command lines (exit 2); errFailed for a failed check (exit 1).
var (
	errUsage  = errors.New("usage")
	errFailed = errors.New("failed")
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:]))
}

func run(ctx context.Context, args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage()
		return 2
	}
	for _, c := range commands() {
		if c.name == args[0] {
			err := c.run(ctx, args[1:])
			switch {
			case err == nil:
				return 0
			case errors.Is(err, errUsage), errors.Is(err, flag.ErrHelp):
				if err != errUsage && !errors.Is(err, flag.ErrHelp) {
					fmt.Fprintln(os.Stderr, "switchboard "+c.name+":", err)
				}
				return 2
			case errors.Is(err, errFailed):
				return 1
			}
			fmt.Fprintln(os.Stderr, "switchboard "+c.name+":", err)
			return 1
		}
	}
	fmt.Fprintf(os.Stderr, "switchboard: unknown command %q\n\n", args[0])
	usage()
	return 2
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: switchboard <command> [flags]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(os.Stderr, "  %-8s %s\n", c.name, c.summary)
	}
}

// newFlags returns a flag set that reports errors instead of exiting.
func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("switchboard "+name, flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	return fs
}
