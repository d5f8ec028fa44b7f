package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/cmd/switchboard/app"
	"github.com/switchboardhq/switchboard/pipeline/streams"
	"github.com/switchboardhq/switchboard/router/flows"
	"github.com/switchboardhq/switchboard/router/identity"
	"github.com/switchboardhq/switchboard/router/kb"
	"github.com/switchboardhq/switchboard/router/rules"
	"github.com/switchboardhq/switchboard/schema"
)

const flowsUsage = "usage: switchboard flows check [--config F] [FLOWS.yaml]\n" +
	"       switchboard flows test [--config F] [--flows FLOWS.yaml] [--rules RULES.yaml] [--kb DIR] CASES.yaml\n" +
	"       switchboard flows replay --flows NEW.yaml [--config F] [--since 24h] [--nats URL] [--json]"

// runFlows dispatches `switchboard flows check|test|replay`.
func runFlows(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, flowsUsage)
		return errUsage
	}
	switch args[0] {
	case "check":
		return runFlowsCheck(args[1:], os.Stdout)
	case "test":
		return runFlowsTest(args[1:], os.Stdout)
	case "replay":
		return runFlowsReplay(ctx, args[1:], os.Stdout)
	}
	fmt.Fprintf(os.Stderr, "switchboard flows: unknown subcommand %q (check, test, replay)\n", args[0])
	return errUsage
}

// flowsSetup is what the flows commands load: the config (optional), the rules (business
// hours, rules' flows), the flows file and the knowledge base.
type flowsSetup struct {
	cfg   *app.Config
	rules *rules.Rules
	flows *flows.File
	kb    *kb.Base
}

