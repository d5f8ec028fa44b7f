package meta

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/switchboardhq/switchboard/pipeline/kernel"
	"github.com/switchboardhq/switchboard/schema"
)

// Messenger read receipts name no message, only a watermark: "everything sent before t was
// read". To turn them into statuses of our messages, the sender keeps, per recipient, the
// last messages it sent (bounded) in the connector's state.

// sentEntry is one message sent to a recipient.
type sentEntry struct {
	ID        string `json:"id"`
	At        int64  `json:"at"` // ms, taken before the send request
	Delivered bool   `json:"delivered,omitempty"`
}

// maxRecent bounds the per-recipient record.
const maxRecent = 25

func recentKey(account, to string) string { return "recent/" + account + "/" + to }

// rememberSent appends sent message ids to the recipient's record. Failures only cost the
// read receipts of those messages, so they are logged, not returned.
func (c *Connector) rememberSent(ctx context.Context, account, to string, ids []string, at time.Time) {
	key := recentKey(account, to)
	for try := 0; try < 5; try++ {
		entries, rev, err := c.recent(ctx, key)
		if err != nil {
			break
		}
		for _, id := range ids {
			entries = append(entries, sentEntry{ID: id, At: at.UnixMilli()})
		}
		if len(entries) > maxRecent {
			entries = entries[len(entries)-maxRecent:]
		}
		if err = c.storeRecent(ctx, key, entries, rev); err == nil {
			return
		}
		if !errors.Is(err, kernel.ErrConflict) && !errors.Is(err, kernel.ErrExists) {
			break
		}
	}
	c.log.Warn("could not record sent messages; their read receipts will be missed")
}

// resolveWatermark publishes the watermark's status for every recorded message sent before
// it, and forgets the messages that are read.
func (c *Connector) resolveWatermark(ctx context.Context, w *watermark) (int, error) {
	key := recentKey(w.Account, w.To)
	entries, rev, err := c.recent(ctx, key)
	if err != nil {
		return 0, fmt.Errorf("%w: recent sends: %v", kernel.ErrUnavailable, err)
	}
	var keep []sentEntry
	n := 0
	for _, e := range entries {
		due := e.At <= w.Before && (w.Status == schema.StatusRead || !e.Delivered)
		if due {
			st := &schema.StatusUpdate{Channel: w.Channel, Account: w.Account, ExternalID: e.ID, Status: w.Status,
				At: time.UnixMilli(w.Before).UTC()}
			if err := c.host.Publisher.PublishStatus(ctx, st); err != nil {
				return n, err
			}
			n++
			e.Delivered = true
		}
		if !(due && w.Status == schema.StatusRead) {
			keep = append(keep, e)
		}
	}
	if n > 0 {
		_ = c.storeRecent(ctx, key, keep, rev) // a conflict only means a repeat later; statuses never go back
	}
	return n, nil
}

func (c *Connector) recent(ctx context.Context, key string) ([]sentEntry, uint64, error) {
	data, rev, err := c.host.State.Get(ctx, key)
	if errors.Is(err, kernel.ErrNotFound) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	var entries []sentEntry
	_ = json.Unmarshal(data, &entries)
	return entries, rev, nil
}

func (c *Connector) storeRecent(ctx context.Context, key string, entries []sentEntry, rev uint64) error {
	data, _ := json.Marshal(entries)
	var err error
	if rev == 0 {
		_, err = c.host.State.Create(ctx, key, data)
	} else {
		_, err = c.host.State.Update(ctx, key, data, rev)
	}
	return err
}
