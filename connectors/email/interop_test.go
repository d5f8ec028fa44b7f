package email

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/switchboardhq/switchboard/connectors/email/emailtest"
	"github.com/switchboardhq/switchboard/schema"
)

// TestDovecotInterop runs the connector against a real Dovecot: backlog, IDLE, attachments,
// malformed mail, \Seen after ingest, a reconnect, and the Sent-folder copy of a reply.
func TestDovecotInterop(t *testing.T) {
	d := emailtest.StartDovecot(t)
	e := newEnv(t)
	lmtp := d.LMTPClient(t)
	attach, _ := os.ReadFile("testdata/attachments.eml")
	broken, _ := os.ReadFile("testdata/malformed.eml")
	emailtest.DeliverLMTP(t, lmtp, rfc822("Jane <jane@example.org>", "d1@example.org", "Backlog", "Waiting since yesterday."))
	emailtest.DeliverLMTP(t, lmtp, string(attach))
	emailtest.DeliverLMTP(t, lmtp, string(broken))

	acct := testAccount(dovecotServer(d))
	acct.IMAP.AfterIngest = "seen"
	stop := run(t, newConnector(e, acct))
	got := bySubject(e.waitInbound(3, 15*time.Second))
	msgs := []*schema.Message{got["Backlog"], got["Screenshot and invoice"], got["Broken but readable"]}
	if msgs[0] == nil || msgs[1] == nil || msgs[2] == nil {
		t.Fatalf("messages: %v", got)
	}
	if msgs[0].Subject != "Backlog" || msgs[0].From.Value != "jane@example.org" || msgs[0].StrippedText != "Waiting since yesterday." {
		t.Fatalf("first: %+v", msgs[0])
	}
	if len(msgs[1].Attachments) != 2 || msgs[1].Attachments[1].Name != "发票 2026.pdf" || msgs[1].Attachments[1].Key == "" {
		t.Fatalf("attachments through Dovecot: %+v", msgs[1].Attachments)
	}
	if msgs[2].Subject != "Broken but readable" || len(msgs[2].Problems) == 0 {
		t.Fatalf("malformed: %+v", msgs[2])
	}
	if raw := string(e.blob(msgs[0].RawRef.Key)); !strings.Contains(raw, "Return-Path: <sender@example.org>") || !strings.Contains(raw, "Waiting since yesterday.") {
		t.Fatalf("raw copy is not what Dovecot stored:\n%s", raw)
	}

	sent := time.Now()
	emailtest.DeliverLMTP(t, lmtp, rfc822("jane@example.org", "d4@example.org", "During IDLE", "New."))
	msgs = e.waitInbound(4, 5*time.Second)
	t.Logf("LMTP delivery to publish during IDLE: %v", time.Since(sent))
	if msgs[3].Subject != "During IDLE" {
		t.Fatalf("fourth: %q", msgs[3].Subject)
	}
	stop()

	// Restart: the cursor resumes, nothing is ingested twice.
	emailtest.DeliverLMTP(t, lmtp, rfc822("jane@example.org", "d5@example.org", "After restart", "x"))
	run(t, newConnector(e, acct))
	e.waitInbound(5, 10*time.Second)
	time.Sleep(300 * time.Millisecond)
	if n := len(e.inbound()); n != 5 {
		t.Fatalf("%d messages after restart, want 5", n)
	}

	c := dialIMAP(t, d)
	if _, err := c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		t.Fatal(err)
	}
	data, err := c.UIDSearch(&imap.SearchCriteria{NotFlag: []imap.Flag{imap.FlagSeen}}, nil).Wait()
	if err != nil || len(data.AllUIDs()) > 1 { // the last one may still be in flight
		t.Fatalf("unseen after ingest: %v %v", data.AllUIDs(), err)
	}
}

func TestDovecotSentFolderCopy(t *testing.T) {
	d := emailtest.StartDovecot(t)
	e := newEnv(t)
	sink := emailtest.StartSMTPSink(t)
	c := dialIMAP(t, d)
	if err := c.Create("Sent", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	acct := testAccount(dovecotServer(d))
	acct.SMTP = &SMTP{Server: smtpServer(sink), SentFolder: "Sent"}
	res, err := senderFor(t, e, acct).Send(context.Background(), reply())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select("Sent", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	bufs, err := c.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{Envelope: true, Flags: true}).Collect()
	if err != nil || len(bufs) != 1 || bufs[0].Envelope.MessageID != res.ExternalID ||
		bufs[0].Envelope.InReplyTo[0] != "CAKx8m2Pq=reply42@mail.gmail.com" {
		t.Fatalf("Sent copy in Dovecot: %+v %v", bufs, err)
	}
}

func dialIMAP(t *testing.T, d *emailtest.Dovecot) *imapclient.Client {
	t.Helper()
	return dialTestIMAPWith(t, d.IMAP, testUser, emailtest.DovecotPassword)
}
