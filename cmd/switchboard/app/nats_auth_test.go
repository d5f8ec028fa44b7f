package app_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchboardhq/switchboard/cmd/switchboard/app/apptest"
	"github.com/switchboardhq/switchboard/pipeline"
	"github.com/switchboardhq/switchboard/pipeline/streams"
)

// TestEmbeddedNATSRefusesStrangers: the embedded server's listener requires a login by
// default. A client without one cannot even connect; a helpdesk's least-privilege login reads
// the conversation stream through its own durable consumer but can neither publish into
// SB_INBOUND or SB_CONVERSATIONS nor delete a stream. Nothing forged lands.
func TestEmbeddedNATSRefusesStrangers(t *testing.T) {
	g := apptest.Start(t, apptest.DefaultConfig)
	g.PostAPI("auth-1", "alice@example.com", "hello")
	g.Events("sb.conv.*.message", 1, 10*time.Second)

	if _, err := nats.Connect(g.App.NATSURL(), nats.MaxReconnects(0)); !errors.Is(err, nats.ErrAuthorization) {
		t.Fatalf("anonymous connect: %v, want an authorization error", err)
	}
	if _, err := nats.Connect(g.App.NATSURL(), nats.UserInfo("switchboard", "wrong"), nats.MaxReconnects(0)); !errors.Is(err, nats.ErrAuthorization) {
		t.Fatalf("wrong password: %v, want an authorization error", err)
	}

	auth, err := pipeline.LoadAuth(g.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(filepath.Join(g.DataDir, pipeline.AuthFile)); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("credentials file: %v %v, want mode 0600", st.Mode(), err)
	}
	nc, err := nats.Connect(g.App.NATSURL(), auth.Helpdesk.Option())
	if err != nil {
		t.Fatalf("helpdesk login: %v", err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	// What a helpdesk may do: its own durable consumer on the conversation stream.
	cons, err := js.CreateOrUpdateConsumer(ctx, streams.StreamConversations, jetstream.ConsumerConfig{
		Durable: "helpdesk-a", AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		t.Fatalf("helpdesk durable consumer: %v", err)
	}
	batch, err := cons.Fetch(1, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	got := 0
	for m := range batch.Messages() {
		if err := m.Ack(); err != nil {
			t.Fatalf("ack: %v", err)
		}
		got++
	}
	if got != 1 {
		t.Fatalf("helpdesk read %d events, want 1 (%v)", got, batch.Error())
	}

	inBefore := g.StreamCount(streams.StreamInbound, "")
	convBefore := g.StreamCount(streams.StreamConversations, "")
	forged := []byte(`{"type":"message","text":"forged"}`)
	short := func() (context.Context, context.CancelFunc) { return context.WithTimeout(ctx, 2*time.Second) }
	for _, subj := range []string{"sb.in.api.demo.0", "sb.conv.cv_forged.message"} {
		pctx, pcancel := short()
		if _, err := js.Publish(pctx, subj, forged); err == nil {
			t.Errorf("helpdesk publish to %s was accepted", subj)
		}
		pcancel()
		_ = nc.Publish(subj, forged) // a plain publish: the server drops it
	}
	dctx, dcancel := short()
	if err := js.DeleteStream(dctx, streams.StreamConversations); err == nil {
		t.Error("helpdesk deleted SB_CONVERSATIONS")
	}
	dcancel()
	dctx, dcancel = short()
	if _, err := js.KeyValue(dctx, "sb_state"); err == nil {
		t.Error("helpdesk opened a KV bucket")
	}
	dcancel()
	_ = nc.Flush()

	// The gateway's own connection sees the streams unchanged.
	time.Sleep(200 * time.Millisecond)
	if n := g.StreamCount(streams.StreamInbound, ""); n != inBefore {
		t.Errorf("SB_INBOUND grew from %d to %d", inBefore, n)
	}
	if n := g.StreamCount(streams.StreamConversations, ""); n != convBefore {
		t.Errorf("SB_CONVERSATIONS grew from %d to %d", convBefore, n)
	}
	if _, err := g.JS.Stream(ctx, streams.StreamConversations); err != nil {
		t.Errorf("SB_CONVERSATIONS after the delete attempt: %v", err)
	}
}

// TestEmbeddedNATSCredentialsSurviveRestart: the generated logins are made once and kept, so
// helpdesks configured with them keep working after a restart.
func TestEmbeddedNATSCredentialsSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	g := apptest.Start(t, apptest.DefaultConfig, apptest.Options{DataDir: dir})
	first, err := pipeline.LoadAuth(dir)
	if err != nil {
		t.Fatal(err)
	}
	g.Stop()
	g = apptest.Start(t, apptest.DefaultConfig, apptest.Options{DataDir: dir})
	second, err := pipeline.LoadAuth(dir)
	if err != nil {
		t.Fatal(err)
	}
	if *first != *second || first.Gateway.Password == "" || first.Helpdesk.Password == first.Gateway.Password {
		t.Fatalf("credentials changed or are weak: %+v then %+v", first, second)
	}
	nc, err := nats.Connect(g.App.NATSURL(), second.Helpdesk.Option())
	if err != nil {
		t.Fatalf("helpdesk login after restart: %v", err)
	}
	nc.Close()
}

// TestEmbeddedNATSAnonymousOptOut: `auth: none` is the explicit development opt-out.
func TestEmbeddedNATSAnonymousOptOut(t *testing.T) {
	g := apptest.Start(t, apptest.DefaultConfig+"nats: {embedded: {auth: none}}\n")
	nc, err := nats.Connect(g.App.NATSURL())
	if err != nil {
		t.Fatalf("anonymous connect with auth: none: %v", err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := js.Stream(ctx, streams.StreamInbound); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(g.DataDir, pipeline.AuthFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("auth: none wrote credentials: %v", err)
	}
}
