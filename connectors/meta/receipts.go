package meta

import (
	"time"

	"encoding/json"

	"github.com/switchboardhq/switchboard/schema"
)

// receiptsOf turns Messenger delivery/read and Instagram seen events into statuses of our
// outbound messages. Events naming messages (mids) become one status each; a bare watermark
// ("everything before t") is resolved at hand-off against the record of recent sends.
func receiptsOf(b *batch, a *account, ev *messagingEvent, to string, raw json.RawMessage) {
	if d := ev.Delivery; d != nil {
		named := 0
		for _, mid := range d.MIDs {
			if mid == "" {
				continue
			}
			named++
			b.status(&schema.StatusUpdate{Channel: a.channel, Account: a.name, ExternalID: mid,
				Status: schema.StatusDelivered, At: atOr(d.Watermark, ev.Timestamp), Raw: raw})
		}
		if named == 0 && d.Watermark > 0 {
			b.Items = append(b.Items, item{Watermark: &watermark{Channel: a.channel, Account: a.name, To: to,
				Before: int64(d.Watermark), Status: schema.StatusDelivered}})
		}
	}
	if r := ev.Read; r != nil {
		switch {
		case r.MID != "":
			b.status(&schema.StatusUpdate{Channel: a.channel, Account: a.name, ExternalID: r.MID,
				Status: schema.StatusRead, At: atOr(0, ev.Timestamp), Raw: raw})
		case r.Watermark > 0:
			b.Items = append(b.Items, item{Watermark: &watermark{Channel: a.channel, Account: a.name, To: to,
				Before: int64(r.Watermark), Status: schema.StatusRead}})
		}
	}
}

// atOr is the first positive millisecond time, as a time; zero when there is none (the
// publisher then stamps the hand-off time).
func atOr(ms ...flexInt) (t time.Time) {
	for _, v := range ms {
		if p := msTime(v); p != nil {
			return *p
		}
	}
	return t
}
