package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchboardhq/switchboard/cmd/switchboard/app"
	"github.com/switchboardhq/switchboard/pipeline"
	"github.com/switchboardhq/switchboard/pipeline/streams"
	"github.com/switchboardhq/switchboard/schema"
)

func runTail(ctx context.Context, args []string) error {
	fs := newFlags("tail")
	configPath := fs.String("config", "", "config file to take the NATS address and credentials from")
	url := fs.String("nats", "", "NATS URL (default: the config's, else nats://127.0.0.1:4222)")
	asJSON := fs.Bool("json", false, "print one JSON event per line")
	all := fs.Bool("all", false, "start from the first event kept")
	since := fs.Duration("since", 0, "start this far back (e.g. 1h)")
	conv := fs.String("conversation", "", "only this conversation")
	types := fs.String("type", "", "only these event types (comma-separated: message,assigned,...)")
	count := fs.Int("n", 0, "stop after n events (0: follow until interrupted)")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	nc, js, err := connectJetStream(*configPath, *url)
	if err != nil {
		return err
	}
	defer nc.Close()
	start := streams.Start{All: *all}
	if *since > 0 {
		start.Since = time.Now().Add(-*since)
	}
	if err := follow(ctx, streams.NewReader(js), tailFilters(*conv, *types), start, os.Stdout, *asJSON, *count); err != nil {
		return fmt.Errorf("follow %s: %w", streams.StreamConversations, err)
	}
	return nil
}

// connectJetStream connects like tailConnect and opens JetStream.
func connectJetStream(configPath, url string) (*nats.Conn, jetstream.JetStream, error) {
	nc, err := tailConnect(configPath, url)
	if err != nil {
		return nil, nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	return nc, js, nil
}

// tailConnect connects a local tool to the gateway's NATS: the config's external cluster, or
// its embedded server with the credentials the server keeps in its data directory (./data
// without a config), so an operator on the host never types a password.
func tailConnect(configPath, url string) (*nats.Conn, error) {
	opts := []nats.Option{nats.Name("switchboard tool"), nats.MaxReconnects(-1)}
	embedded, dataDir := pipeline.EmbeddedConfig{}, "./data"
	if configPath != "" {
		c, _, err := app.CheckConfig(configPath) // secrets a tool does not need may be unset here
		if err != nil {
			return nil, fmt.Errorf("config:\n%w", err)
		}
		if c.NATS.URL != "" && url == "" {
			return pipeline.ConnectExternal(c.NATS, "switchboard tool", nopLogger())
		}
		if url == "" && c.NATS.Embedded.Listen != "none" {
			url = "nats://" + c.NATS.Embedded.Listen
		}
		embedded, dataDir = c.NATS.Embedded, c.DataDir
	}
	if embedded.Auth != pipeline.AuthNone {
		if a, err := pipeline.EffectiveAuth(embedded, dataDir); err == nil {
			opts = append(opts, a.Gateway.Option())
		}
	}
	if url == "" {
		url = "nats://127.0.0.1:4222"
	}
	nc, err := nats.Connect(url, opts...)
	if errors.Is(err, nats.ErrAuthorization) {
		return nil, fmt.Errorf("connect to %s: %w (the gateway's credentials are in %s; give --config with its data_dir)",
			url, err, filepath.Join(dataDir, pipeline.AuthFile))
	}
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w (is `switchboard serve` running?)", url, err)
	}
	return nc, nil
}

func tailFilters(conv, types string) []string {
	if types == "" {
		return []string{streams.ConversationFilter(conv)}
	}
	var out []string
	for _, t := range strings.Split(types, ",") {
		out = append(out, streams.ConversationTypeFilter(conv, schema.EventType(strings.TrimSpace(t))))
	}
	return out
}

// follow prints events as they come (count > 0: stop after count). An event that does not
// decode is printed with its stream sequence rather than skipped.
func follow(ctx context.Context, r *streams.Reader, filters []string, start streams.Start, w io.Writer, asJSON bool, count int) error {
	n := 0
	return r.Follow(ctx, filters, start, func(s *streams.Stored) error {
		switch {
		case asJSON:
			fmt.Fprintln(w, strings.TrimSpace(string(s.Data)))
		case s.Err != nil:
			fmt.Fprintf(w, "%s: undecodable event (stream seq %d): %v\n", s.Subject, s.Seq, s.Err)
		default:
			fmt.Fprintln(w, formatEvent(s.Event))
		}
		if n++; count > 0 && n >= count {
			return streams.ErrStop
		}
		return nil
	})
}

// formatEvent renders an event on one line for people.
func formatEvent(ev *schema.Event) string {
	head := fmt.Sprintf("%s %s #%d %-11s", ev.At.Format("15:04:05.000"), ev.ConversationID, ev.Seq, ev.Type)
	switch {
	case ev.Message != nil:
		m := ev.Message
		who := m.From.Value
		if m.From.Name != "" {
			who = m.From.Name + " <" + m.From.Value + ">"
		}
		text := strings.ReplaceAll(firstNonEmpty(m.StrippedText, m.Text, m.Subject), "\n", " ⏎ ")
		if len(text) > 160 {
			text = text[:160] + "…"
		}
		return fmt.Sprintf("%s %s %s/%s %s: %s", head, m.Direction, m.Channel, m.Account, who, text)
	case ev.Routing != nil:
		r := ev.Routing
		return fmt.Sprintf("%s queue=%s agent=%s rule=%s (%s)", head, r.Queue, r.AgentID, r.Rule, r.Reason)
	case ev.Delivery != nil:
		d := ev.Delivery
		s := fmt.Sprintf("%s %s %s", head, d.MessageID, d.Status)
		if d.ErrorCode != "" {
			s += " " + d.ErrorCode + ": " + d.ErrorMessage
		}
		return s
	case ev.Triage != nil:
		return head + " " + formatTriage(ev)
	}
	if ev.Reason != "" {
		return head + " " + ev.Reason
	}
	return head
}

// formatTriage is what a tagged, untagged, priority_changed, snoozed or woken event changed.
func formatTriage(ev *schema.Event) string {
	t := ev.Triage
	var parts []string
	if len(t.Tags) > 0 {
		parts = append(parts, "tags="+strings.Join(t.Tags, ","))
	}
	if t.Priority != nil {
		parts = append(parts, fmt.Sprintf("priority=%d (was %d)", *t.Priority, t.PreviousPriority))
	}
	if t.Until != nil {
		parts = append(parts, "until="+t.Until.Format(time.RFC3339))
	}
	if t.Wake != "" {
		parts = append(parts, "by="+t.Wake)
	}
	if ev.Reason != "" {
		parts = append(parts, "("+ev.Reason+")")
	}
	return strings.Join(parts, " ")
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if strings.TrimSpace(s) != "" {
			return s
		}
	}
	return ""
}