// loadFlowsSetup loads a flows file (flowsPath, or the config's router.flows_file) with the
// rules (rulesPath, or the config's) and the knowledge base (kbDir, or the config's). A
// config that does not exist is fine when the paths are given.
func loadFlowsSetup(configPath, flowsPath, rulesPath, kbDir string, configGiven bool) (*flowsSetup, error) {
	s := &flowsSetup{}
	if _, err := os.Stat(configPath); err == nil || configGiven {
		c, rs, err := loadRules(configPath, rulesPath)
		if err != nil {
			return nil, err
		}
		s.cfg, s.rules = c, rs
		if flowsPath == "" {
			flowsPath = c.Router.FlowsFile
		}
		if kbDir == "" {
			kbDir = c.Router.KnowledgeBase
		}
	} else if rulesPath != "" {
		rs, err := rules.LoadRulesFile(rulesPath, rules.NewLiveRoster(nil, nil, nil, true))
		if err != nil {
			return nil, reportErrors(err)
		}
		s.rules = rs
	}
	if flowsPath == "" {
		return nil, fmt.Errorf("no flows file: give one, or a config whose router.flows_file names one")
	}
	f, err := flows.LoadFile(flowsPath)
	if err != nil {
		return nil, reportErrors(err)
	}
	s.flows = f
	if kbDir != "" {
		if s.kb, err = kb.Load(kbDir); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// env is the flows' environment without lookups: the rules' hours, the knowledge base.
func (s *flowsSetup) env() *flows.Env {
	env := &flows.Env{}
	if s.rules != nil {
		env.Calendar = func(name string) rules.Calendar { return s.rules.Calendar(name) }
	}
	if s.kb != nil {
		env.Search = s.kb.Search
	}
	return env
}

func runFlowsCheck(args []string, out io.Writer) error {
	fs := newFlags("flows check")
	configPath := fs.String("config", "configs/switchboard.yaml", "config file (its rules' business hours and flow names are checked against the flows)")
	if err := fs.Parse(args); err != nil || fs.NArg() > 1 {
		fmt.Fprintln(os.Stderr, flowsUsage)
		return errUsage
	}
	configGiven := flagGiven(fs, "config")
	path := fs.Arg(0)
	if path != "" && !configGiven {
		*configPath = "" // a flows file alone: its own checks
	}
	var s *flowsSetup
	var err error
	if *configPath == "" {
		f, ferr := flows.LoadFile(path)
		if ferr != nil {
			return reportErrors(ferr)
		}
		s = &flowsSetup{flows: f}
	} else if s, err = loadFlowsSetup(*configPath, path, "", "", true); err != nil {
		return err
	}
	if path == "" {
		path = s.cfg.Router.FlowsFile
	}
	for _, name := range slices.Sorted(maps.Keys(s.flows.Flows)) {
		fl := s.flows.Flows[name]
		fmt.Fprintf(out, "%s: flow %s ok (version %s, starts at %s)\n", path, name, fl.Version, fl.First)
	}
	if s.rules != nil {
		if problems := app.CheckFlows(s.rules, s.flows); len(problems) > 0 {
			for _, p := range problems {
				fmt.Fprintln(os.Stderr, p)
			}
			return errFailed
		}
	}
	return nil
}

func runFlowsTest(args []string, out io.Writer) error {
	fs := newFlags("flows test")
	configPath := fs.String("config", "configs/switchboard.yaml", "config file (router.flows_file, rules_file, knowledge_base)")
	flowsPath := fs.String("flows", "", "the flows file the dialogues run against (default: the config's router.flows_file)")
	rulesPath := fs.String("rules", "", "rules file whose business_hours the flows' branches use (default: the config's)")
	kbDir := fs.String("kb", "", "knowledge base folder of article steps (default: the config's router.knowledge_base)")
	if err := fs.Parse(args); err != nil || fs.NArg() != 1 {
		fmt.Fprintln(os.Stderr, flowsUsage)
		return errUsage
	}
	s, err := loadFlowsSetup(*configPath, *flowsPath, *rulesPath, *kbDir, flagGiven(fs, "config"))
	if err != nil {
		return err
	}
	results, err := flows.RunCaseFile(fs.Arg(0), s.flows, s.env())
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

// runFlowsReplay runs the recorded conversations through the flows in force and a
// candidate file, and prints how many each contains, hands off (and where) and loses.
func runFlowsReplay(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("flows replay")
	configPath := fs.String("config", "configs/switchboard.yaml", "config file (NATS, rules, the flows in force, knowledge base)")
	candidatePath := fs.String("flows", "", "candidate flows file (required)")
	url := fs.String("nats", "", "NATS URL (default: the config's)")
	since := fs.Duration("since", 0, "replay this far back (default: everything kept)")
	limit := fs.Int("show", 30, "list at most this many changed conversations")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := fs.Parse(args); err != nil || *candidatePath == "" || fs.NArg() != 0 {
		fmt.Fprintln(os.Stderr, flowsUsage)
		return errUsage
	}
	cand, err := loadFlowsSetup(*configPath, *candidatePath, "", "", true)
	if err != nil {
		return err
	}
	var current *flows.File
	if p := cand.cfg.Router.FlowsFile; p != "" {
		if current, err = flows.LoadFile(p); err != nil {
			return reportErrors(err)
		}
	}
	nc, js, err := connectJetStream(*configPath, *url)
	if err != nil {
		return err
	}
	defer nc.Close()
	q := streams.Query{Filter: streams.FilterConversations}
	if *since > 0 {
		q.Since = time.Now().Add(-*since)
	}
	col := flows.NewReplayCollector()
	n := 0
	if err := streams.NewReader(js).Read(ctx, q, func(st *streams.Stored) error {
		if st.Err == nil {
			col.Add(st.Event)
		}
		if n++; n%10000 == 0 {
			fmt.Fprintf(os.Stderr, "\rread %d events", n)
		}
		return nil
	}); err != nil {
		return fmt.Errorf("read %s: %w", streams.StreamConversations, err)
	}
	if n >= 10000 {
		fmt.Fprintln(os.Stderr)
	}
	items := col.Items()
	customers := map[string]*schema.Customer{}
	if kv, err := js.KeyValue(ctx, streams.BucketCustomers); err == nil {
		for _, it := range items {
			if _, ok := customers[it.Customer]; ok {
				continue
			}
			if c, err := identity.Lookup(ctx, kv, it.Customer); err == nil {
				customers[it.Customer] = c
			}
		}
	}
	rep := flows.Replay(items, current, cand.flows, flows.ReplayOptions{Rules: cand.rules, Env: cand.env(),
		Customer: func(id string) *schema.Customer { return customers[id] }})
	if *asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	printFlowsReplay(out, rep, *limit)
	return nil
}

func printFlowsReplay(out io.Writer, rep *flows.ReplayReport, limit int) {
	fmt.Fprintf(out, "%d conversations replayed; current flows %s, candidate %s\n", rep.Conversations, cmpOr(rep.CurrentVersion, "(none)"), rep.CandidateVersion)
	if rep.Recorded > 0 {
		fmt.Fprintf(out, "the simulation of the flows in force ends %d of the %d recorded flow conversations as recorded\n", rep.Faithful, rep.Recorded)
	}
	fmt.Fprintf(out, "\n%-22s %10s %10s\n", "", "current", "candidate")
	row := func(name string, a, b int) { fmt.Fprintf(out, "%-22s %10d %10d\n", name, a, b) }
	row("entered a flow", rep.Current.Entered, rep.Candidate.Entered)
	for _, r := range []string{flows.ResultContained, flows.ResultHandoff, flows.ResultDropped} {
		row("  "+r, rep.Current.Results[r], rep.Candidate.Results[r])
	}
	fmt.Fprintf(out, "%-22s %9.1f%% %9.1f%%\n", "containment", 100*rep.Current.Containment(), 100*rep.Candidate.Containment())
	queues := map[string]bool{}
	for q := range rep.Current.Handoffs {
		queues[q] = true
	}
	for q := range rep.Candidate.Handoffs {
		queues[q] = true
	}
	if len(queues) > 0 {
		fmt.Fprintln(out, "hand-offs by queue")
		for _, q := range slices.Sorted(maps.Keys(queues)) {
			row("  "+q, rep.Current.Handoffs[q], rep.Candidate.Handoffs[q])
		}
	}
	if len(rep.Candidate.DropSteps) > 0 {
		fmt.Fprintln(out, "candidate drop-offs by step")
		for _, s := range flows.SortedCounts(rep.Candidate.DropSteps) {
			fmt.Fprintf(out, "  %-20s %10d\n", s, rep.Candidate.DropSteps[s])
		}
	}
	fmt.Fprintf(out, "\n%d conversations end differently\n", len(rep.Changes))
	for i, c := range rep.Changes {
		if i == limit {
			fmt.Fprintf(out, "  … %d more (--show N, --json)\n", len(rep.Changes)-limit)
			break
		}
		fmt.Fprintf(out, "  %s  %s → %s\n", c.Conversation, outcomeText(c.Current), outcomeText(c.Candidate))
	}
}

func outcomeText(o flows.Outcome) string {
	switch o.Result {
	case flows.ResultNone:
		return "no flow"
	case flows.ResultHandoff:
		return fmt.Sprintf("%s: handoff to %s", o.Flow, cmpOr(o.Queue, "routing"))
	case flows.ResultDropped:
		return fmt.Sprintf("%s: dropped at %s", o.Flow, o.Step)
	}
	return fmt.Sprintf("%s: %s at %s", o.Flow, o.Result, o.Step)
}

// runKB dispatches `switchboard kb search`.
func runKB(_ context.Context, args []string) error {
	if len(args) == 0 || args[0] != "search" {
		fmt.Fprintln(os.Stderr, `usage: switchboard kb search [--config F | --kb DIR] [--language en] [-n 3] "query"`)
		return errUsage
	}
	fs := newFlags("kb search")
	configPath := fs.String("config", "configs/switchboard.yaml", "config file (router.knowledge_base)")
	dir := fs.String("kb", "", "knowledge base folder (default: the config's router.knowledge_base)")
	lang := fs.String("language", "", "the customer's language (articles in it and those without one)")
	n := fs.Int("n", 3, "how many matches")
	if err := fs.Parse(args[1:]); err != nil || fs.NArg() == 0 {
		fmt.Fprintln(os.Stderr, `usage: switchboard kb search [--config F | --kb DIR] [--language en] [-n 3] "query"`)
		return errUsage
	}
	if *dir == "" {
		c, _, err := app.CheckConfig(*configPath)
		if c == nil {
			return err
		}
		if *dir = c.Router.KnowledgeBase; *dir == "" {
			return fmt.Errorf("%s names no router.knowledge_base: give --kb DIR", *configPath)
		}
	}
	b, err := kb.Load(*dir)
	if err != nil {
		return err
	}
	q := strings.Join(fs.Args(), " ")
	found, err := b.Search(q, *lang, *n)
	if err != nil {
		return err
	}
	if len(found) == 0 {
		fmt.Printf("no article in %s (%d articles) matches %q\n", *dir, len(b.Articles), q)
		return errFailed
	}
	for i, a := range found {
		fmt.Printf("%d. %s  (%s, score %.2f)\n   %s\n", i+1, a.Title, a.ID, a.Score, a.Snippet)
		if a.URL != "" {
			fmt.Printf("   %s\n", a.URL)
		}
	}
	return nil
}

// flagGiven reports whether the flag was set on the command line.
func flagGiven(fs interface{ Visit(func(*flag.Flag)) }, name string) bool {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	return given
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
