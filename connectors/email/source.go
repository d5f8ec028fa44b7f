package email

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"go.uber.org/zap"

	"github.com/switchboardhq/switchboard/connectors"
)

// source ingests one folder of one mailbox. Run connects, catches up from the cursor, then
// waits for new mail (IDLE, or polling) and catches up again, until ctx ends or the
// connection fails; the supervisor reconnects with backoff and keeps it on one instance.
type source struct {
	acct    *Account
	folder  string
	dial    *dialer
	creds   *credentials
	cursors *cursorStore
	norm    *normalizer
	pub     connectors.Publisher
	log     *zap.Logger
	poll    time.Duration
	batch   int
}

var _ connectors.Source = (*source)(nil)

// session is one connection's state.
type session struct {
	c       *imapclient.Client
	newMail chan struct{}
	cur     *cursor
}

// Run implements [connectors.Source].
func (s *source) Run(ctx context.Context) error {
	sess := &session{newMail: make(chan struct{}, 1)}
	handler := &imapclient.UnilateralDataHandler{Mailbox: func(d *imapclient.UnilateralDataMailbox) {
		if d.NumMessages != nil {
			select { // runs on the client's reader goroutine: never block, never call the client
			case sess.newMail <- struct{}{}:
			default:
			}
		}
	}}
	c, err := s.dial.imap(ctx, handler)
	if err != nil {
		return err
	}
	sess.c = c
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer func() {
		stop()
		c.Close()
	}()
	if err := s.creds.login(c); err != nil {
		return err
	}
	for {
		if err := s.selectFolder(ctx, sess); err != nil {
			return s.ctxErr(ctx, err)
		}
		if err := s.catchUp(ctx, sess); err != nil {
			return s.ctxErr(ctx, err)
		}
		reselect, err := s.wait(ctx, sess)
		for err == nil && !reselect {
			if err = s.catchUp(ctx, sess); err == nil {
				reselect, err = s.wait(ctx, sess)
			}
		}
		if err != nil {
			return s.ctxErr(ctx, err)
		}
	}
}

// ctxErr reports a clean stop as nil: errors after ctx ended come from closing the client.
func (s *source) ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// selectFolder (re)selects the folder and checks UIDVALIDITY against the cursor: a change
// means every stored UID is void, so the cursor restarts at 0 and the folder is read again
// (messages seen before are recognised by their dedupe key and not ingested twice).
func (s *source) selectFolder(ctx context.Context, sess *session) error {
	readOnly := s.acct.IMAP.AfterIngest == "" || s.acct.IMAP.AfterIngest == "keep"
	sd, err := sess.c.Select(s.folder, &imap.SelectOptions{ReadOnly: readOnly}).Wait()
	if err != nil {
		return fmt.Errorf("select %q: %w", s.folder, err)
	}
	cur, err := s.cursors.load(ctx)
	if err != nil {
		return err
	}
	if cur.UIDValidity != sd.UIDValidity {
		if cur.UIDValidity != 0 {
			s.log.Warn("UIDVALIDITY changed: rescanning the folder; messages seen before are deduplicated",
				zap.Uint32("old", cur.UIDValidity), zap.Uint32("new", sd.UIDValidity), zap.Uint32("last_uid", cur.LastUID))
		}
		cur.UIDValidity, cur.LastUID, cur.RescanBefore, cur.RescanThrough = sd.UIDValidity, 0, time.Time{}, 0
		if w := s.acct.IMAP.RescanWindow.D(); w > 0 && !cur.Newest.IsZero() && sd.UIDNext > 1 {
			cur.RescanBefore, cur.RescanThrough = cur.Newest.Add(-w), uint32(sd.UIDNext)-1
			s.log.Warn("UIDVALIDITY changed: mail that arrived more than imap.rescan_window before the newest mail seen is not read again",
				zap.Time("before", cur.RescanBefore), zap.Uint32("through_uid", cur.RescanThrough))
		}
		if err := s.cursors.save(ctx, cur); err != nil {
			return err
		}
	}
	sess.cur = cur
	return nil
}

// wait blocks until there may be new mail. It returns reselect=true when the catch-up
// period passed (the folder is selected again to notice a UIDVALIDITY change).
func (s *source) wait(ctx context.Context, sess *session) (reselect bool, err error) {
	timer := time.NewTimer(s.poll)
	defer timer.Stop()
	if !s.acct.IMAP.useIdle() || !sess.c.Caps().Has(imap.CapIdle) {
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-sess.c.Closed():
			return false, errors.New("connection closed by the server")
		case <-timer.C:
			return true, sess.c.Noop().Wait()
		}
	}
	idle, err := sess.c.Idle()
	if err != nil {
		return false, fmt.Errorf("idle: %w", err)
	}
	select {
	case <-ctx.Done():
		return false, ctx.Err()
	case <-sess.c.Closed():
		return false, errors.New("connection closed by the server")
	case <-sess.newMail:
	case <-timer.C:
		reselect = true
	}
	if err := idle.Close(); err != nil {
		return false, fmt.Errorf("end idle: %w", err)
	}
	if err := idle.Wait(); err != nil {
		return false, fmt.Errorf("idle: %w", err)
	}
	return reselect, nil
}
