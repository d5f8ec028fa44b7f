package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/switchboardhq/switchboard/cmd/switchboard/app/apptest"
	"github.com/switchboardhq/switchboard/pipeline/streams"
)

func TestPoisonMessagesAreDeadLetteredAndRedriven(t *testing.T) {
	g := apptest.Start(t, apptest.DefaultConfig)
	ctx := context.Background()
	// Something no stage can decode, published where a connector would publish.
	poison := &nats.Msg{Subject: streams.InboundSubject("api", "demo", 1), Data: []byte("{not json"),
		Header: nats.Header{streams.HeaderKind: {streams.KindMessage}}}
	if _, err := g.JS.PublishMsg(ctx, poison); err != nil {
		t.Fatal(err)
	}
	g.PostAPI("fine-1", "ok@example.com", "the partition keeps going") // not blocked behind it
	g.Events("sb.conv.*.message", 1, 10*time.Second)

	var dls []deadLetter
	apptest.Eventually(t, 10*time.Second, func() error {
		var out bytes.Buffer
		if err := listDLQ(ctx, g.JS, "router", true, &out); err != nil {
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
	if dl.Stage != "router" || dl.OrigSubject != poison.Subject || !strings.Contains(dl.Reason, "undecodable") || dl.Data != "{not json" {
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
		_ = listDLQ(ctx, g.JS, "router", true, &out)
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

// TestFailedReplyIsDeadLetteredAndResent: a reply the channel refuses for good is kept in the
// dead-letter queue (its delivery event says where); redriving it after the cause is fixed
// sends it again, once, and its statuses start over (queued, then delivered) as resend 1.
func TestFailedReplyIsDeadLetteredAndResent(t *testing.T) {
	var refuse atomic.Bool
	refuse.Store(true)
	var delivered atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if refuse.Load() {
			http.Error(w, "no such ticket queue", http.StatusBadRequest) // permanent
			return
		}
		delivered.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	t.Setenv("DLQ_CALLBACK_SECRET", "whsec_"+base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef")))
	g := apptest.Start(t, apptest.DefaultConfig+`
      ops:
        token: {env: APPTEST_TOKEN}
        callback: {url: `+srv.URL+`, secret: {env: DLQ_CALLBACK_SECRET}}
`)
	ctx := context.Background()
	if st, body := g.Do("POST", "/v1/channels/api/ops/messages", apptest.Token,
		map[string]any{"external_id": "d1", "from": "dora@example.com", "text": "hello"}); st != http.StatusAccepted {
		t.Fatalf("post: %d %s", st, body)
	}
	conv := g.Events("sb.conv.*.opened", 1, 10*time.Second)[0].ConversationID
	if st, body := g.Do("POST", "/v1/conversations/"+conv+"/messages", apptest.Token, map[string]any{"text": "answer"}); st != http.StatusAccepted {
		t.Fatalf("reply: %d %s", st, body)
	}
	failed := g.Events("sb.conv."+conv+".delivery", 1, 10*time.Second)[0].Delivery
	if failed.Status != "failed" || failed.ErrorCode != "http_400" || failed.DeadLetter == 0 {
		t.Fatalf("failed delivery: %+v", failed)
	}
	var out bytes.Buffer
	if err := listDLQ(ctx, g.JS, "outbound", true, &out); err != nil || !strings.Contains(out.String(), `"stage":"outbound"`) ||
		!strings.Contains(out.String(), fmt.Sprintf(`"seq":%d`, failed.DeadLetter)) {
		t.Fatalf("dlq list: %v\n%s", err, out.String())
	}

	refuse.Store(false) // the helpdesk fixed its endpoint
	if n, err := redriveDLQ(ctx, g.JS, "outbound", failed.DeadLetter); err != nil || n != 1 {
		t.Fatalf("redrive: %d %v", n, err)
	}
	evs := g.Events("sb.conv."+conv+".delivery", 4, 15*time.Second) // failed, queued, sent (implied), delivered
	var got []string
	for _, e := range evs {
		got = append(got, fmt.Sprintf("%s/%d", e.Delivery.Status, e.Delivery.Resend))
	}
	if strings.Join(got, ",") != "failed/0,queued/1,sent/1,delivered/1" {
		t.Fatalf("delivery events %v", got)
	}
	time.Sleep(300 * time.Millisecond)
	if n := delivered.Load(); n != 1 {
		t.Fatalf("callback got the resent reply %d times, want 1", n)
	}
	out.Reset()
	if err := listDLQ(ctx, g.JS, "outbound", true, &out); err != nil || strings.TrimSpace(out.String()) != "" {
		t.Fatalf("dead letters left after the resend: %v %s", err, out.String())
	}
}
