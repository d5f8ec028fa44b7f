package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/switchboardhq/switchboard/cmd/switchboard/app/apptest"
	"github.com/switchboardhq/switchboard/pipeline"
)

func TestPoisonMessagesAreDeadLetteredAndRedriven(t *testing.T) {
	g := apptest.Start(t, apptest.DefaultConfig)
	ctx := context.Background()
	// Something no stage can decode, published where a connector would publish.
	poison := &nats.Msg{Subject: pipeline.InboundSubject("api", "demo", 1), Data: []byte("{not json"),
		Header: nats.Header{pipeline.HeaderKind: {pipeline.KindMessage}}}
	if _, err := g.JS.PublishMsg(ctx, poison); err != nil {
		t.Fatal(err)
	}
	g.PostAPI("fine-1", "ok@example.com", "the partition keeps going") // not blocked behind it
	g.Events("sb.conv.*.message", 1, 10*time.Second)

	var dls []deadLetter
	apptest.Eventually(t, 10*time.Second, func() error {
		var out bytes.Buffer
		if err := listDLQ(ctx, g.JS, "ingest", true, &out); err != nil {
			return err
		}
		dls = nil
		for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
			var dl deadLetter
			if json.Unmarshal([]byte(line), &dl) == nil {
				dls = append(dls, dl)
			}
		}
		if len(dls) != 1 {
			return fmt.Errorf("%d dead letters: %s", len(dls), out.String())
		}
		return nil
	})
	dl := dls[0]
	if dl.Stage != "ingest" || dl.OrigSubject != poison.Subject || !strings.Contains(dl.Reason, "undecodable") || dl.Data != "{not json" {
		t.Fatalf("dead letter: %+v", dl)
	}
	var table bytes.Buffer
	if err := listDLQ(ctx, g.JS, "", false, &table); err != nil || !strings.Contains(table.String(), "1 dead letter(s)") {
		t.Fatalf("table: %v\n%s", err, table.String())
	}

	// Redriving puts it back on its subject; still undecodable, it returns as a new dead letter.
	n, err := redriveDLQ(ctx, g.JS, "", dl.Seq)
	if err != nil || n != 1 {
		t.Fatalf("redrive: %d %v", n, err)
	}
	apptest.Eventually(t, 10*time.Second, func() error {
		var out bytes.Buffer
		_ = listDLQ(ctx, g.JS, "ingest", true, &out)
		var again deadLetter
		_ = json.Unmarshal(out.Bytes(), &again)
		if strings.Count(out.String(), "\n") != 1 || again.Seq == dl.Seq {
			return fmt.Errorf("after redrive: %s", out.String())
		}
		return nil
	})
	if _, err := redriveDLQ(ctx, g.JS, "", dl.Seq); err == nil {
		t.Fatal("redriving a removed dead letter succeeded")
	}
}
