package email_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"

	"github.com/switchboardhq/switchboard/cmd/switchboard/app"
	"github.com/switchboardhq/switchboard/cmd/switchboard/app/apptest"
	"github.com/switchboardhq/switchboard/connectors/email/emailtest"
	"github.com/switchboardhq/switchboard/schema"
)

// gatewayConfig is apptest's default config plus an email account reading imapAddr and
// sending through smtpAddr.
func gatewayConfig(t testing.TB, imapAddr, smtpAddr string, password string) string {
	t.Setenv("E2E_IMAP_PASSWORD", password)
	t.Setenv("E2E_SMTP_PASSWORD", emailtest.SMTPPassword)
	t.Setenv("E2E_MESSAGE_ID_SECRET", "e2e-secret")
	ih, ip, _ := net.SplitHostPort(imapAddr)
	sh, sp, _ := net.SplitHostPort(smtpAddr)
	return apptest.DefaultConfig + fmt.Sprintf(`  email:
    accounts:
      support:
        address: %s
        name: Acme Support
        message_id_secret: {env: E2E_MESSAGE_ID_SECRET}
        imap:
          host: %s
          port: %s
          tls: none
          password: {env: E2E_IMAP_PASSWORD}
          poll_interval: 2s
        smtp:
          host: %s
          port: %s
          tls: starttls
          insecure_skip_verify: true
          password: {env: E2E_SMTP_PASSWORD}
`, emailtest.User, ih, ip, sh, sp)
}

func customerMail(id, inReplyTo, subject, body string) string {
	h := "From: Jane Doe <jane@example.org>\r\nTo: " + emailtest.User + "\r\nSubject: " + subject + "\r\nMessage-ID: <" + id + ">\r\n" +
		"Date: Mon, 23 Nov 2026 10:00:00 +0000\r\n"
	if inReplyTo != "" {
		h += "In-Reply-To: <" + inReplyTo + ">\r\nReferences: <first@example.org> <" + inReplyTo + ">\r\n"
	}
	return h + "Content-Type: text/plain; charset=utf-8\r\n\r\n" + body + "\r\n"
}

// TestEmailThroughTheGateway: mail in an IMAP folder becomes conversation events; an agent's
// reply leaves by SMTP threaded under it; the customer's answer comes back into the same
// conversation, recognised by our Message-ID.
func TestEmailThroughTheGateway(t *testing.T) {
	imapSrv := emailtest.StartMemIMAP(t, nil)
	sink := emailtest.StartSMTPSink(t)
	imapSrv.Deliver(t, "INBOX", customerMail("first@example.org", "", "Order #4411 arrived damaged",
		"The box was crushed.\n\n-- \nJane"))
	g := apptest.Start(t, gatewayConfig(t, imapSrv.Addr, sink.Addr, emailtest.Password))

	evs := g.Events("sb.conv.>", 2, 15*time.Second)
	if evs[0].Type != schema.EventOpened || evs[1].Type != schema.EventMessage {
		t.Fatalf("events:\n%s", apptest.Sprint(evs))
	}
	in := evs[1].Message
	if in.Channel != schema.ChannelEmail || in.From.Value != "jane@example.org" || in.Subject != "Order #4411 arrived damaged" ||
		in.StrippedText != "The box was crushed." || in.RawRef == nil {
		t.Fatalf("inbound message event: %+v", in)
	}
	conv := evs[0].ConversationID

	status, body := g.Do("POST", "/v1/conversations/"+conv+"/messages", apptest.Token,
		map[string]any{"text": "A replacement is on its way."})
	if status != 202 {
		t.Fatalf("reply: %d %s", status, body)
	}
	var replied struct{ ID string }
	_ = json.Unmarshal(body, &replied)
	apptest.Eventually(t, 10*time.Second, func() error {
		if n := len(sink.Received()); n != 1 {
			return fmt.Errorf("%d mails at the SMTP server", n)
		}
		return nil
	})
	sent := sink.Received()[0]
	h := headerOf(t, sent.Data)
	ourID, _ := h.MessageID()
	irt, _ := h.MsgIDList("In-Reply-To")
	subj, _ := h.Subject()
	if len(irt) != 1 || irt[0] != "first@example.org" || subj != "Re: Order #4411 arrived damaged" ||
		!strings.HasPrefix(ourID, replied.ID+"."+conv+".") || sent.To[0] != "jane@example.org" {
		t.Fatalf("reply headers: Message-ID %q In-Reply-To %v Subject %q to %v", ourID, irt, subj, sent.To)
	}
	delivery := g.Events("sb.conv."+conv+".delivery", 1, 10*time.Second)[0].Delivery
	if delivery.Status != schema.StatusSent || delivery.ExternalID != ourID || delivery.MessageID != replied.ID {
		t.Fatalf("delivery event %+v", delivery)
	}

	// A bounce of the reply turns its delivery status to undelivered.
	imapSrv.Deliver(t, "INBOX", bounceOf(ourID))
	undelivered := g.Events("sb.conv."+conv+".delivery", 2, 15*time.Second)[1].Delivery
	if undelivered.Status != schema.StatusUndelivered || undelivered.ErrorCode != "bounce_5.1.1" || undelivered.MessageID != replied.ID || !strings.Contains(undelivered.ErrorMessage, "User unknown") {
		t.Fatalf("bounce delivery event %+v", undelivered)
	}

	imapSrv.Deliver(t, "INBOX", customerMail("second@example.org", ourID, "Re: Order #4411 arrived damaged",
		"Thanks!\n\nOn Mon, Acme Support wrote:\n> A replacement is on its way."))
	var answer *schema.Event
	apptest.Eventually(t, 15*time.Second, func() error {
		for _, ev := range g.Events("sb.conv."+conv+".message", 3, 15*time.Second) {
			if ev.Message.Thread != nil && ev.Message.Thread.MessageID == "second@example.org" {
				answer = ev
				return nil
			}
		}
		return fmt.Errorf("the customer's answer is not in the conversation yet")
	})
	if answer.ConversationID != conv || answer.Message.StrippedText != "Thanks!" ||
		answer.Message.Thread.ReplyToMessageID != replied.ID || answer.Message.Metadata["email.conversation_id"] != conv {
		t.Fatalf("customer's answer: conversation %s, %+v", answer.ConversationID, answer.Message.Thread)
	}
}

