package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchboardhq/switchboard/pipeline/streams"
	"github.com/switchboardhq/switchboard/router/rules"
	"github.com/switchboardhq/switchboard/schema"
)

// runRulesReplay replays recorded traffic from SB_CONVERSATIONS against the rules in force
// and candidate rules. It only reads: no consumer is created durably, nothing is published.
func runRulesReplay(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("rules replay")
	configPath := fs.String("config", "configs/switchboard.yaml", "config file (roster, rules in force, NATS)")
	candidatePath := fs.String("rules", "", "candidate rules file (required)")
	url := fs.String("nats", "", "NATS URL (default: the config's)")
	since := fs.Duration("since", 0, "replay this far back (default: everything kept)")
	limit := fs.Int("show", 50, "list at most this many changed conversations")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	agents := fs.String("agents", "all", "agents available in the simulation: all, current (their presence now) or none")
	if err := fs.Parse(args); err != nil || *candidatePath == "" || fs.NArg() != 0 ||
		(*agents != "all" && *agents != "current" && *agents != "none") {
		fmt.Fprintln(os.Stderr, "usage: switchboard rules replay --rules NEW.yaml [--config F] [--since 24h] [--nats URL] [--agents all|current|none] [--json]")
		return errUsage
	}
	_, current, err := loadRules(*configPath, "")
	if err != nil {
		return err
	}
	_, candidate, err := loadRules(*configPath, *candidatePath)
	if err != nil {
		return err
	}
	nc, js, err := connectJetStream(*configPath, *url)
	if err != nil {
		return err
	}
	defer nc.Close()
	col, err := collectReplay(ctx, js, *since)
	if err != nil {
		return err
	}
	customers, err := replayCustomers(ctx, js, col.Items)
	if err != nil {
		return err
	}
	available, err := replayAvailability(ctx, js, *agents)
	if err != nil {
		return err
	}
	rep := rules.Replay(col.Items, current, candidate, func(id string) *schema.Customer { return customers[id] }, available)
	if *asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	printReplay(out, rep, *limit)
	return nil
}

// collectReplay reads the conversation stream up to its current end. Events that do not
// decode are left out of the replay and reported on stderr with their stream sequences.
func collectReplay(ctx context.Context, js jetstream.JetStream, since time.Duration) (*rules.ReplayCollector, error) {
	q := streams.Query{Filter: streams.FilterConversations}
	if since > 0 {
		q.Since = time.Now().Add(-since)
	}
	col := rules.NewReplayCollector()
	var bad []uint64
	err := streams.NewReader(js).Read(ctx, q, func(s *streams.Stored) error {
		if s.Err != nil {
			bad = append(bad, s.Seq)
			return nil
		}
		col.Add(s.Event)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", streams.StreamConversations, err)
	}
	if len(bad) > 0 {
		fmt.Fprintf(os.Stderr, "warning: %d events on %s do not decode and are left out of the replay (stream sequences %s)\n",
			len(bad), streams.StreamConversations, seqList(bad, 20))
	}
	return col, nil
}

// seqList prints at most max sequences.
func seqList(seqs []uint64, max int) string {
	var b strings.Builder
	for i, s := range seqs {
		if i == max {
			fmt.Fprintf(&b, ", … %d more", len(seqs)-max)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprint(&b, s)
	}
	return b.String()
}

// replayCustomers reads the customers of the replayed conversations (as they are now).
func replayCustomers(ctx context.Context, js jetstream.JetStream, items []rules.ReplayItem) (map[string]*schema.Customer, error) {
	kv, err := js.KeyValue(ctx, streams.BucketCustomers)
	if err != nil {
		return nil, err
	}
	out := map[string]*schema.Customer{}
	for _, it := range items {
		if _, seen := out[it.Customer]; seen || it.Customer == "" {
			continue
		}
		out[it.Customer] = nil
		if e, err := kv.Get(ctx, it.Customer); err == nil {
			var c schema.Customer
			if json.Unmarshal(e.Value(), &c) == nil {
				out[it.Customer] = &c
			}
		}
	}
	return out, nil
}

// replayAvailability says which agents the simulation treats as available.
func replayAvailability(ctx context.Context, js jetstream.JetStream, mode string) (func(string) bool, error) {
	switch mode {
	case "all":
		return func(string) bool { return true }, nil
	case "none":
		return func(string) bool { return false }, nil
	}
	kv, err := js.KeyValue(ctx, streams.BucketAgents)
	if err != nil {
		return nil, err
	}
	return func(id string) bool {
		e, err := kv.Get(ctx, "presence."+id)
		var p rules.PresenceRecord
		return err == nil && json.Unmarshal(e.Value(), &p) == nil && p.Status == rules.Available
	}, nil
}

func printReplay(out io.Writer, rep *rules.ReplayReport, limit int) {
	fmt.Fprintf(out, "replayed %d routed conversations: rules %s (in force) vs %s (candidate)\n",
		rep.Routed, rep.CurrentVersion, rep.CandidateVersion)
	fmt.Fprintf(out, "agent state is simulated; the in-force simulation reproduces %d of %d recorded decisions\n\n",
		rep.Faithful, rep.Recorded)
	fmt.Fprintf(out, "%d conversation(s) would be routed differently\n", len(rep.Changes))
	for i, c := range rep.Changes {
		if i == limit {
			fmt.Fprintf(out, "  ... %d more (--show, --json)\n", len(rep.Changes)-limit)
			break
		}
		fmt.Fprintf(out, "  %s %s  %s/%s -> %s/%s  (%s)\n", c.At.Format(time.RFC3339), c.Conversation,
			orDash(c.Current.Queue), orDash(c.Current.Agent), orDash(c.Candidate.Queue), orDash(c.Candidate.Agent), c.Candidate.Reason)
	}
	printCounts(out, "queue", rep.Queues)
	printCounts(out, "agent (assignments)", rep.Agents)
}

func printCounts(out io.Writer, what string, m map[string]*rules.ReplayCounts) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Fprintf(out, "\n%-24s %9s %9s %7s\n", what, "in force", "candidate", "change")
	for _, k := range keys {
		c := m[k]
		fmt.Fprintf(out, "%-24s %9d %9d %+7d\n", orDash(k), c.Current, c.Candidate, c.Candidate-c.Current)
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
