package email

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"go.uber.org/zap"

	"github.com/switchboardhq/switchboard/pipeline/kernel"
	"github.com/switchboardhq/switchboard/schema"
)

// Batching of a catch-up: messages are fetched, stored and published in groups, and the
// cursor moves once per group (after every message of it was published). Storing and
// publishing are latency-bound (JetStream round trips), so they run on several workers.
const (
	defaultBatch  = 128
	maxBatchBytes = 16 << 20
	workers       = 16
)

var (
	wholeMessage = &imap.FetchItemBodySection{Peek: true} // BODY.PEEK[]: leaves \Seen alone
	headerOnly   = &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, Peek: true}
)

type pending struct {
	uid  imap.UID
	size int64
	date time.Time // INTERNALDATE: when the server received it
}

// catchUp ingests every message above the cursor.
func (s *source) catchUp(ctx context.Context, sess *session) error {
	todo, skippedThrough, err := s.newMessages(sess)
	if err != nil {
		return err
	}
	if len(todo) == 0 && skippedThrough > sess.cur.LastUID {
		sess.cur.LastUID = skippedThrough // only old mail of a rescan was left
		if err := s.cursors.save(ctx, sess.cur); err != nil {
			return err
		}
	}
	for len(todo) > 0 {
		n, bytes := 0, int64(0)
		for n < len(todo) && n < s.batch && (n == 0 || bytes+todo[n].size <= maxBatchBytes) {
			bytes += min(todo[n].size, s.acct.limits().message)
			n++
		}
		if err := s.ingestBatch(ctx, sess, todo[:n]); err != nil {
			return err
		}
		todo = todo[n:]
	}
	return nil
}

// newMessages lists the UIDs above the cursor with their sizes. "UID n:*" always matches the
// highest message even when its UID is below n (RFC 3501), so UIDs are filtered here.
// During a rescan after a UIDVALIDITY change, old mail (see [cursor]) is left out; the
// highest UID left out is returned so the cursor can pass it.
func (s *source) newMessages(sess *session) ([]pending, uint32, error) {
	last := imap.UID(sess.cur.LastUID)
	var set imap.UIDSet
	set.AddRange(last+1, 0)
	msgs, err := sess.c.Fetch(set, &imap.FetchOptions{UID: true, RFC822Size: true, InternalDate: true}).Collect()
	if err != nil {
		return nil, 0, fmt.Errorf("list new messages: %w", err)
	}
	var out []pending
	var skipped int
	var skippedThrough uint32
	cur := sess.cur
	for _, m := range msgs {
		if m.UID <= last {
			continue
		}
		if uint32(m.UID) <= cur.RescanThrough && !m.InternalDate.IsZero() && m.InternalDate.Before(cur.RescanBefore) {
			skipped++
			skippedThrough = max(skippedThrough, uint32(m.UID))
			continue
		}
		out = append(out, pending{uid: m.UID, size: m.RFC822Size, date: m.InternalDate})
	}
	if skipped > 0 {
		s.log.Warn("rescan: not reading again mail that arrived before the rescan window", zap.Int("messages", skipped),
			zap.Time("before", cur.RescanBefore))
	}
	slices.SortFunc(out, func(a, b pending) int { return int(a.uid) - int(b.uid) })
	return out, skippedThrough, nil
}

// ingestBatch fetches, normalizes and publishes a batch in UID order, then moves the cursor.
func (s *source) ingestBatch(ctx context.Context, sess *session, batch []pending) error {
	items, err := s.fetchBodies(sess, batch)
	if err != nil {
		return err
	}
	msgs := make([]*schema.Message, len(items))
	errs := make([]error, len(items))
	parallel(len(items), func(i int) { msgs[i], errs[i] = s.norm.message(ctx, items[i]) })
	for i, err := range errs {
		if err != nil {
			return fmt.Errorf("uid %d: %w", items[i].uid, err)
		}
	}
	if err := s.publishAll(ctx, items, msgs); err != nil {
		return err
	}
	sess.cur.LastUID = uint32(batch[len(batch)-1].uid)
	for _, p := range batch {
		if p.date.After(sess.cur.Newest) {
			sess.cur.Newest = p.date.UTC()
		}
	}
	if err := s.cursors.save(ctx, sess.cur); err != nil {
		return err
	}
	s.afterIngest(sess, batch)
	return nil
}

// publishAll publishes a batch: each sender's messages in UID order, different senders in
// parallel (order matters per sender only: the pipeline partitions by sender).
func (s *source) publishAll(ctx context.Context, items []*fetched, msgs []*schema.Message) error {
	var senders []string
	bySender := map[string][]int{}
	for i, m := range msgs {
		k := m.From.Key()
		if _, ok := bySender[k]; !ok {
			senders = append(senders, k)
		}
		bySender[k] = append(bySender[k], i)
	}
	errs := make([]error, len(senders))
	parallel(len(senders), func(j int) {
		for _, i := range bySender[senders[j]] {
			if err := s.publishWithStatus(ctx, msgs[i]); err != nil {
				errs[j] = fmt.Errorf("uid %d: %w", items[i].uid, err)
				return
			}
		}
	})
	return errors.Join(errs...)
}

