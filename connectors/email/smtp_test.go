package email

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-message/mail"

	"github.com/switchboardhq/switchboard/configs/cfg"
	"github.com/switchboardhq/switchboard/connectors"
	"github.com/switchboardhq/switchboard/connectors/email/emailtest"
	"github.com/switchboardhq/switchboard/schema"
)

func senderFor(t *testing.T, e *env, acct *Account) connectors.Sender {
	t.Helper()
	c := New(Config{Accounts: map[string]*Account{"support": acct}}, e.host)
	c.now = func() time.Time { return time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC) }
	specs := c.Senders()
	if len(specs) != 1 || specs[0].Channel != schema.ChannelEmail || specs[0].Account != "support" || specs[0].Idempotent {
		t.Fatalf("sender specs %+v", specs)
	}
	return specs[0].Sender
}

func reply() *schema.Message {
	return &schema.Message{ID: "msg_0reply", ConversationID: "cnv_0conv", Channel: schema.ChannelEmail, Account: "support",
		Direction: schema.Outbound, To: []schema.Address{{Kind: "email", Value: "jane.doe@gmail.com", Name: "Jane Doe"}},
		Subject: "Order #4411 arrived damaged", Text: "We are sending a replacement today.", HTML: "<p>We are sending a replacement today.</p>",
		Thread: &schema.Thread{InReplyTo: []string{"CAKx8m2Pq=reply42@mail.gmail.com"},
			References: []string{"first@mail.gmail.com", "CAKx8m2Pq=reply42@mail.gmail.com"}}}
}

func TestReplyThreadsInMailClients(t *testing.T) {
	e := newEnv(t)
	sink := emailtest.StartSMTPSink(t)
	acct := testAccount(Server{Host: "127.0.0.1", TLS: "none", Password: cfg.NewSecret("x")})
	acct.ReplyTo = "help@example.com"
	acct.SMTP = &SMTP{Server: smtpServer(sink)}
	res, err := senderFor(t, e, acct).Send(context.Background(), reply())
	if err != nil {
		t.Fatal(err)
	}
	got := sink.Received()
	if len(got) != 1 || got[0].From != testUser || len(got[0].To) != 1 || got[0].To[0] != "jane.doe@gmail.com" {
		t.Fatalf("envelope %+v", got)
	}
	if sink.Auths()[0] != "PLAIN "+testUser+":smtp-pw" {
		t.Fatalf("auth %v", sink.Auths())
	}
	mr, err := mail.CreateReader(bytes.NewReader(got[0].Data))
	if err != nil {
		t.Fatal(err)
	}
	h := mr.Header
	id, _ := h.MessageID()
	irt, _ := h.MsgIDList("In-Reply-To")
	refs, _ := h.MsgIDList("References")
	subj, _ := h.Subject()
	from, _ := h.AddressList("From")
	rt, _ := h.AddressList("Reply-To")
	date, derr := h.Date()
	if id == "" || id != res.ExternalID || res.Status != schema.StatusSent {
		t.Fatalf("Message-ID %q, result %+v", id, res)
	}
	if msg, conv, ok := newSigner("s3cret-for-tests", testUser).verify(id); !ok || msg != "msg_0reply" || conv != "cnv_0conv" {
		t.Fatalf("our Message-ID %q does not verify", id)
	}
	if strings.Join(irt, ",") != "CAKx8m2Pq=reply42@mail.gmail.com" ||
		strings.Join(refs, ",") != "first@mail.gmail.com,CAKx8m2Pq=reply42@mail.gmail.com" {
		t.Fatalf("In-Reply-To %v References %v", irt, refs)
	}
	if subj != "Re: Order #4411 arrived damaged" || from[0].Address != testUser || from[0].Name != "Acme Support" ||
		rt[0].Address != "help@example.com" || derr != nil || !date.Equal(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)) {
		t.Fatalf("subject %q from %v reply-to %v date %v", subj, from, rt, date)
	}
	if ct, _, _ := h.ContentType(); ct != "multipart/alternative" {
		t.Fatalf("content type %q", ct)
	}
	var parts []string
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		ct, _, _ := p.Header.(*mail.InlineHeader).ContentType()
		body, _ := io.ReadAll(p.Body)
		parts = append(parts, ct+":"+string(body))
	}
	if len(parts) != 2 || parts[0] != "text/plain:We are sending a replacement today." || !strings.HasPrefix(parts[1], "text/html:<p>") {
		t.Fatalf("parts %q", parts)
	}
}

