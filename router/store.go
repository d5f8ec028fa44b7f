package router

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchboardhq/switchboard/pipeline"
	"github.com/switchboardhq/switchboard/pipeline/kernel"
	"github.com/switchboardhq/switchboard/pipeline/streams"
	"github.com/switchboardhq/switchboard/router/agents"
	"github.com/switchboardhq/switchboard/router/rules"
	"github.com/switchboardhq/switchboard/schema"
)

// Store reads and writes the router's records in KV with compare-and-set revisions.
type Store struct {
	js     jetstream.JetStream
	events *streams.Reader
	// Index finds inbound messages by id (nil: they are not recorded).
	Index *pipeline.MessageIndex
	// legacy says sb_messages still holds whole message records keyed by message id
	// (written before the index): lookups fall back to them.
	legacy bool
	// Messages holds each message's record (a [locator]), kept retention.messages.
	Messages      jetstream.KeyValue
	Conversations jetstream.KeyValue
	Customers     jetstream.KeyValue
	Identities    jetstream.KeyValue
	Outbox        jetstream.KeyValue
	Agents        jetstream.KeyValue
	Waiting       jetstream.KeyValue
	Threads       jetstream.KeyValue
}

// Provision creates or updates the router's buckets (replicas r). The pipeline's must exist.
func Provision(ctx context.Context, js jetstream.JetStream, r int) error {
	for _, kc := range []jetstream.KeyValueConfig{
		{Bucket: streams.BucketAgents, Description: "Agent presence and load (compare-and-set).", History: 1},
		{Bucket: streams.BucketWaiting, Description: "Conversations waiting for an agent.", History: 1},
		{Bucket: streams.BucketThreads, Description: "Threading state per customer; email Message-ID index.", History: 1},
	} {
		kc.Storage, kc.Replicas = jetstream.FileStorage, max(r, 1)
		if err := pipeline.RetryAPI(ctx, func(ctx context.Context) error {
			_, err := js.CreateOrUpdateKeyValue(ctx, kc)
			return err
		}); err != nil {
			return fmt.Errorf("provision bucket %s: %w", kc.Bucket, err)
		}
	}
	return nil
}

// OpenStore opens the buckets.
func OpenStore(ctx context.Context, js jetstream.JetStream) (*Store, error) {
	s := Store{js: js, events: streams.NewReader(js)}
	for _, b := range []struct {
		name string
		kv   *jetstream.KeyValue
	}{
		{streams.BucketMessages, &s.Messages}, {streams.BucketConversations, &s.Conversations},
		{streams.BucketCustomers, &s.Customers}, {streams.BucketIdentities, &s.Identities},
		{streams.BucketOutbox, &s.Outbox}, {streams.BucketAgents, &s.Agents}, {streams.BucketWaiting, &s.Waiting},
		{streams.BucketThreads, &s.Threads},
	} {
		kv, err := js.KeyValue(ctx, b.name)
		if err != nil {
			return nil, fmt.Errorf("open bucket %s: %w", b.name, err)
		}
		*b.kv = kv
	}
	legacy, err := hasLegacyRecords(ctx, js)
	if err != nil {
		return nil, err
	}
	s.legacy = legacy
	return &s, nil
}

// Conversation returns a conversation as it stands: its stored snapshot (a checkpoint) with
// the events published since folded in.
func (s *Store) Conversation(ctx context.Context, id string) (*schema.Conversation, uint64, error) {
	c, rev, err := s.conversation(ctx, id)
	if err != nil {
		return nil, rev, err
	}
	return &c.Conversation, rev, nil
}

