package meta

import (
	"fmt"
	"strings"
	"testing"

	"github.com/switchboardhq/switchboard/connectors"
)

// BenchmarkVerifyAndNormalize is the CPU part of a webhook POST: the signature over the raw
// body and the normalization of a 50-message WhatsApp batch.
func BenchmarkVerifyAndNormalize(b *testing.B) {
	var msgs []string
	for i := 0; i < 50; i++ {
		msgs = append(msgs, fmt.Sprintf(`{"from":"16505551234","id":"wamid.%d","timestamp":"1750300000","type":"text","text":{"body":"message %d"}}`, i, i))
	}
	body := []byte(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"phone_number_id":"` +
		testPhoneID + `"},"contacts":[{"profile":{"name":"S"},"wa_id":"16505551234"}],"messages":[` + strings.Join(msgs, ",") + `]}}]}]}`)
	sig := signature(testSecret, body)
	c := New(testConfig(""), connectors.Host{})
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := verify(testSecret, sig, body); err != nil {
			b.Fatal(err)
		}
		if bt, err := c.normalize(testApp, body); err != nil || len(bt.Items) != 50 {
			b.Fatal(err)
		}
	}
}
