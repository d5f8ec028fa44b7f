package email

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/switchboardhq/switchboard/configs/cfg"
	"github.com/switchboardhq/switchboard/connectors"
	"github.com/switchboardhq/switchboard/connectors/email/emailtest"
	"github.com/switchboardhq/switchboard/pipeline/kernel"
	"github.com/switchboardhq/switchboard/schema"
)

func newConnector(e *env, acct *Account) *Connector {
	return New(Config{Accounts: map[string]*Account{"support": acct}}, e.host)
}

func loadCursor(t *testing.T, e *env, folder string) *cursor {
	t.Helper()
	c, err := newCursorStore(e.host.State, "support", folder).load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestBacklogThenNewMailDuringIdle(t *testing.T) {
	e := newEnv(t)
	srv := emailtest.StartMemIMAP(t, nil)
	raws := []string{
		rfc822("Alice <Alice@Example.com>", "a1@example.com", "Printer on fire", "It is on fire."),
		rfc822("bob@example.org", "b1@example.org", "Invoice", "Where is my invoice?"),
	}
	for _, r := range raws {
		srv.Deliver(t, "INBOX", r)
	}
	acct := testAccount(memServer(srv))
	acct.IMAP.PollInterval = cfg.Duration(time.Minute) // only IDLE can bring the next one quickly
	run(t, newConnector(e, acct))

	m := bySubject(e.waitInbound(2, 10*time.Second))["Printer on fire"]
	if m.From != (schema.Address{Kind: "email", Value: "alice@example.com", Name: "Alice"}) || m.Subject != "Printer on fire" ||
		m.Text != "It is on fire.\r\n" && m.Text != "It is on fire.\n" || m.StrippedText != "It is on fire." {
		t.Fatalf("first message: %+v", m)
	}
	if m.Channel != schema.ChannelEmail || m.Account != "support" || m.Thread == nil || m.Thread.MessageID != "a1@example.com" ||
		!strings.HasPrefix(m.ExternalID, "mid:a1@example.com:") || m.Kind != schema.KindMessage {
		t.Fatalf("ids and thread: %+v %+v", m, m.Thread)
	}
	if m.RawRef == nil || string(e.blob(m.RawRef.Key)) != raws[0] {
		t.Fatalf("raw message not stored byte for byte: %+v", m.RawRef)
	}
	if m.Metadata["email.uid"] != "1" || m.Metadata["email.folder"] != "INBOX" {
		t.Fatalf("metadata %v", m.Metadata)
	}

	sent := time.Now()
	srv.Deliver(t, "INBOX", rfc822("carol@example.net", "c1@example.net", "Hello", "New mail while idling."))
	if bySubject(e.waitInbound(3, 10*time.Second))["Hello"] == nil { // well under the minute of polling
		t.Fatal("the message delivered during IDLE is missing")
	}
	t.Logf("IDLE pickup took %v", time.Since(sent))
	if c := loadCursor(t, e, "INBOX"); c.LastUID != 3 || c.UIDValidity == 0 {
		t.Fatalf("cursor %+v", c)
	}
}

func TestReconnectAfterServerOutage(t *testing.T) {
	e := newEnv(t)
	srv := emailtest.StartMemIMAP(t, nil)
	srv.Deliver(t, "INBOX", rfc822("a@example.com", "r1@example.com", "one", "1"))
	run(t, newConnector(e, testAccount(memServer(srv))))
	e.waitInbound(1, 10*time.Second)

	srv.Restart(t, 200*time.Millisecond) // every connection dropped
	srv.Deliver(t, "INBOX", rfc822("a@example.com", "r2@example.com", "two", "2"))
	msgs := e.waitInbound(2, 10*time.Second)
	time.Sleep(500 * time.Millisecond) // a duplicate would have arrived by now
	if msgs = e.inbound(); len(msgs) != 2 || msgs[1].Subject != "two" {
		t.Fatalf("after reconnect: %d messages", len(msgs))
	}
}

func TestRestartResumesFromCursor(t *testing.T) {
	e := newEnv(t)
	srv := emailtest.StartMemIMAP(t, nil)
	for i := range 3 {
		srv.Deliver(t, "INBOX", rfc822("a@example.com", fmt.Sprintf("s%d@example.com", i), fmt.Sprint(i), "x"))
	}
	stop := run(t, newConnector(e, testAccount(memServer(srv))))
	e.waitInbound(3, 10*time.Second)
	stop()
	srv.Deliver(t, "INBOX", rfc822("a@example.com", "s3@example.com", "3", "x"))
	run(t, newConnector(e, testAccount(memServer(srv))))
	e.exactlyOnceInOrder(4, 10*time.Second)
}

func TestUIDValidityChangeRescansWithoutDuplicates(t *testing.T) {
	e := newEnv(t)
	srv := emailtest.StartMemIMAP(t, nil)
	a := rfc822("a@example.com", "v1@example.com", "A", "first")
	b := "From: b@example.com\r\nSubject: B without Message-ID\r\n\r\nsecond\r\n"
	srv.Deliver(t, "INBOX", a)
	srv.Deliver(t, "INBOX", b)
	run(t, newConnector(e, testAccount(memServer(srv))))
	e.waitInbound(2, 10*time.Second)
	before := loadCursor(t, e, "INBOX")

	// The server rebuilds the folder: new UIDVALIDITY, the same messages plus a new one.
	if err := srv.User.Delete("INBOX"); err != nil {
		t.Fatal(err)
	}
	if err := srv.User.Create("INBOX", nil); err != nil {
		t.Fatal(err)
	}
	srv.Deliver(t, "INBOX", b)
	srv.Deliver(t, "INBOX", a)
	srv.Deliver(t, "INBOX", rfc822("c@example.com", "v3@example.com", "C", "third"))
	msgs := e.waitInbound(3, 10*time.Second)
	deadline := time.Now().Add(5 * time.Second)
	for loadCursor(t, e, "INBOX").LastUID != 3 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	after := loadCursor(t, e, "INBOX")
	if after.UIDValidity == before.UIDValidity || after.LastUID != 3 {
		t.Fatalf("cursor before %+v after %+v", before, after)
	}
	if msgs = e.inbound(); len(msgs) != 3 || msgs[2].Subject != "C" {
		t.Fatalf("%d messages after the UIDVALIDITY change, want 3", len(msgs))
	}
}

func TestLeaseFailover(t *testing.T) {
	e := newEnv(t)
	srv := emailtest.StartMemIMAP(t, nil)
	acct := testAccount(memServer(srv))
	hostA, ncA := e.instance("instance-a")
	hostB, _ := e.instance("instance-b")
	accts := Config{Accounts: map[string]*Account{"support": acct}}
	run(t, New(accts, hostA))
	time.Sleep(300 * time.Millisecond) // a holds the lease
	run(t, New(accts, hostB))
	for i := range 5 {
		srv.Deliver(t, "INBOX", rfc822("a@example.com", fmt.Sprintf("l%d@example.com", i), fmt.Sprint(i), "x"))
	}
	e.waitInbound(5, 10*time.Second)

	ncA.Close() // instance a dies: no renewal, no release; its lease expires after the TTL
	for i := 5; i < 8; i++ {
		srv.Deliver(t, "INBOX", rfc822("a@example.com", fmt.Sprintf("l%d@example.com", i), fmt.Sprint(i), "x"))
	}
	e.exactlyOnceInOrder(8, 20*time.Second)
}

func TestPollingWithoutIdleAndMarkSeen(t *testing.T) {
	e := newEnv(t)
	srv := emailtest.StartMemIMAP(t, nil)
	acct := testAccount(memServer(srv))
	off := false
	acct.IMAP.IDLE = &off
	acct.IMAP.AfterIngest = "seen"
	run(t, newConnector(e, acct))
	srv.Deliver(t, "INBOX", rfc822("a@example.com", "p1@example.com", "poll", "x"))
	e.waitInbound(1, 5*time.Second)

	c := dialTestIMAP(t, srv.Addr)
	if _, err := c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		bufs, err := c.Fetch(imap.UIDSetNum(1), &imap.FetchOptions{Flags: true}).Collect()
		if err != nil {
			t.Fatal(err)
		}
		if len(bufs) == 1 && len(bufs[0].Flags) == 1 && bufs[0].Flags[0] == imap.FlagSeen {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("flags after ingest: %+v", bufs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// exactlyOnceInOrder waits for n messages of one sender, subjects "0".."n-1", and checks
// that no duplicate follows.
func (e *env) exactlyOnceInOrder(n int, timeout time.Duration) {
	e.t.Helper()
	e.waitInbound(n, timeout)
	time.Sleep(400 * time.Millisecond) // a duplicate would have arrived by now
	msgs := e.inbound()
	if len(msgs) != n {
		e.t.Fatalf("%d messages, want %d exactly once", len(msgs), n)
	}
	for i, m := range msgs {
		if m.Subject != fmt.Sprint(i) {
			e.t.Fatalf("message %d has subject %q: order or duplicates wrong", i, m.Subject)
		}
	}
}

func dialTestIMAP(t *testing.T, addr string) *imapclient.Client {
	t.Helper()
	return dialTestIMAPWith(t, addr, testUser, testPass)
}

func dialTestIMAPWith(t *testing.T, addr, user, pass string) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Login(user, pass).Wait(); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestMoveAfterIngest(t *testing.T) {
	e := newEnv(t)
	srv := emailtest.StartMemIMAP(t, nil)
	if err := srv.User.Create("Processed", nil); err != nil {
		t.Fatal(err)
	}
	srv.Deliver(t, "INBOX", rfc822("a@example.com", "m1@example.com", "move me", "x"))
	acct := testAccount(memServer(srv))
	acct.IMAP.AfterIngest, acct.IMAP.MoveTo = "move", "Processed"
	run(t, newConnector(e, acct))
	e.waitInbound(1, 5*time.Second)
	c := dialTestIMAP(t, srv.Addr)
	deadline := time.Now().Add(5 * time.Second)
	for {
		in, err1 := c.Status("INBOX", &imap.StatusOptions{NumMessages: true}).Wait()
		done, err2 := c.Status("Processed", &imap.StatusOptions{NumMessages: true}).Wait()
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if *in.NumMessages == 0 && *done.NumMessages == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("INBOX %d, Processed %d after ingest", *in.NumMessages, *done.NumMessages)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestSecretsStayOutOfLogsAndErrors(t *testing.T) {
	e := newEnv(t)
	core, logs := observer.New(zap.DebugLevel)
	e.host.Logger = zap.New(core)
	srv := emailtest.StartMemIMAP(t, nil)
	acct := testAccount(memServer(srv))
	acct.IMAP.Password = cfg.NewSecret("wrong-password-42")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		connectors.Supervise(ctx, newConnector(e, acct).Sources()[0], connectors.SuperviseOptions{
			Backoff: kernel.Backoff{Min: 50 * time.Millisecond, Max: 100 * time.Millisecond}, Logger: e.host.Logger})
	}()
	// Let it be refused a few times (on a loaded machine a dial can time out in between:
	// that is logged too, as what it is).
	refused := func() int {
		n := 0
		for _, entry := range logs.All() {
			if strings.Contains(entry.Message+fmt.Sprint(entry.ContextMap()), "authentication failed") {
				n++
			}
		}
		return n
	}
	for deadline := time.Now().Add(20 * time.Second); refused() < 3; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("a refused login was not logged as such after 20s: %d lines: %v", logs.Len(), logs.All())
		}
	}
	cancel()
	<-done
	for _, entry := range logs.All() {
		line := entry.Message + fmt.Sprint(entry.ContextMap())
		if strings.Contains(line, "wrong-password-42") {
			t.Fatalf("the password leaked into a log line: %s", line)
		}
	}
	if s := fmt.Sprintf("%v %+v %#v", acct.IMAP.Password, acct.IMAP, acct.IMAP.Password); strings.Contains(s, "wrong-password-42") {
		t.Fatalf("the password renders: %s", s)
	}
}

func TestIMAPOverTLS(t *testing.T) {
	for _, mode := range []string{"implicit", "starttls"} {
		t.Run(mode, func(t *testing.T) {
			e := newEnv(t)
			srv := emailtest.StartMemIMAPTLS(t, mode)
			srv.Deliver(t, "INBOX", rfc822("a@example.com", "tls-"+mode+"@example.com", "over "+mode, "x"))
			acct := testAccount(memServer(srv))
			acct.IMAP.TLS = mode

			// The self-signed certificate is refused unless verification is turned off.
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			err := newConnector(e, acct).Sources()[0].Source.Run(ctx)
			if err == nil || !strings.Contains(err.Error(), "certificate") {
				t.Fatalf("an unverifiable certificate was accepted: %v", err)
			}
			acct.IMAP.InsecureSkipVerify = true
			run(t, newConnector(e, acct))
			if m := e.waitInbound(1, 10*time.Second)[0]; m.Subject != "over "+mode {
				t.Fatalf("subject %q", m.Subject)
			}
		})
	}
}

// A rebuilt folder can hold years of mail: a rescan leaves out what arrived more than
// imap.rescan_window before the newest mail the connector had seen (the gateway would not
// recognize it as seen any more), reads the rest, and its cursor passes both.
func TestUIDValidityRescanLeavesOutOldMail(t *testing.T) {
	e := newEnv(t)
	srv := emailtest.StartMemIMAP(t, nil)
	srv.Deliver(t, "INBOX", rfc822("x@example.com", "w1@example.com", "X", "recent"))
	run(t, newConnector(e, testAccount(memServer(srv))))
	e.waitInbound(1, 10*time.Second)

	if err := srv.User.Delete("INBOX"); err != nil {
		t.Fatal(err)
	}
	if err := srv.User.Create("INBOX", nil); err != nil {
		t.Fatal(err)
	}
	srv.DeliverAt(t, "INBOX", rfc822("old@example.com", "w0@example.com", "OLD", "from two months ago"), time.Now().Add(-60*24*time.Hour))
	srv.Deliver(t, "INBOX", rfc822("x@example.com", "w1@example.com", "X", "recent"))
	srv.Deliver(t, "INBOX", rfc822("c@example.com", "w3@example.com", "C", "new"))
	e.waitInbound(2, 10*time.Second)
	deadline := time.Now().Add(5 * time.Second)
	for loadCursor(t, e, "INBOX").LastUID != 3 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if c := loadCursor(t, e, "INBOX"); c.LastUID != 3 || c.RescanThrough != 3 {
		t.Fatalf("cursor %+v", c)
	}
	time.Sleep(300 * time.Millisecond)
	var subjects []string
	for _, m := range e.inbound() {
		subjects = append(subjects, m.Subject)
	}
	if fmt.Sprint(subjects) != "[X C]" {
		t.Fatalf("ingested %v, want [X C]: the two-month-old mail of the rebuilt folder is left out", subjects)
	}
}
