package email

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/switchboardhq/switchboard/connectors"
	"github.com/switchboardhq/switchboard/pipeline/kernel"
)

// cursor is how far a folder has been ingested: every message with a UID up to LastUID
// under UIDValidity has been published. It lives in the connector's state (JetStream KV)
// and is written with compare-and-set, so an instance that lost its lease cannot move it.
type cursor struct {
	UIDValidity uint32    `json:"uidvalidity"`
	LastUID     uint32    `json:"last_uid"`
	UpdatedAt   time.Time `json:"updated_at"`
	// Newest is the latest INTERNALDATE published from the folder.
	Newest time.Time `json:"newest,omitempty"`
	// A rescan after a UIDVALIDITY change skips the messages up to RescanThrough (the UIDs
	// the folder had when it changed) that arrived before RescanBefore: the gateway
	// recognizes a message seen before only within its message index's horizon, and a
	// rebuilt folder can hold years of mail.
	RescanBefore  time.Time `json:"rescan_before,omitempty"`
	RescanThrough uint32    `json:"rescan_through,omitempty"`

	rev uint64
}

type cursorStore struct {
	state connectors.StateStore
	key   string
}

func newCursorStore(state connectors.StateStore, account, folder string) *cursorStore {
	return &cursorStore{state: state, key: "cursor/" + account + "/" + folder}
}

// load returns the stored cursor, or a zero one when the folder was never read.
func (s *cursorStore) load(ctx context.Context) (*cursor, error) {
	data, rev, err := s.state.Get(ctx, s.key)
	if errors.Is(err, kernel.ErrNotFound) {
		return &cursor{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load cursor: %w", err)
	}
	var c cursor
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("cursor %s is corrupt (%v); delete it to rescan the folder", s.key, err)
	}
	c.rev = rev
	return &c, nil
}

// save writes c if nobody else wrote since it was loaded.
func (s *cursorStore) save(ctx context.Context, c *cursor) error {
	c.UpdatedAt = time.Now().UTC()
	data, _ := json.Marshal(c)
	var rev uint64
	var err error
	if c.rev == 0 {
		rev, err = s.state.Create(ctx, s.key, data)
	} else {
		rev, err = s.state.Update(ctx, s.key, data, c.rev)
	}
	if err != nil {
		return fmt.Errorf("save cursor (uidvalidity %d, uid %d): %w", c.UIDValidity, c.LastUID, err)
	}
	c.rev = rev
	return nil
}
