package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchboardhq/switchboard/pipeline"
	"github.com/switchboardhq/switchboard/pipeline/streams"
)

// deadLetter is one entry of SB_DLQ as `dlq list` shows it.
type deadLetter struct {
	Seq         uint64    `json:"seq"`
	At          time.Time `json:"at"`
	Stage       string    `json:"stage"`
	Reason      string    `json:"reason"`
	OrigSubject string    `json:"original_subject"`
	OrigStream  string    `json:"original_stream,omitempty"`
	Bytes       int       `json:"bytes"`
	Data        string    `json:"data,omitempty"`
}

func runDLQ(ctx context.Context, args []string) error {
	if len(args) == 0 || (args[0] != "list" && args[0] != "redrive") {
		fmt.Fprintln(os.Stderr, "usage: switchboard dlq list|redrive [flags]")
		return errUsage
	}
	fs := newFlags("dlq " + args[0])
	configPath := fs.String("config", "", "config file to take the NATS address and credentials from")
	url := fs.String("nats", "", "NATS URL (default: the config's, else nats://127.0.0.1:4222)")
	stage := fs.String("stage", "", "only dead letters of this stage (ingest, router, ...)")
	asJSON := fs.Bool("json", false, "list: print JSON lines with the payload")
	seq := fs.Uint64("seq", 0, "redrive: only this dead letter")
	all := fs.Bool("all", false, "redrive: every dead letter (of --stage)")
	if err := fs.Parse(args[1:]); err != nil {
		return errUsage
	}
	nc, err := tailConnect(*configPath, *url)
	if err != nil {
		return err
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	if args[0] == "list" {
		return listDLQ(ctx, js, *stage, *asJSON, os.Stdout)
	}
	if (*seq == 0) == !*all {
		fmt.Fprintln(os.Stderr, "dlq redrive: give --seq N or --all")
		return errUsage
	}
	n, err := redriveDLQ(ctx, js, *stage, *seq)
	fmt.Printf("redriven: %d\n", n)
	return err
}

// readDLQ calls fn for every dead letter (optionally of one stage), oldest first.
func readDLQ(ctx context.Context, js jetstream.JetStream, stage string, fn func(*deadLetter, jetstream.Msg) error) error {
	filter := streams.FilterDeadLetter
	if stage != "" {
		filter = streams.DeadLetterSubject(stage)
	}
	cons, err := js.OrderedConsumer(ctx, streams.StreamDeadLetter, jetstream.OrderedConsumerConfig{FilterSubjects: []string{filter}})
	if err != nil {
		return fmt.Errorf("open %s: %w", streams.StreamDeadLetter, err)
	}
	for {
		batch, err := cons.Fetch(256, jetstream.FetchMaxWait(500*time.Millisecond))
		if err != nil {
			return err
		}
		n := 0
		for m := range batch.Messages() {
			n++
			md, _ := m.Metadata()
			h := m.Headers()
			dl := &deadLetter{Seq: md.Sequence.Stream, At: md.Timestamp, Stage: h.Get(streams.HeaderStage),
				Reason: h.Get(streams.HeaderReason), OrigSubject: h.Get(pipeline.HeaderOrigSubject),
				OrigStream: h.Get(pipeline.HeaderOrigStream), Bytes: len(m.Data())}
			if err := fn(dl, m); err != nil {
				return err
			}
			if md.NumPending == 0 {
				return nil
			}
		}
		if n == 0 {
			return nil
		}
	}
}

func listDLQ(ctx context.Context, js jetstream.JetStream, stage string, asJSON bool, w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if !asJSON {
		fmt.Fprintln(tw, "SEQ\tAT\tSTAGE\tSUBJECT\tREASON")
	}
	count := 0
	err := readDLQ(ctx, js, stage, func(dl *deadLetter, m jetstream.Msg) error {
		count++
		if asJSON {
			dl.Data = string(m.Data())
			return json.NewEncoder(w).Encode(dl)
		}
		reason := dl.Reason
		if len(reason) > 100 {
			reason = reason[:100] + "…"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", dl.Seq, dl.At.UTC().Format(time.RFC3339), dl.Stage, dl.OrigSubject, reason)
		return nil
	})
	if !asJSON {
		tw.Flush()
		fmt.Fprintf(w, "%d dead letter(s)\n", count)
	}
	return err
}

// redriveDLQ republishes dead letters to their original subject (with their original
// headers) and removes each from SB_DLQ once the republish is acknowledged.
func redriveDLQ(ctx context.Context, js jetstream.JetStream, stage string, only uint64) (int, error) {
	st, err := js.Stream(ctx, streams.StreamDeadLetter)
	if err != nil {
		return 0, err
	}
	n := 0
	err = readDLQ(ctx, js, stage, func(dl *deadLetter, m jetstream.Msg) error {
		if only != 0 && dl.Seq != only {
			return nil
		}
		if dl.OrigSubject == "" {
			return fmt.Errorf("dead letter %d has no original subject", dl.Seq)
		}
		h := nats.Header{}
		for k, v := range m.Headers() {
			if !strings.HasPrefix(k, "Sb-Orig-") && k != streams.HeaderStage && k != streams.HeaderReason {
				h[k] = v
			}
		}
		h.Set(streams.HeaderRedrive, strconv.FormatUint(dl.Seq, 10)) // a failed reply is sent again
		if _, err := js.PublishMsg(ctx, &nats.Msg{Subject: dl.OrigSubject, Header: h, Data: m.Data()}); err != nil {
			return fmt.Errorf("redrive %d: %w", dl.Seq, err)
		}
		if err := st.DeleteMsg(ctx, dl.Seq); err != nil {
			return fmt.Errorf("redrove %d but could not remove it from %s: %w", dl.Seq, streams.StreamDeadLetter, err)
		}
		n++
		return nil
	})
	if err == nil && only != 0 && n == 0 {
		err = errors.New("no such dead letter")
	}
	return n, err
}
