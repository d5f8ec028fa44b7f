package email

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/switchboardhq/switchboard/schema"
)

func normalizeFile(t *testing.T, e *env, name string) (*schema.Message, []byte) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return normalizeRaw(t, e, raw), raw
}

func testNormalizer(e *env) *normalizer {
	return &normalizer{account: "support", folder: "INBOX", lim: (&Account{}).limits(), blobs: e.host.Blobs,
		signer: newSigner("s3cret-for-tests", testUser)}
}

func normalizeRaw(t *testing.T, e *env, raw []byte) *schema.Message {
	t.Helper()
	m, err := testNormalizer(e).message(context.Background(), &fetched{uid: 7, uidValidity: 1, size: int64(len(raw)), raw: raw})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestNormalizeGmailReply(t *testing.T) {
	e := newEnv(t)
	m, _ := normalizeFile(t, e, "gmail_reply.eml")
	if m.From.Value != "jane.doe@gmail.com" || m.From.Name != "Jane Doe" || m.Subject != "Re: Order #4411 arrived damaged" {
		t.Fatalf("from/subject: %+v %q", m.From, m.Subject)
	}
	th := m.Thread
	if th.MessageID != "CAKx8m2Pq=reply42@mail.gmail.com" || !slices.Equal(th.InReplyTo, []string{"CAF=kj3@mail.gmail.com"}) ||
		!slices.Equal(th.References, []string{"msg_0001.cnv_0001.abc@example.com", "CAF=kj3@mail.gmail.com"}) {
		t.Fatalf("thread %+v", th)
	}
	if th.ReplyToMessageID != "" {
		t.Fatal("an unsigned id in References must not be taken for one of ours")
	}
	want := "Thanks, the replacement would be great. Can you ship it to my office instead? It’s at 12 Rue de la Paix.\n\nJane"
	if m.StrippedText != want {
		t.Fatalf("stripped text %q", m.StrippedText)
	}
	if !strings.Contains(m.Text, "> Sorry to hear that.") || !strings.Contains(m.HTML, `class="gmail_quote"`) {
		t.Fatalf("full text and html must be kept: %q", m.Text)
	}
	if m.SentAt == nil || m.SentAt.Hour() != 17 || len(m.Problems) != 0 || m.Kind != schema.KindMessage {
		t.Fatalf("date %v problems %v kind %s", m.SentAt, m.Problems, m.Kind)
	}
	if len(m.To) != 1 || m.To[0].Value != "support@example.com" {
		t.Fatalf("to %+v", m.To)
	}
}

func TestNormalizeOutlookReply(t *testing.T) {
	e := newEnv(t)
	m, _ := normalizeFile(t, e, "outlook_reply.eml")
	if m.From.Name != "René Müller" || m.Subject != "RE: Lieferung für Auftrag 77" {
		t.Fatalf("decoded name %q subject %q", m.From.Name, m.Subject)
	}
	if m.Thread.ThreadIndex != "AdnHk3cO2kq3w7aBTQ+vKxYzX1a2Bw==" {
		t.Fatalf("thread index %q", m.Thread.ThreadIndex)
	}
	if m.StrippedText != "Hallo,\n\ndie Lieferung kam heute an – vielen Dank!\n\nGrüße\nRené" {
		t.Fatalf("stripped %q", m.StrippedText)
	}
	if !strings.Contains(m.Text, "Your order ships today.") {
		t.Fatal("full body lost")
	}
}

func TestNormalizeAttachments(t *testing.T) {
	e := newEnv(t)
	m, _ := normalizeFile(t, e, "attachments.eml")
	if len(m.Attachments) != 2 || m.Text != "" || !strings.Contains(m.HTML, "cid:shot1@example.cn") {
		t.Fatalf("attachments %+v html %q", m.Attachments, m.HTML)
	}
	img, pdf := m.Attachments[0], m.Attachments[1]
	if !img.Inline || img.ContentID != "shot1@example.cn" || img.ContentType != "image/png" || img.Key == "" || img.Digest == "" {
		t.Fatalf("inline image %+v", img)
	}
	if pdf.Name != "发票 2026.pdf" || pdf.Inline || pdf.ContentType != "application/pdf" {
		t.Fatalf("pdf %+v", pdf)
	}
	if got := e.blob(pdf.Key); !strings.HasPrefix(string(got), "%PDF-1.4") || int64(len(got)) != pdf.Size {
		t.Fatalf("stored pdf %q (size %d)", got, pdf.Size)
	}
	if m.From.Name != "Li, Wei" {
		t.Fatalf("name %q", m.From.Name)
	}
}

func TestAttachmentCaps(t *testing.T) {
	e := newEnv(t)
	raw, _ := os.ReadFile("testdata/attachments.eml")
	n := testNormalizer(e)
	n.lim.attachment, n.lim.attachments = 100, 1
	m, err := n.message(context.Background(), &fetched{uid: 1, raw: raw, size: int64(len(raw))})
	if err != nil {
		t.Fatal(err)
	}
	if m.Attachments[0].Key == "" || m.Attachments[1].Key != "" || m.Attachments[1].Problem == "" || len(m.Problems) == 0 {
		t.Fatalf("caps not applied: %+v / %v", m.Attachments, m.Problems)
	}
}

func TestNormalizeBounceAndAutoReply(t *testing.T) {
	e := newEnv(t)
	b, _ := normalizeFile(t, e, "bounce_dsn.eml")
	if b.Kind != schema.KindBounce || b.Metadata["email.bounce.recipient"] != "nobody@example.org" ||
		b.Metadata["email.bounce.status"] != "5.1.1" || b.Metadata["email.bounce.message_id"] != "msg_0003.cnv_0003.ghi@example.com" {
		t.Fatalf("bounce: kind %s flags %v meta %v", b.Kind, b.Flags, b.Metadata)
	}
	if b.From.Value != "mailer-daemon@mx.example.org" {
		t.Fatalf("bounce from %+v", b.From)
	}
	o, _ := normalizeFile(t, e, "out_of_office.eml")
	if o.Kind != schema.KindAutoReply || !slices.Contains(o.Flags, "auto:auto-submitted=auto-replied") || !slices.Contains(o.Flags, "auto:subject") {
		t.Fatalf("auto reply: %s %v", o.Kind, o.Flags)
	}
	plain := normalizeRaw(t, e, []byte(rfc822("a@example.com", "x@y", "Hi", "Auto-Submitted: no in the body is no header")))
	if plain.Kind != schema.KindMessage || len(plain.Flags) != 0 {
		t.Fatalf("plain mail flagged: %v", plain.Flags)
	}
	listMail := normalizeRaw(t, e, []byte("From: l@example.com\r\nPrecedence: bulk\r\nAuto-Submitted: no\r\n\r\nnews\r\n"))
	if listMail.Kind != schema.KindAutoReply || !slices.Equal(listMail.Flags, []string{"auto:precedence=bulk"}) {
		t.Fatalf("bulk: %s %v", listMail.Kind, listMail.Flags)
	}
}

func TestNormalizeMalformedIsBestEffort(t *testing.T) {
	e := newEnv(t)
	m, raw := normalizeFile(t, e, "malformed.eml")
	if m.From.Value != "broken@example.com" || m.Subject != "Broken but readable" {
		t.Fatalf("header not salvaged: %+v %q", m.From, m.Subject)
	}
	if !strings.Contains(m.Text, "The text after the strange part survives.") || !strings.Contains(m.Text, "This part is truncated") {
		t.Fatalf("text after the bad part lost: %q", m.Text)
	}
	joined := strings.Join(m.Problems, "\n")
	for _, want := range []string{"malformed header", "x-uuencode", "x-made-up"} {
		if !strings.Contains(joined, want) {
			t.Fatalf("problem %q not recorded in:\n%s", want, joined)
		}
	}
	if string(e.blob(m.RawRef.Key)) != string(raw) {
		t.Fatal("raw not kept")
	}
}

func TestNormalizeCharsets(t *testing.T) {
	e := newEnv(t)
	m, _ := normalizeFile(t, e, "charsets.eml")
	if m.From.Name != "Привет" || m.Subject != "Привет" || m.Text != "“Quoted” café\r\n" && m.Text != "“Quoted” café\n" {
		t.Fatalf("name %q subject %q text %q problems %v", m.From.Name, m.Subject, m.Text, m.Problems)
	}
}

func TestNormalizeWithoutAnySender(t *testing.T) {
	e := newEnv(t)
	m := normalizeRaw(t, e, []byte("Subject: who am I\r\n\r\nbody\r\n"))
	if m.From.Value != unknownSender || len(m.Problems) == 0 || !strings.HasPrefix(m.ExternalID, "sha256:") {
		t.Fatalf("%+v %v %s", m.From, m.Problems, m.ExternalID)
	}
	again := normalizeRaw(t, e, []byte("Subject: who am I\r\n\r\nbody\r\n"))
	if again.ExternalID != m.ExternalID {
		t.Fatal("the same bytes must give the same dedupe key")
	}
}

func TestReplyToOurMessageIsRecognised(t *testing.T) {
	e := newEnv(t)
	sg := newSigner("s3cret-for-tests", testUser)
	ours := sg.messageID("msg_abc", "cnv_xyz")
	forged := "msg_abc.cnv_other.0000000000000000000000000@example.com"
	raw := "From: a@example.com\r\nMessage-ID: <r@x>\r\nIn-Reply-To: <" + forged + ">\r\nReferences: <" + ours + "> <" + forged + ">\r\n\r\nhi\r\n"
	m := normalizeRaw(t, e, []byte(raw))
	if m.Thread.ReplyToMessageID != "msg_abc" || m.Metadata["email.conversation_id"] != "cnv_xyz" {
		t.Fatalf("thread %+v meta %v", m.Thread, m.Metadata)
	}
	onlyForged := normalizeRaw(t, e, []byte(strings.Replace(raw, "<"+ours+"> ", "", 1)))
	if onlyForged.Thread.ReplyToMessageID != "" {
		t.Fatal("a forged Message-ID was accepted")
	}
}

func TestSameMessageIDDifferentMessagesStayApart(t *testing.T) {
	e := newEnv(t)
	a := normalizeRaw(t, e, []byte(rfc822("a@example.com", "same@x", "one", "1")))
	b := normalizeRaw(t, e, []byte(rfc822("b@example.com", "same@x", "two", "2")))
	if a.ExternalID == b.ExternalID {
		t.Fatal("different messages reusing a Message-ID collapsed into one")
	}
}

func TestHugeBodiesFitTheStream(t *testing.T) {
	html := strings.Repeat("<b>&amp;</b>", 20000)
	text := strings.Repeat("\"quoted\"\n", 25000)
	raw := "From: a@example.com\r\nMessage-ID: <big@x>\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n" +
		"--b\r\nContent-Type: text/plain\r\n\r\n" + text + "\r\n--b\r\nContent-Type: text/html\r\n\r\n" + html + "\r\n--b--\r\n"
	n := &normalizer{account: "support", folder: "INBOX", lim: (&Account{}).limits()}
	m, _ := n.build(&fetched{raw: []byte(raw), size: int64(len(raw))})
	data, _ := json.Marshal(m)
	if len(data) > maxJSON || m.HTML == "" || m.Text == "" || !strings.Contains(strings.Join(m.Problems, " "), "bodies shortened") {
		t.Fatalf("%d bytes of JSON, html %d, text %d, problems %v", len(data), len(m.HTML), len(m.Text), m.Problems)
	}
}

func TestBounceOfOurReplyReportsUndelivered(t *testing.T) {
	e := newEnv(t)
	ours := newSigner("s3cret-for-tests", testUser).messageID("msg_r1", "cnv_c1")
	raw, _ := os.ReadFile("testdata/bounce_dsn.eml")
	dsn := strings.Replace(string(raw), "msg_0003.cnv_0003.ghi@example.com", ours, 1)
	m := normalizeRaw(t, e, []byte(dsn))
	st := bounceStatus(m)
	if st == nil || st.MessageID != "msg_r1" || st.Status != schema.StatusUndelivered || st.ErrorCode != "bounce_5.1.1" ||
		!strings.Contains(st.ErrorMessage, "User unknown") {
		t.Fatalf("status %+v from %+v", st, m.Thread)
	}
	if st := bounceStatus(normalizeRaw(t, e, []byte(strings.Replace(dsn, "Action: failed", "Action: delayed", 1)))); st != nil {
		t.Fatalf("a delay warning is not a failure: %+v", st)
	}
	if st := bounceStatus(normalizeRaw(t, e, raw)); st != nil {
		t.Fatalf("a bounce of a message that is not ours reported %+v", st)
	}
}

func FuzzExtendedParam(f *testing.F) {
	for _, s := range []string{`attachment; filename*=iso-8859-9''fatura-%FEubat%2Epdf`,
		`attachment; filename*0*=windows-1251''%CF%F0; filename*1="x;y"`, `a; filename*=utf-8'`, `filename*=%`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		name, _ := extendedParam(raw, "filename")
		if !utf8.ValidString(name) {
			t.Fatalf("invalid UTF-8 name %q from %q", name, raw)
		}
	})
}
