package email

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/switchboardhq/switchboard/connectors"
	"github.com/switchboardhq/switchboard/pipeline/kernel"
	"github.com/switchboardhq/switchboard/schema"
)

// fetched is one message as the IMAP server gave it.
type fetched struct {
	uid, uidValidity uint32
	size             int64
	raw              []byte // the whole message; only the header when it is over the size cap
	headerOnly       bool
}

// unknownSender stands in for a message with no readable sender address at all; the
// reserved .invalid domain makes any reply to it fail instead of reaching a stranger.
const unknownSender = "unknown-sender@invalid"

// normalizer turns fetched mail into schema.Messages, storing the raw message and the
// attachments in the object store first.
type normalizer struct {
	account string
	folder  string
	lim     limits
	blobs   connectors.BlobStore
	signer  *signer
	auth    *senderAuth // nil: sender addresses are not authenticated
}

func (n *normalizer) message(ctx context.Context, f *fetched) (*schema.Message, error) {
	m, p := n.build(f)
	if err := n.store(ctx, m, f, p); err != nil {
		return nil, err
	}
	return m, nil
}

// build is the pure part of normalizing: everything but storing bytes.
func (n *normalizer) build(f *fetched) (*schema.Message, *parsed) {
	p := parse(f.raw, n.lim)
	m := &schema.Message{Channel: schema.ChannelEmail, Account: n.account, Direction: schema.Inbound,
		Problems: p.problems, Text: p.text, HTML: p.html}
	if f.headerOnly {
		m.Problems = append(m.Problems, fmt.Sprintf("message of %d bytes is over max_message_size (%d): only its header was ingested; it is left on the server", f.size, n.lim.message))
	}
	n.addresses(m, p)
	m.Subject = subject(p.header, &m.Problems)
	m.SentAt = sentAt(p.header, &m.Problems)
	m.Thread = thread(p.header)
	switch {
	case m.Text != "":
		m.StrippedText = stripReply(m.Text)
	case m.HTML != "":
		m.StrippedText = htmlReply(m.HTML)
	}
	m.Metadata = map[string]string{"email.folder": n.folder, "email.uid": strconv.FormatUint(uint64(f.uid), 10),
		"email.uidvalidity": strconv.FormatUint(uint64(f.uidValidity), 10), "email.size": strconv.FormatInt(f.size, 10)}
	n.automated(m, p)
	n.authenticate(m, f, p)
	n.ours(m)
	m.ExternalID = externalID(m.Thread, p, f)
	m.ID = schema.MessageID(schema.DedupeKey(m.Channel, m.Account, m.ExternalID))
	for i, pr := range m.Problems {
		m.Problems[i] = valid(pr)
	}
	fit(m)
	return m, p
}

// maxJSON is what a message may take on the stream (1 MiB) less room for the pipeline's
// additions (customer and conversation ids, sanitized HTML, derived text).
const maxJSON = 768 << 10

// fit shortens the bodies until the message's JSON fits the stream: JSON escaping can grow
// HTML (<, >, & become \u003c...) and text several times. The full message stays in raw_ref.
func fit(m *schema.Message) {
	for range 20 {
		data, err := json.Marshal(m)
		if err != nil || len(data) <= maxJSON {
			return
		}
		longest := &m.HTML
		for _, f := range []*string{&m.Text, &m.StrippedText} {
			if len(*f) > len(*longest) {
				longest = f
			}
		}
		if len(*longest) == 0 {
			return
		}
		*longest = strings.ToValidUTF8((*longest)[:len(*longest)/2], "")
		if len(m.Problems) == 0 || !strings.HasPrefix(m.Problems[len(m.Problems)-1], "bodies shortened") {
			m.Problems = append(m.Problems, "bodies shortened to fit the stream's message size (the full message is in raw_ref)")
		}
	}
}

