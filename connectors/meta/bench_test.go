package meta_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/switchboardhq/switchboard/connectors/connectortest"
)

// whatsappBatch is a signed-ready WhatsApp webhook body with n text messages from n/4
// customers, ids unique per round.
func whatsappBatch(round, n int) []byte {
	var msgs, contacts []string
	for i := 0; i < n; i++ {
		from := fmt.Sprintf("1650555%04d", i%max(n/4, 1))
		msgs = append(msgs, fmt.Sprintf(`{"from":%q,"id":"wamid.bench.%d.%d","timestamp":"1750300000","type":"text","text":{"body":"message %d of round %d"}}`, from, round, i, i, round))
		contacts = append(contacts, fmt.Sprintf(`{"profile":{"name":"Customer %d"},"wa_id":%q}`, i, from))
	}
	return []byte(fmt.Sprintf(`{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":%q},"contacts":[%s],"messages":[%s]}}]}]}`,
		phoneID, strings.Join(contacts, ","), strings.Join(msgs, ",")))
}

// BenchmarkWebhookBatch measures a signed WhatsApp POST through a whole gateway (embedded
// JetStream on disk) until its 200, which comes only after every message is durable.
func BenchmarkWebhookBatch(b *testing.B) {
	for _, n := range []int{1, 10, 50} {
		b.Run(fmt.Sprintf("messages=%d", n), func(b *testing.B) {
			g := startGateway(b, newFakeGraph(b))
			bodies := make([][]byte, b.N)
			for i := range bodies {
				bodies[i] = whatsappBatch(i, n)
			}
			b.ResetTimer()
			cpu0 := connectortest.CPUTime()
			for i := 0; i < b.N; i++ {
				if status, resp := deliver(g, bodies[i]); status != http.StatusOK {
					b.Fatalf("%d %s", status, resp)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*n), "µs/message")
			// The whole process: gateway (HTTP, connector, JetStream, ingest and router working
			// through the messages meanwhile) and the benchmark's HTTP client.
			b.ReportMetric(float64((connectortest.CPUTime()-cpu0).Microseconds())/1000/float64(b.N*n), "cpu_ms/message")
		})
	}
}
