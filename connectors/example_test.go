package connectors_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/switchboardhq/switchboard/connectors"
	"github.com/switchboardhq/switchboard/schema"
)

// acme is the smallest webhook connector: it verifies the caller, normalizes the body to a
// schema.Message with the provider's own id as ExternalID, hands it to the Publisher and
// answers only once Publish returned (that is, once the message is durable).
type acme struct {
	host  connectors.Host
	token string
}

var _ connectors.EndpointProvider = (*acme)(nil)

func (a *acme) Name() string { return "acme" }

func (a *acme) Endpoints() []connectors.Endpoint {
	return []connectors.Endpoint{{Method: "POST", Path: "/acme/hook", Channel: "acme", Handle: a.hook}}
}

func (a *acme) hook(ctx context.Context, r *connectors.Request) (*connectors.Response, error) {
	if r.Header("X-Acme-Token") != a.token {
		return nil, connectors.Unauthorized("bad token") // 401, recorded for forensics
	}
	var in struct{ ID, From, Text string }
	if err := connectors.DecodeJSON(r.Body, &in); err != nil {
		return nil, err
	}
	if in.ID == "" {
		return nil, connectors.BadField("id", "is required") // 400 naming the field
	}
	rec, err := a.host.Publisher.Publish(ctx, &schema.Message{Channel: "acme", Account: "main", ExternalID: in.ID,
		From: schema.Address{Kind: "email", Value: in.From}, Text: in.Text})
	if err != nil {
		return nil, err // ErrUnavailable becomes 503: the provider retries
	}
	return connectors.JSON(http.StatusOK, map[string]any{"id": rec.ID, "duplicate": rec.Duplicate}), nil
}

// printingPublisher stands in for the gateway's durable publisher (package pipeline) so the
// example runs on its own: it prints what a connector hands over.
type printingPublisher struct{ seen map[string]bool }

func (p *printingPublisher) Publish(_ context.Context, m *schema.Message) (connectors.Receipt, error) {
	key := schema.DedupeKey(m.Channel, m.Account, m.ExternalID)
	dup := p.seen[key]
	p.seen[key] = true
	fmt.Printf("published %s from %s: %q (duplicate: %v)\n", m.ExternalID, m.From.Value, m.Text, dup)
	return connectors.Receipt{ID: schema.MessageID(key), Duplicate: dup}, nil
}

func (p *printingPublisher) PublishStatus(context.Context, *schema.StatusUpdate) error { return nil }

// A connector is built from its config and a Host, and serves its endpoints through the
// gateway's Intake, which caps bodies, recovers panics and turns errors into answers.
func Example_webhookConnector() {
	c := &acme{host: connectors.Host{Publisher: &printingPublisher{seen: map[string]bool{}}}, token: "s3cret"}
	mux := http.NewServeMux()
	connectors.NewIntake(connectors.IntakeOptions{}).Mount(mux, c.Endpoints()...)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	post := func(token, body string) {
		req, _ := http.NewRequest("POST", srv.URL+"/acme/hook", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Acme-Token", token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		resp.Body.Close()
		fmt.Println(resp.StatusCode)
	}
	post("s3cret", `{"id": "m1", "from": "ann@example.com", "text": "my invoice is wrong"}`)
	post("s3cret", `{"id": "m1", "from": "ann@example.com", "text": "my invoice is wrong"}`) // the provider retries
	post("guess", `{"id": "m2"}`)
	post("s3cret", `{"from": "ann@example.com"}`)
	// Output:
	// published m1 from ann@example.com: "my invoice is wrong" (duplicate: false)
	// 200
	// published m1 from ann@example.com: "my invoice is wrong" (duplicate: true)
	// 200
	// 401
	// 400
}