// authenticate records how far the From address is proven. An authenticated sender is a
// verified identity (it may link and merge customers); one that failed is flagged and kept
// apart from the address's customer, so a forged From cannot write into someone's
// conversation.
func (n *normalizer) authenticate(m *schema.Message, f *fetched, p *parsed) {
	sa := n.auth.check(f.raw, p.header, m.From.Value)
	if sa == nil || m.From.Kind != "email" || m.From.Value == unknownSender {
		return
	}
	m.SenderAuth = sa
	switch sa.Verdict {
	case schema.AuthPass:
		if m.Profile == nil {
			m.Profile = &schema.Profile{Email: m.From.Value, Verified: true}
		}
	case schema.AuthFail:
		m.Flags = append(m.Flags, "sender_unauthenticated")
		m.Problems = append(m.Problems, fmt.Sprintf("the sender %s failed authentication (spf=%s dkim=%s dmarc=%s): kept apart from that address's customer",
			m.From.Value, or(sa.SPF, "none"), or(sa.DKIM, "none"), or(sa.DMARC, "none")))
	}
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func (n *normalizer) addresses(m *schema.Message, p *parsed) {
	var from []schema.Address
	for _, k := range []string{"From", "Sender", "Reply-To", "Return-Path"} {
		if p.header.Has(k) {
			if from = addresses(p.header, k, &m.Problems); len(from) > 0 {
				break
			}
		}
	}
	if len(from) == 0 {
		m.Problems = append(m.Problems, "no readable sender address (From, Sender, Reply-To, Return-Path)")
		from = []schema.Address{{Kind: "email", Value: unknownSender}}
	}
	m.From = from[0]
	for _, k := range []string{"To", "Cc"} {
		if p.header.Has(k) {
			m.To = append(m.To, addresses(p.header, k, &m.Problems)...)
		}
	}
}

// automated flags bounces and auto-replies, and ties a bounce to the message it returns.
func (n *normalizer) automated(m *schema.Message, p *parsed) {
	kind, why := classify(p, m.From.Value, m.Subject)
	m.Kind, m.Flags = kind, why
	if kind != schema.KindBounce {
		return
	}
	meta, original := bounceDetails(p)
	for k, v := range meta {
		m.Metadata[k] = v
	}
	if original != "" {
		if m.Thread == nil {
			m.Thread = &schema.Thread{}
		}
		m.Thread.References = append(m.Thread.References, original)
		m.Metadata["email.bounce.message_id"] = original
	}
}

// ours recognises answers to our own replies by their signed Message-ID.
func (n *normalizer) ours(m *schema.Message) {
	if m.Thread == nil {
		return
	}
	msgID, convID, ok := n.signer.ours(&threadIDs{inReplyTo: m.Thread.InReplyTo, references: m.Thread.References})
	if !ok {
		return
	}
	m.Thread.ReplyToMessageID = msgID
	if convID != "" {
		m.Metadata["email.conversation_id"] = convID
	}
}

// externalID is the dedupe key of a message: its Message-ID (with a digest of From, Date
// and Subject, so two different messages that reuse one Message-ID stay apart), or, without
// a Message-ID, a digest of the raw bytes. Neither depends on IMAP UIDs, so the same
// message seen again after a UIDVALIDITY change, or in a second folder, is one message.
func externalID(t *schema.Thread, p *parsed, f *fetched) string {
	if t != nil && t.MessageID != "" {
		h := sha256.New()
		for _, k := range []string{"From", "Date", "Subject"} {
			h.Write([]byte(p.header.Get(k) + "\x00"))
		}
		return "mid:" + t.MessageID + ":" + hex.EncodeToString(h.Sum(nil)[:4])
	}
	sum := sha256.Sum256(f.raw)
	if f.headerOnly {
		sum = sha256.Sum256(append(f.raw, []byte(strconv.FormatInt(f.size, 10))...))
	}
	return "sha256:" + hex.EncodeToString(sum[:16])
}

// store puts the raw message and the attachments in the object store. A storage failure is
// returned (the batch is retried); an attachment over its cap is recorded as a problem.
func (n *normalizer) store(ctx context.Context, m *schema.Message, f *fetched, p *parsed) error {
	ref, err := n.blobs.Put(ctx, "email/"+m.ID+".eml", "message/rfc822", bytes.NewReader(f.raw), int64(len(f.raw)))
	if err != nil {
		return fmt.Errorf("store raw message: %w", err)
	}
	m.RawRef = &ref
	for i, pt := range p.parts {
		a := schema.Attachment{Name: pt.name, ContentType: pt.contentType, Size: pt.size, Inline: pt.inline,
			ContentID: pt.contentID, Problem: pt.problem}
		if i >= n.lim.attachments {
			a.Problem = fmt.Sprintf("not stored: more than %d attachments (it is in the raw message)", n.lim.attachments)
			m.Problems = append(m.Problems, fmt.Sprintf("attachment %d: %s", i, a.Problem))
		} else if pt.data != nil {
			ref, err := n.blobs.Put(ctx, fmt.Sprintf("att/%s/%d", m.ID, i), pt.contentType, bytes.NewReader(pt.data), int64(len(pt.data)))
			switch {
			case errors.Is(err, kernel.ErrTooLarge):
				a.Problem = err.Error()
			case err != nil:
				return fmt.Errorf("store attachment %d: %w", i, err)
			default:
				a.Bucket, a.Key, a.Digest = ref.Bucket, ref.Key, ref.Digest
			}
		}
		m.Attachments = append(m.Attachments, a)
	}
	return nil
}
