package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime/pprof"
	"time"
)

// benchOptions are the flags of `switchboard bench`.
type benchOptions struct {
	Messages    int
	Concurrency int
	Customers   int
	Size        int
	Rate        float64 // messages/s, open loop; 0: as fast as answers come
	Partitions  int
	Lanes       int
	Scenario    string
	Target      string // external gateway base URL; "" starts one in process
	NATS        string // its NATS URL (for events and the raw ceiling)
	Token       string
	DataDir     string
	SkipRaw     bool
	SkipRef     bool
	JSON        bool
	Timeout     time.Duration
	CPUProfile  string
	Rounds      int    // load rounds on one data directory, each followed by a restart (growth table)
	HeapProfile string // heap profile of the idle gateway after the last round's restart
	// DedupeWindow is the in-process gateway's pipeline.dedupe_window (0: the default). With
	// -rounds, each restart waits it out first, so the idle figures show what grows with
	// history rather than the last window's traffic.
	DedupeWindow time.Duration
	// Settle is how long a restarted gateway idles before -rounds measures it.
	Settle time.Duration
}

func runBench(ctx context.Context, args []string) error {
	fs := newFlags("bench")
	var o benchOptions
	fs.IntVar(&o.Messages, "messages", 20000, "messages to send")
	fs.IntVar(&o.Concurrency, "concurrency", 64, "concurrent senders (requests in flight)")
	fs.IntVar(&o.Customers, "customers", 1000, "distinct customers; each customer's messages are sent in order")
	fs.IntVar(&o.Size, "size", 200, "text bytes per message")
	fs.Float64Var(&o.Rate, "rate", 0, "open-loop rate in messages/s (0: closed loop, as fast as the gateway answers)")
	fs.IntVar(&o.Partitions, "partitions", 8, "pipeline.partitions of the in-process gateway")
	fs.IntVar(&o.Lanes, "lanes", 0, "pipeline.lanes of the in-process gateway (0: the gateway's default)")
	fs.StringVar(&o.Scenario, "scenario", "api", "what to send: "+scenarioNames())
	fs.StringVar(&o.Target, "target", "", "base URL of a running gateway (default: start one in process on a temp dir)")
	fs.StringVar(&o.NATS, "nats", "", "NATS URL of the running gateway (with -target)")
	fs.StringVar(&o.Token, "token", os.Getenv("SWITCHBOARD_API_TOKEN"), "api account token (with -target)")
	fs.StringVar(&o.DataDir, "data-dir", "", "data directory of the in-process gateway (default: a temp dir, removed after)")
	fs.BoolVar(&o.SkipRaw, "skip-raw", false, "do not measure the raw JetStream publish ceiling")
	fs.BoolVar(&o.SkipRef, "skip-reference", false, "do not measure the straight-line reference gateway")
	fs.BoolVar(&o.JSON, "json", false, "print the report as JSON")
	fs.DurationVar(&o.Timeout, "timeout", 2*time.Minute, "give up waiting for conversation events after this long")
	fs.StringVar(&o.CPUProfile, "cpuprofile", "", "write a CPU profile of the whole run (gateway included when in process)")
	fs.IntVar(&o.Rounds, "rounds", 0, "growth table: load this many rounds of -messages into one gateway, restarting and measuring it idle after each (heap, RSS, disk, restart time)")
	fs.DurationVar(&o.DedupeWindow, "dedupe-window", 0, "pipeline.dedupe_window of the in-process gateway (default: the gateway's default); with -rounds, each restart waits it out")
	fs.DurationVar(&o.Settle, "settle", 30*time.Second, "with -rounds: how long the restarted gateway idles before it is measured (its start replays SB_CONVERSATIONS into the listing and insight; nats-server keeps each block it read cached for 10 s after its last use)")
	fs.StringVar(&o.HeapProfile, "heapprofile", "", "with -rounds: write heap profiles of the gateway after the last load round (<file>.loaded) and idle after its restart (<file>)")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if o.Messages <= 0 || o.Concurrency <= 0 || o.Customers < o.Concurrency {
		fmt.Fprintln(os.Stderr, "bench: need messages > 0, concurrency > 0 and customers >= concurrency")
		return errUsage
	}
	sc, err := scenarioByName(o.Scenario)
	if err != nil {
		return err
	}
	if o.CPUProfile != "" {
		f, err := os.Create(o.CPUProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if o.Rounds > 0 {
		rows, err := runGrowth(ctx, &o, sc, os.Stderr)
		if o.JSON {
			_ = json.NewEncoder(os.Stdout).Encode(rows)
		} else {
			printGrowth(os.Stdout, &o, rows)
		}
		return err
	}
	env, err := setupBench(ctx, &o, sc)
	if err != nil {
		return err
	}
	defer env.close()
	rep, err := benchmark(ctx, &o, sc, env)
	if err != nil {
		return err
	}
	if o.JSON {
		return json.NewEncoder(os.Stdout).Encode(rep)
	}
	rep.print(os.Stdout)
	if rep.Lost > 0 || rep.OrderViolations > 0 || rep.StoredMismatch != 0 {
		return errFailed
	}
	return nil
}