// conversation reads a snapshot and catches it up with the conversation's later events (one
// direct get when there are none). rev is the stored snapshot's revision. A conversation not
// checkpointed yet (the router stores a new conversation's snapshot only when it is routed,
// changes status or has [checkpointEvery] events) is folded from its events, with rev 0.
// An event that does not decode is skipped (the events endpoint reports it); the router,
// which never decides over a gap, rebuilds from the events itself ([Router.recover]).
func (s *Store) conversation(ctx context.Context, id string) (*convState, uint64, error) {
	var c convState
	rev, err := kernel.GetJSON(ctx, s.Conversations, id, &c)
	if err != nil && !errors.Is(err, kernel.ErrNotFound) {
		return nil, 0, err
	}
	unstored := err != nil
	c.stored = c.LastSeq
	last, err := s.events.Last(ctx, streams.ConversationFilter(id))
	if errors.Is(err, kernel.ErrNotFound) {
		if unstored {
			return nil, 0, err
		}
		return &c, rev, nil
	}
	if err != nil {
		return nil, 0, err
	}
	if last.Seq <= c.LastStreamSeq {
		return &c, rev, nil
	}
	// At most a checkpoint's worth of events (more after a crash): direct gets, one each.
	var later []*streams.Stored
	for seq := c.LastStreamSeq; seq < last.Seq; {
		st, err := s.events.Next(ctx, streams.ConversationFilter(id), seq)
		if errors.Is(err, kernel.ErrNotFound) {
			break
		}
		if err != nil {
			return nil, 0, err
		}
		if st.Err == nil {
			later = append(later, st)
		}
		seq = st.Seq
	}
	c.catchUp(later, nil)
	if unstored && c.ReplyRoute.Channel == "" {
		// Opened, its first message not published yet: not a conversation to show until it
		// is (the REST API waits briefly for it).
		return nil, 0, fmt.Errorf("conversation %s: its first message is not published yet: %w", id, kernel.ErrNotFound)
	}
	return &c, rev, nil
}

// Customer returns a customer record.
func (s *Store) Customer(ctx context.Context, id string) (*schema.Customer, uint64, error) {
	var c schema.Customer
	rev, err := kernel.GetJSON(ctx, s.Customers, id, &c)
	return &c, rev, err
}

// Agent returns an agent's presence and load as stored.
func (s *Store) Agent(ctx context.Context, id string) (rules.PresenceRecord, rules.LoadRecord, error) {
	p := rules.PresenceRecord{Agent: id, Status: rules.Offline}
	l := rules.LoadRecord{Agent: id, Conversations: map[string]rules.Hold{}}
	if _, err := kernel.GetJSON(ctx, s.Agents, agents.PresenceKey(id), &p); err != nil && !errors.Is(err, kernel.ErrNotFound) {
		return p, l, err
	}
	if _, err := kernel.GetJSON(ctx, s.Agents, agents.LoadKey(id), &l); err != nil && !errors.Is(err, kernel.ErrNotFound) {
		return p, l, err
	}
	return p, l, nil
}

// ConversationIDs lists every stored conversation (a scan of sb_conversations).
func (s *Store) ConversationIDs(ctx context.Context) ([]string, error) {
	keys, err := s.Conversations.ListKeys(ctx)
	if err != nil {
		return nil, kernel.Unavailable(err)
	}
	var ids []string
	for k := range keys.Keys() {
		ids = append(ids, k)
	}
	return ids, nil
}

// hasLegacyRecords reports whether sb_messages holds whole message records keyed by message
// id, as written before the message index (single-token keys; the index's and outbound
// records' keys have two tokens). They age out after retention.messages.
func hasLegacyRecords(ctx context.Context, js jetstream.JetStream) (bool, error) {
	st, err := js.Stream(ctx, "KV_"+streams.BucketMessages)
	if err != nil {
		return false, kernel.Unavailable(err)
	}
	// One direct get of the newest single-token key, not a listing: an old deployment can
	// have millions.
	_, err = st.GetLastMsgForSubject(ctx, "$KV."+streams.BucketMessages+".*")
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return false, nil
	}
	if err != nil {
		return false, kernel.Unavailable(err)
	}
	return true, nil
}
