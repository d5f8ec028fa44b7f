package telegram_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/switchboardhq/switchboard/connectors/connectortest"
)

// BenchmarkWebhookUpdate measures one Telegram update through a whole gateway (embedded
// JetStream on disk) until its 200, which comes only after the update is durable.
func BenchmarkWebhookUpdate(b *testing.B) {
	g := startGateway(b, newFakeBotAPI(b, botToken))
	bodies := make([][]byte, b.N)
	for i := range bodies {
		bodies[i] = []byte(fmt.Sprintf(`{"update_id":%d,"message":{"message_id":%d,"date":1730001000,"text":"hello %d","from":{"id":%d,"is_bot":false,"first_name":"A"},"chat":{"id":%d,"type":"private"}}}`,
			i+1, i+1, i, 1000+i%50, 1000+i%50))
	}
	b.ResetTimer()
	cpu0 := connectortest.CPUTime()
	for i := 0; i < b.N; i++ {
		status, resp := g.Do("POST", webhook, "", bodies[i], "X-Telegram-Bot-Api-Secret-Token", secret)
		if status != http.StatusOK {
			b.Fatalf("%d %s", status, resp)
		}
	}
	b.ReportMetric(float64((connectortest.CPUTime()-cpu0).Microseconds())/1000/float64(b.N), "cpu_ms/update")
}