func TestReplySubjectAndRecipients(t *testing.T) {
	for in, want := range map[string]string{"Help": "Re: Help", "RE: Help": "RE: Help", "Aw: Hallo": "Aw: Hallo", "": "Re: your message", "Reboot": "Re: Reboot"} {
		if got := replySubject(in); got != want {
			t.Errorf("replySubject(%q) = %q, want %q", in, got, want)
		}
	}
	e := newEnv(t)
	m := reply()
	m.To = []schema.Address{{Kind: "email", Value: unknownSender}}
	_, err := compose(context.Background(), testAccount(Server{}), newSigner("k", testUser), e.host.Blobs, m, time.Now())
	var pe *connectors.PermanentError
	if !errors.As(err, &pe) || pe.Code != "no_recipient" {
		t.Fatalf("reply to an unknown sender: %v", err)
	}
}

func TestSMTPRefusalsAreClassified(t *testing.T) {
	e := newEnv(t)
	sink := emailtest.StartSMTPSink(t)
	acct := testAccount(Server{Host: "127.0.0.1", TLS: "none", Password: cfg.NewSecret("x")})
	acct.SMTP = &SMTP{Server: smtpServer(sink)}
	s := senderFor(t, e, acct)

	sink.RefuseRecipients(450)
	_, err := s.Send(context.Background(), reply())
	if _, temp := connectors.IsTemporary(err); !temp {
		t.Fatalf("450 must be retried: %v", err)
	}
	sink.RefuseRecipients(550)
	_, err = s.Send(context.Background(), reply())
	var pe *connectors.PermanentError
	if !errors.As(err, &pe) || pe.Code != "smtp_550" || !strings.Contains(pe.Message, "mailbox says no") {
		t.Fatalf("550 must fail permanently with its code: %v", err)
	}
	acct.SMTP.Password = cfg.NewSecret("wrong")
	_, err = senderFor(t, e, acct).Send(context.Background(), reply())
	if after, temp := connectors.IsTemporary(err); !temp || after == 0 || !errors.Is(err, errAuth) {
		t.Fatalf("refused login: %v", err)
	}
	acct.SMTP.Port = 1 // nothing listens
	_, err = senderFor(t, e, acct).Send(context.Background(), reply())
	if _, temp := connectors.IsTemporary(err); !temp {
		t.Fatalf("connection refused must be retried: %v", err)
	}
	if len(sink.Received()) != 0 {
		t.Fatal("a refused send was delivered")
	}
}

func TestReplyIsCopiedToSentFolder(t *testing.T) {
	e := newEnv(t)
	sink := emailtest.StartSMTPSink(t)
	srv := emailtest.StartMemIMAP(t, nil)
	if err := srv.User.Create("Sent", nil); err != nil {
		t.Fatal(err)
	}
	acct := testAccount(memServer(srv))
	acct.SMTP = &SMTP{Server: smtpServer(sink), SentFolder: "Sent"}
	res, err := senderFor(t, e, acct).Send(context.Background(), reply())
	if err != nil {
		t.Fatal(err)
	}
	c := dialTestIMAP(t, srv.Addr)
	sd, err := c.Select("Sent", nil).Wait()
	if err != nil || sd.NumMessages != 1 {
		t.Fatalf("Sent folder: %+v %v", sd, err)
	}
	bufs, err := c.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{Flags: true, Envelope: true}).Collect()
	if err != nil || len(bufs) != 1 || bufs[0].Envelope.MessageID != res.ExternalID || len(bufs[0].Flags) != 1 || bufs[0].Flags[0] != imap.FlagSeen {
		t.Fatalf("sent copy %+v %v", bufs, err)
	}
}

