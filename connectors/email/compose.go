package email

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/mail"
	"strings"
	"time"

	gomail "github.com/emersion/go-message/mail"

	"github.com/switchboardhq/switchboard/connectors"
	"github.com/switchboardhq/switchboard/schema"
)

// maxOutboundAttachment caps one attachment of a reply.
const maxOutboundAttachment = 25 << 20

// composed is a reply ready for SMTP.
type composed struct {
	raw       []byte
	messageID string // without brackets
	rcpt      []string
}

// compose renders an agent's reply as RFC 5322 mail that common clients thread under the
// customer's message: our signed Message-ID, In-Reply-To and References of the message
// answered, "Re: " on the conversation's subject, From (and Reply-To) of the mailbox.
func compose(ctx context.Context, acct *Account, sg *signer, blobs connectors.BlobStore, m *schema.Message, now time.Time) (*composed, error) {
	out := &composed{messageID: sg.messageID(m.ID, m.ConversationID)}
	var to []*mail.Address
	for _, a := range m.To {
		if a.Kind == "email" && a.Value != "" && a.Value != unknownSender {
			to = append(to, &mail.Address{Name: a.Name, Address: a.Value})
			out.rcpt = append(out.rcpt, a.Value)
		}
	}
	if len(to) == 0 {
		return nil, connectors.Permanent("no_recipient", "the reply has no email recipient")
	}
	var h gomail.Header
	h.SetDate(now)
	h.SetAddressList("From", []*mail.Address{{Name: acct.Name, Address: acct.Address}})
	if acct.ReplyTo != "" {
		h.SetAddressList("Reply-To", []*mail.Address{{Address: acct.ReplyTo}})
	}
	h.SetAddressList("To", to)
	h.SetSubject(replySubject(m.Subject))
	h.SetMessageID(out.messageID)
	if t := m.Thread; t != nil {
		if len(t.InReplyTo) > 0 {
			h.SetMsgIDList("In-Reply-To", t.InReplyTo[len(t.InReplyTo)-1:])
		}
		refs := t.References
		if len(refs) == 0 {
			refs = t.InReplyTo
		}
		if len(refs) > 0 {
			h.SetMsgIDList("References", refs)
		}
	}
	var buf bytes.Buffer
	if err := writeBody(ctx, &buf, h, m, blobs); err != nil {
		return nil, err
	}
	out.raw = buf.Bytes()
	return out, nil
}

// replySubject prefixes "Re: " unless the subject already is a reply.
func replySubject(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return "Re: your message"
	}
	l := strings.ToLower(s)
	for _, p := range []string{"re:", "re :", "aw:", "sv:", "antw:", "r:"} {
		if strings.HasPrefix(l, p) {
			return s
		}
	}
	return "Re: " + s
}

// writeBody writes text/plain, text/html or multipart/alternative, in multipart/mixed when
// there are attachments.
func writeBody(ctx context.Context, w io.Writer, h gomail.Header, m *schema.Message, blobs connectors.BlobStore) error {
	atts := stored(m.Attachments)
	if len(atts) == 0 && (m.Text == "") != (m.HTML == "") {
		ct, body := "text/plain", m.Text
		if m.HTML != "" {
			ct, body = "text/html", m.HTML
		}
		h.SetContentType(ct, map[string]string{"charset": "utf-8"})
		bw, err := gomail.CreateSingleInlineWriter(w, h)
		if err != nil {
			return connectors.Permanent("compose", "%v", err)
		}
		io.WriteString(bw, body)
		return bw.Close()
	}
	if len(atts) == 0 {
		iw, err := gomail.CreateInlineWriter(w, h) // multipart/alternative at the top
		if err != nil {
			return connectors.Permanent("compose", "%v", err)
		}
		return writeAlternatives(iw, m)
	}
	mw, err := gomail.CreateWriter(w, h)
	if err != nil {
		return connectors.Permanent("compose", "%v", err)
	}
	iw, err := mw.CreateInline()
	if err != nil {
		return connectors.Permanent("compose", "%v", err)
	}
	if err := writeAlternatives(iw, m); err != nil {
		return err
	}
	for _, a := range atts {
		if err := attach(ctx, mw, a, blobs); err != nil {
			return err
		}
	}
	return mw.Close()
}

// writeAlternatives writes the text and HTML versions (text/plain even when empty, so
// that clients without HTML show something).
func writeAlternatives(iw *gomail.InlineWriter, m *schema.Message) error {
	for _, alt := range []struct{ ct, body string }{{"text/plain", m.Text}, {"text/html", m.HTML}} {
		if alt.body == "" && alt.ct == "text/html" {
			continue
		}
		var ph gomail.InlineHeader
		ph.SetContentType(alt.ct, map[string]string{"charset": "utf-8"})
		pw, err := iw.CreatePart(ph)
		if err != nil {
			return connectors.Permanent("compose", "%v", err)
		}
		io.WriteString(pw, alt.body)
		if err := pw.Close(); err != nil {
			return connectors.Permanent("compose", "%v", err)
		}
	}
	return iw.Close()
}

func stored(atts []schema.Attachment) []schema.Attachment {
	var out []schema.Attachment
	for _, a := range atts {
		if a.Key != "" {
			out = append(out, a)
		}
	}
	return out
}

func attach(ctx context.Context, mw *gomail.Writer, a schema.Attachment, blobs connectors.BlobStore) error {
	r, ctype, err := blobs.Open(ctx, a.Key)
	if err != nil {
		return connectors.Temporary(fmt.Errorf("attachment %s: %w", a.Key, err), 0)
	}
	defer r.Close()
	if a.ContentType != "" {
		ctype = a.ContentType
	}
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	var ah gomail.AttachmentHeader
	ah.SetContentType(ctype, nil)
	name := a.Name
	if name == "" {
		name = "attachment"
	}
	ah.SetFilename(name)
	aw, err := mw.CreateAttachment(ah)
	if err != nil {
		return connectors.Permanent("compose", "%v", err)
	}
	if _, err := io.Copy(aw, io.LimitReader(r, maxOutboundAttachment)); err != nil {
		return connectors.Temporary(fmt.Errorf("attachment %s: %w", a.Key, err), 0)
	}
	return aw.Close()
}
