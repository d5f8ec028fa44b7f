package pipeline

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchboardhq/switchboard/connectors"
	"github.com/switchboardhq/switchboard/schema"
)

// Feed follows conversations on SB_CONVERSATIONS.
type Feed struct {
	js jetstream.JetStream
}

var _ connectors.Feed = (*Feed)(nil)

// NewFeed returns a feed over js.
func NewFeed(js jetstream.JetStream) *Feed { return &Feed{js: js} }

// Follow calls fn with the conversation's events after seq `after`, then live ones.
func (f *Feed) Follow(ctx context.Context, conversationID string, after uint64, fn func(*schema.Event) error) error {
	if !schema.ValidToken(conversationID) {
		return fmt.Errorf("%w: conversation id %q", connectors.ErrNotFound, conversationID)
	}
	cons, err := f.js.OrderedConsumer(ctx, StreamConversations, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{"sb.conv." + conversationID + ".>"},
	})
	if err != nil {
		return unavailable(err)
	}
	it, err := cons.Messages()
	if err != nil {
		return unavailable(err)
	}
	go func() { <-ctx.Done(); it.Stop() }()
	for {
		m, err := it.Next()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return unavailable(err)
		}
		var ev schema.Event
		if err := json.Unmarshal(m.Data(), &ev); err != nil || ev.Seq <= after {
			continue
		}
		if err := fn(&ev); err != nil {
			it.Stop()
			return err
		}
	}
}
