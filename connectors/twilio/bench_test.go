package twilio

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/switchboardhq/switchboard/connectors"
	"github.com/switchboardhq/switchboard/connectors/twilio/twiliotest"
	"github.com/switchboardhq/switchboard/schema"
)

// discard is a publisher that stores nothing: the benchmark measures the connector alone.
type discard struct{ n atomic.Int64 }

func (d *discard) Publish(context.Context, *schema.Message) (connectors.Receipt, error) {
	d.n.Add(1)
	return connectors.Receipt{}, nil
}
func (d *discard) PublishStatus(context.Context, *schema.StatusUpdate) error { return nil }

// BenchmarkReceive is the connector's share of a webhook: signature check, normalization and
// answer, without HTTP or JetStream (go test -bench Receive -benchmem ./connectors/twilio).
func BenchmarkReceive(b *testing.B) {
	for _, name := range []string{"sms", "whatsapp_media"} {
		b.Run(name, func(b *testing.B) {
			body := readFixture(b, name+".form")
			c := New(Config{Accounts: map[string]*Account{"main": testAccount()}}, connectors.Host{Publisher: &discard{}})
			sig := twiliotest.SignBody(testToken, testPublic+inboundPath, body)
			hr, _ := http.NewRequest("POST", inboundPath, strings.NewReader(""))
			hr.SetPathValue("account", "main")
			hr.Header.Set(SignatureHeader, sig)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					r := &connectors.Request{HTTP: hr, Body: body, PublicURL: testPublic + inboundPath}
					if resp, err := c.receive(context.Background(), r); err != nil || resp.Status != 200 {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
