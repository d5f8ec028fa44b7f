package webchat

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/switchboardhq/switchboard/connectors"
	"github.com/switchboardhq/switchboard/pipeline/kernel"
	"github.com/switchboardhq/switchboard/schema"
)

// message stores a visitor's message and acknowledges it once JetStream has. The external id
// is "<visitor>:<client id>", so a resend (after a reconnect, from the widget's outbox) is
// acknowledged again as a duplicate instead of being stored twice.
func (s *conn) message(f *clientFrame, raw []byte) {
	atts, perr := s.attachments(f.Attachments)
	if perr != nil {
		s.sendError(f.ID, perr.code, perr.msg, 0)
		return
	}
	site, visitor := s.site.name, s.visitorID()
	m := &schema.Message{
		Channel: schema.ChannelWebchat, Account: site, ExternalID: visitor + ":" + f.ID,
		From: schema.Address{Kind: addressKind, Value: visitorAddress(site, visitor), Name: s.name},
		Text: f.Text, Attachments: atts, Profile: s.profile, Raw: raw,
	}
	if s.page != "" {
		m.Metadata = map[string]string{"page": s.page}
	}
	if f.Payload != "" {
		m.Kind, m.Action = schema.KindAction, &schema.Action{Type: "button", Title: f.Text, Payload: f.Payload}
	}
	id := schema.MessageID(schema.DedupeKey(m.Channel, site, m.ExternalID))
	s.mu.Lock()
	if s.closeMsg != nil {
		s.mu.Unlock()
		return // draining: the widget resends it to another instance
	}
	// One wait at a time; a wait that timed out (routing backlog) is renewed.
	needRoute := (s.conv == "" || s.convClosed) && (s.awaiting.IsZero() || time.Since(s.awaiting) > routedWait)
	if needRoute {
		s.awaiting = time.Now()
	}
	s.publishing = true
	s.mu.Unlock()
	if needRoute {
		// Before publishing: the routed event cannot be missed, and a later hello finds the
		// message pending if this instance goes away first.
		s.c.saveVisitor(site, visitor, visitorState{Conversation: s.currentConv(), Pending: id})
		s.c.awaitRouted(site, visitor, id)
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.c.lim.publishTimeout)
	start := time.Now()
	rc, err := s.c.host.Publisher.Publish(ctx, m)
	cancel()
	s.c.metrics.ackLatency.Observe(time.Since(start).Seconds())
	s.published(f.ID, rc, err)
}

// published queues the answer to a message and lets a pending close frame go after it.
func (s *conn) published(clientID string, rc connectors.Receipt, err error) {
	var frame []byte
	switch {
	case err == nil:
		s.c.metrics.messages.WithLabelValues("stored").Inc()
		frame = encode(ackFrame{Type: "ack", ID: clientID, MessageID: rc.ID, Duplicate: rc.Duplicate})
	case errors.Is(err, kernel.ErrTooLarge), errors.Is(err, kernel.ErrInvalidMessage):
		s.c.metrics.messages.WithLabelValues("refused").Inc()
		frame = encode(errorFrame{Type: "error", ID: clientID, Code: "refused", Message: "the message cannot be stored"})
		s.c.log.Warn("webchat message refused by the store", zap.Error(err))
	default:
		s.c.metrics.messages.WithLabelValues("unavailable").Inc()
		frame = encode(errorFrame{Type: "error", ID: clientID, Code: "unavailable", Message: "not stored; retry", RetryAfter: 1000})
		s.c.log.Warn("webchat message not stored", zap.Error(err))
	}
	s.mu.Lock()
	s.publishing = false
	if err == nil {
		s.lastMsg = rc.ID
	}
	s.mu.Unlock()
	s.enqueue(outFrame{data: frame})
}

func (s *conn) visitorID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.visitor
}

func (s *conn) currentConv() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conv
}

// attachments checks upload tokens: signed by us, for this site and this visitor.
func (s *conn) attachments(tokens []string) ([]schema.Attachment, *protoError) {
	var out []schema.Attachment
	for _, t := range tokens {
		a, ok := s.rt.signer.parseAttachment(t)
		if !ok || a.Site != s.site.name || a.Visitor != s.visitorID() || a.Bucket == "" {
			s.c.metrics.refused.WithLabelValues("attachment").Inc()
			return nil, &protoError{code: "bad_attachment", msg: "an attachment token is not valid for this visitor"}
		}
		out = append(out, schema.Attachment{Name: a.Name, ContentType: a.ContentType, Size: a.Size,
			Bucket: a.Bucket, Key: a.Key, Digest: a.Digest})
	}
	return out, nil
}

// routedWait bounds how long a stored message's conversation is awaited here; past it, the
// visitor's next hello asks again (the message id stays in its state as pending).
const routedWait = 2 * time.Minute

// awaitRouted learns which conversation a visitor's message went to and moves every tab of
// the visitor there (on every instance, through a visitor signal).
func (c *Connector) awaitRouted(site, visitor, messageID string) {
	if c.host.Feed == nil {
		return
	}
	stop := c.host.Feed.Routed(messageID, func(conv string) { go c.adopt(site, visitor, conv) })
	time.AfterFunc(routedWait, stop) // a no-op once answered
}

// adopt records conv as the visitor's conversation and tells its tabs.
func (c *Connector) adopt(site, visitor, conv string) {
	c.saveVisitor(site, visitor, visitorState{Conversation: conv})
	data, _ := json.Marshal(conversationFrame{Type: "conversation", Conversation: conv})
	if err := c.signal(visitorTopic(site, visitor, "conversation"), data); err != nil {
		c.log.Warn("webchat conversation signal failed", zap.Error(err))
	}
}

// typing tells the helpdesks (and other instances) the visitor is typing.
func (s *conn) typing(state string) {
	conv := s.currentConv()
	if conv == "" {
		return
	}
	data, _ := json.Marshal(typingSignal{ConversationID: conv, Actor: "customer", Channel: string(schema.ChannelWebchat),
		State: state, At: nowFunc().UTC()})
	_ = s.c.signal(convTopic(conv, "typing"), data)
}

// readReceipt marks agent messages this socket pushed, up to the one named, as read.
func (s *conn) readReceipt(messageID string) {
	s.mu.Lock()
	var upTo uint64
	for _, r := range s.recent {
		if r.id == messageID {
			upTo = r.seq
		}
	}
	var ids []string
	for i := range s.recent {
		if r := &s.recent[i]; upTo > 0 && r.seq <= upTo && !r.read {
			r.read = true
			ids = append(ids, r.id)
		}
	}
	s.mu.Unlock()
	if upTo == 0 {
		s.sendError("", "unknown_message", "read receipts name a message this chat showed", 0)
		return
	}
	for _, id := range ids {
		s.rt.statuses.push(&schema.StatusUpdate{Channel: schema.ChannelWebchat, Account: s.site.name,
			MessageID: id, Status: schema.StatusRead})
	}
	data, _ := json.Marshal(readFrame{Type: "read", MessageID: messageID})
	_ = s.c.signal(visitorTopic(s.site.name, s.visitorID(), "read"), data)
}

// signal publishes an ephemeral signal when the host has them.
func (c *Connector) signal(topic string, data []byte) error {
	if c.host.Signals == nil {
		return errors.New("no signals")
	}
	return c.host.Signals.Signal(topic, data)
}

func trimVisitor(externalID, visitor string) string {
	return strings.TrimPrefix(externalID, visitor+":")
}
