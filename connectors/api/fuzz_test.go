package api

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/switchboardhq/switchboard/configs/cfg"
	"github.com/switchboardhq/switchboard/connectors"
	"github.com/switchboardhq/switchboard/pipeline/kernel"
	"github.com/switchboardhq/switchboard/schema"
)

// The fuzz target drives the real handler with a publisher and blob store that only record:
// the unit under test is the request parser and normalizer.
type recordingPublisher struct{ got []*schema.Message }

func (p *recordingPublisher) Publish(_ context.Context, m *schema.Message) (connectors.Receipt, error) {
	p.got = append(p.got, m)
	return connectors.Receipt{ID: m.ID}, nil
}
func (p *recordingPublisher) PublishStatus(context.Context, *schema.StatusUpdate) error { return nil }

type memBlobs struct{}

func (memBlobs) Put(_ context.Context, key, _ string, r io.Reader, limit int64) (schema.BlobRef, error) {
	n, _ := io.Copy(io.Discard, io.LimitReader(r, limit+1))
	if n > limit {
		return schema.BlobRef{}, kernel.ErrTooLarge
	}
	return schema.BlobRef{Bucket: "b", Key: key, Size: n}, nil
}
func (memBlobs) Open(context.Context, string) (io.ReadCloser, string, error) {
	return nil, "", kernel.ErrNotFound
}

func newTestConnector(pub connectors.Publisher) *Connector {
	return New(Config{Accounts: map[string]*Account{"demo": {Token: cfg.NewSecret("tok")}}},
		connectors.Host{Publisher: pub, Blobs: memBlobs{}})
}

func post(c *Connector, body []byte) (*connectors.Response, error) {
	req := httptest.NewRequest(http.MethodPost, "/v1/channels/api/demo/messages", bytes.NewReader(body))
	req.SetPathValue("account", "demo")
	req.Header.Set("Authorization", "Bearer tok")
	req.Header.Set("Content-Type", "application/json")
	return c.receive(context.Background(), &connectors.Request{HTTP: req, Body: body})
}

func FuzzReceive(f *testing.F) {
	for _, seed := range []string{
		`{"external_id":"ext-1","from":"alice@example.com","text":"hello"}`,
		`{"external_id":"e","from":{"kind":"phone","value":"+15551234567","name":"B"},"html":"<b>x</b>"}`,
		`{"external_id":"e","from":"+15551234567","attachments":[{"data":"aGVsbG8=","name":"a.txt"}]}`,
		`{"external_id":"e","from":"x","attachments":[{"url":"https://example.com/a.png"}],"metadata":{"k":"v"}}`,
		`{"external_id":"e","from":"u1","text":"t","profile":{"external_id":"u1","verified":true},"sent_at":"2026-01-01T00:00:00Z"}`,
		`{"external_id":"","from":null}`, `[]`, `{"from":{"kind":1}}`, ``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		pub := &recordingPublisher{}
		resp, err := post(newTestConnector(pub), body)
		if err != nil {
			var he *connectors.HTTPError
			if !errors.As(err, &he) || he.Status < 400 || he.Status >= 500 {
				t.Fatalf("error %v is not a 4xx", err)
			}
			if len(pub.got) != 0 {
				t.Fatal("published although the request was refused")
			}
			return
		}
		if resp.Status != http.StatusAccepted || len(pub.got) != 1 {
			t.Fatalf("accepted with status %d and %d publishes", resp.Status, len(pub.got))
		}
		m := pub.got[0]
		if m.ExternalID == "" || m.From.Kind == "" || m.From.Value == "" || m.Channel != schema.ChannelAPI || m.Account != "demo" {
			t.Fatalf("published an incomplete message: %+v", m)
		}
	})
}

func TestTokenIsCheckedPerAccount(t *testing.T) {
	c := newTestConnector(&recordingPublisher{})
	for _, h := range []string{"", "Bearer", "Bearer wrong", "Basic dG9rOg==", "bearer tok"} {
		if _, err := c.authenticate("demo", h); err == nil {
			t.Fatalf("Authorization %q accepted", h)
		}
	}
	if _, err := c.authenticate("demo", "Bearer tok"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.authenticate("other", "Bearer tok"); err == nil {
		t.Fatal("token accepted for an unknown account")
	}
}

func TestSignMatchesStandardWebhooksVector(t *testing.T) {
	// Test vector from the Standard Webhooks specification's reference libraries.
	secret := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	got := Sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", []byte(`{"test": 2432232314}`))
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}
