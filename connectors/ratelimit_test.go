package connectors

import (
	"context"
	"errors"
	"testing"

	"github.com/switchboardhq/switchboard/schema"
)

type countingPublisher struct{ n int }

func (c *countingPublisher) Publish(context.Context, *schema.Message) (Receipt, error) {
	c.n++
	return Receipt{}, nil
}
func (c *countingPublisher) PublishStatus(context.Context, *schema.StatusUpdate) error { return nil }

// TestAccountLimitAndChannels: the account bucket caps all its senders together; channels not
// listed (providers that would not retry a 429) are never limited.
func TestAccountLimitAndChannels(t *testing.T) {
	inner := &countingPublisher{}
	p := NewLimitedPublisher(inner, RateLimits{PerAcct: Rate{PerSecond: 1, Burst: 5}, PerSender: Rate{PerSecond: 1, Burst: 100}}, nil)
	refused := 0
	for i := 0; i < 20; i++ {
		m := &schema.Message{Channel: schema.ChannelAPI, Account: "demo", From: schema.Address{Kind: "email", Value: string(rune('a'+i)) + "@x.example"}}
		_, err := p.Publish(context.Background(), m)
		var he *HTTPError
		if errors.As(err, &he) && he.Status == 429 && he.RetryAfter > 0 {
			refused++
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if inner.n != 5 || refused != 15 {
		t.Fatalf("published %d, refused %d; want 5 and 15", inner.n, refused)
	}
	for i := 0; i < 20; i++ {
		if _, err := p.Publish(context.Background(), &schema.Message{Channel: "sms", Account: "demo", From: schema.Address{Value: "+1"}}); err != nil {
			t.Fatalf("sms was limited: %v", err)
		}
	}
}