// bounceOf is a DSN (RFC 3464) returning the message with Message-ID id.
func bounceOf(id string) string {
	return "From: MAILER-DAEMON@mx.example.org\r\nTo: " + emailtest.User + "\r\nSubject: Undelivered Mail Returned to Sender\r\n" +
		"Message-ID: <dsn-1@mx.example.org>\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n" +
		"--b\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n" +
		"--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.org\r\n\r\n" +
		"Final-Recipient: rfc822; jane@example.org\r\nAction: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 User unknown\r\n\r\n" +
		"--b\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: support@example.com\r\nMessage-ID: <" + id + ">\r\n\r\n--b--\r\n"
}

func headerOf(t *testing.T, raw []byte) mail.Header {
	t.Helper()
	mr, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	return mr.Header
}

// TestExampleConfig keeps the commented example in configs/switchboard.yaml valid.
func TestExampleConfig(t *testing.T) {
	data, err := os.ReadFile("../../configs/switchboard.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	on := false
	lines := strings.Split(string(data), "\n")
	for i, line := range lines {
		if strings.HasPrefix(line, "  # email:") {
			on = true
		} else if on && strings.TrimSpace(line) == "" {
			out = append(out, lines[i:]...) // the rest stays as it is
			break
		}
		if on && strings.HasPrefix(line, "  # ") {
			line = "  " + strings.TrimPrefix(line, "  # ")
		}
		out = append(out, line)
	}
	if !on {
		t.Fatal("configs/switchboard.yaml has no email example")
	}
	for _, v := range []string{"SWITCHBOARD_API_TOKEN", "SWITCHBOARD_EMAIL_MSGID_SECRET", "SWITCHBOARD_IMAP_PASSWORD", "SWITCHBOARD_SMTP_PASSWORD"} {
		t.Setenv(v, "x")
	}
	c, err := app.ParseConfig("switchboard.yaml", []byte(strings.Join(out, "\n")))
	if err != nil {
		t.Fatal(err)
	}
	if a := c.Channels.Email.Accounts["support"]; a == nil || a.SMTP == nil || a.SMTP.SentFolder != "Sent" {
		t.Fatalf("email example: %+v", c.Channels.Email)
	}
}