func TestReplyWithAttachment(t *testing.T) {
	e := newEnv(t)
	sink := emailtest.StartSMTPSink(t)
	ref, err := e.host.Blobs.Put(context.Background(), "att/reply/0", "application/pdf", strings.NewReader("%PDF-1.4 label"), 100)
	if err != nil {
		t.Fatal(err)
	}
	acct := testAccount(Server{Host: "127.0.0.1", TLS: "none", Password: cfg.NewSecret("x")})
	acct.SMTP = &SMTP{Server: smtpServer(sink)}
	m := reply()
	m.HTML = ""
	m.Attachments = []schema.Attachment{{Name: "return label.pdf", Key: ref.Key}}
	if _, err := senderFor(t, e, acct).Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	mr, err := mail.CreateReader(bytes.NewReader(sink.Received()[0].Data))
	if err != nil {
		t.Fatal(err)
	}
	if ct, _, _ := mr.Header.ContentType(); ct != "multipart/mixed" {
		t.Fatalf("content type %q", ct)
	}
	var got []string
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(p.Body)
		switch h := p.Header.(type) {
		case *mail.InlineHeader:
			got = append(got, "inline:"+string(body))
		case *mail.AttachmentHeader:
			name, _ := h.Filename()
			ct, _, _ := h.ContentType()
			got = append(got, "attachment:"+name+":"+ct+":"+string(body))
		}
	}
	want := []string{"inline:We are sending a replacement today.", "attachment:return label.pdf:application/pdf:%PDF-1.4 label"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("parts %q", got)
	}
}

// TestReplyThroughARelayWithoutAuth: auth: none submits to an internal relay without logging
// in, even where the server offers AUTH (after STARTTLS here), and no credential is sent.
func TestReplyThroughARelayWithoutAuth(t *testing.T) {
	e := newEnv(t)
	sink := emailtest.StartSMTPSink(t)
	for _, tlsMode := range []string{"starttls", "none"} {
		acct := testAccount(Server{Host: "127.0.0.1", TLS: "none", Password: cfg.NewSecret("x")})
		srv := smtpServer(sink)
		srv.TLS, srv.Auth, srv.Password = tlsMode, "none", cfg.Secret{}
		acct.SMTP = &SMTP{Server: srv}
		if _, err := senderFor(t, e, acct).Send(context.Background(), reply()); err != nil {
			t.Fatalf("tls %s: %v", tlsMode, err)
		}
	}
	if n := len(sink.Received()); n != 2 {
		t.Fatalf("relay received %d mails, want 2", n)
	}
	if a := sink.Auths(); len(a) != 0 {
		t.Fatalf("auth: none sent credentials: %v", a)
	}
}

func TestRelayConfig(t *testing.T) {
	t.Setenv("PW", "x")
	ok := `
email:
  accounts:
    support:
      address: support@example.com
      message_id_secret: {env: PW}
      imap: {host: imap.example.com, password: {env: PW}}
      smtp: {host: relay.internal, port: 25, tls: none, auth: none}
`
	var w wrapper
	if _, err := cfg.Decode("t.yaml", []byte(ok), &w); err != nil {
		t.Fatalf("an unauthenticated relay on port 25 was refused: %v", err)
	}
	for bad, want := range map[string]string{
		strings.Replace(ok, "auth: none}", "auth: none, password: {env: PW}}", 1):                                                   "smtp.password: is not used with auth: none",
		strings.Replace(ok, "tls: none, auth: none}", "tls: none, password: {env: PW}}", 1):                                         "tls: none is allowed only for loopback",
		strings.Replace(ok, "imap: {host: imap.example.com, password: {env: PW}}", "imap: {host: imap.example.com, auth: none}", 1): "imap.auth: none is only for SMTP relays",
	} {
		var w wrapper
		_, err := cfg.Decode("t.yaml", []byte(bad), &w)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want %q, got %v", want, err)
		}
	}
}