// parallel runs f(0..n-1) on at most workers goroutines and waits for all.
func parallel(n int, f func(i int)) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, workers)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			f(i)
		}()
	}
	wg.Wait()
}

// fetchBodies fetches whole messages, and only the header of those over the size cap.
func (s *source) fetchBodies(sess *session, batch []pending) ([]*fetched, error) {
	var whole, big imap.UIDSet
	for _, p := range batch {
		if p.size > s.acct.limits().message {
			big.AddNum(p.uid)
		} else {
			whole.AddNum(p.uid)
		}
	}
	byUID := map[imap.UID]*fetched{}
	for _, f := range []struct {
		set imap.UIDSet
		sec *imap.FetchItemBodySection
	}{{whole, wholeMessage}, {big, headerOnly}} {
		if len(f.set) == 0 {
			continue
		}
		bufs, err := sess.c.Fetch(f.set, &imap.FetchOptions{UID: true, RFC822Size: true,
			BodySection: []*imap.FetchItemBodySection{f.sec}}).Collect()
		if err != nil {
			return nil, fmt.Errorf("fetch: %w", err)
		}
		for _, b := range bufs {
			byUID[b.UID] = &fetched{uid: uint32(b.UID), uidValidity: sess.cur.UIDValidity, size: b.RFC822Size,
				raw: b.FindBodySection(f.sec), headerOnly: f.sec == headerOnly}
		}
	}
	out := make([]*fetched, 0, len(batch))
	for _, p := range batch {
		if f := byUID[p.uid]; f != nil {
			out = append(out, f)
		} else {
			s.log.Warn("message vanished before it could be fetched (expunged by another client)", zap.Uint32("uid", uint32(p.uid)))
		}
	}
	return out, nil
}

// publishWithStatus publishes m and, when it is a bounce of one of our replies, the reply's
// delivery failure (the SMTP server had accepted it; the bounce is the real outcome).
func (s *source) publishWithStatus(ctx context.Context, m *schema.Message) error {
	if err := s.publish(ctx, m); err != nil {
		return err
	}
	if st := bounceStatus(m); st != nil {
		return s.pub.PublishStatus(ctx, st)
	}
	return nil
}

// publish hands a message over; one the contract refuses (a bug, or a size the stream cannot
// take) is published again in a minimal form with the reason, so the mailbox never blocks
// and the message is not lost (its raw copy is referenced).
func (s *source) publish(ctx context.Context, m *schema.Message) error {
	_, err := s.pub.Publish(ctx, m)
	if err == nil || !(errors.Is(err, kernel.ErrInvalidMessage) || errors.Is(err, kernel.ErrTooLarge)) {
		return err
	}
	s.log.Error("message refused; publishing a minimal copy", zap.String("external_id", m.ExternalID), zap.Error(err))
	minimal := &schema.Message{Channel: m.Channel, Account: m.Account, ExternalID: m.ExternalID, From: m.From,
		Subject: clip(m.Subject, 200), Kind: m.Kind, Thread: m.Thread, RawRef: m.RawRef, Metadata: m.Metadata, SentAt: m.SentAt,
		Problems: append(clipList(m.Problems, 20), "the full message could not be published ("+err.Error()+"); see raw_ref")}
	if minimal.From.Value == "" {
		minimal.From = schema.Address{Kind: "email", Value: unknownSender}
	}
	_, err = s.pub.Publish(ctx, minimal)
	return err
}

func clipList(l []string, n int) []string {
	if len(l) > n {
		l = l[:n]
	}
	return append([]string(nil), l...)
}

// afterIngest flags or moves the batch, now that it is durable. A failure is logged: the
// messages are ingested either way and the cursor has moved past them.
func (s *source) afterIngest(sess *session, batch []pending) {
	var set imap.UIDSet
	for _, p := range batch {
		set.AddNum(p.uid)
	}
	var err error
	switch s.acct.IMAP.AfterIngest {
	case "seen":
		err = sess.c.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagSeen}}, nil).Close()
	case "move":
		err = s.move(sess.c, set)
	}
	if err != nil {
		s.log.Warn("after_ingest action failed; the messages stay where they are", zap.String("action", s.acct.IMAP.AfterIngest), zap.Error(err))
	}
}

func (s *source) move(c *imapclient.Client, set imap.UIDSet) error {
	if c.Caps().Has(imap.CapMove) {
		_, err := c.Move(set, s.acct.IMAP.MoveTo).Wait()
		return err
	}
	if _, err := c.Copy(set, s.acct.IMAP.MoveTo).Wait(); err != nil {
		return err
	}
	if err := c.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
		return err
	}
	return c.UIDExpunge(set).Close()
}
