package email

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-smtp"
	"go.uber.org/zap"

	"github.com/switchboardhq/switchboard/connectors"
	"github.com/switchboardhq/switchboard/schema"
)

// sender delivers one account's replies by SMTP submission.
type sender struct {
	name   string
	acct   *Account
	sign   *signer
	dial   *dialer
	creds  *credentials
	sent   *dialer // IMAP, for the Sent folder copy (nil: none)
	icreds *credentials
	blobs  connectors.BlobStore
	log    *zap.Logger
	now    func() time.Time
}

var _ connectors.Sender = (*sender)(nil)

// Send implements [connectors.Sender]. It returns our Message-ID (without brackets) as the
// external id, so that a customer's answer to it can be threaded. 4xx answers and network
// failures are temporary; 5xx answers are permanent, with code smtp_<code>.
func (s *sender) Send(ctx context.Context, m *schema.Message) (connectors.SendResult, error) {
	c, err := compose(ctx, s.acct, s.sign, s.blobs, m, s.now())
	if err != nil {
		return connectors.SendResult{}, err
	}
	if err := s.submit(ctx, c); err != nil {
		return connectors.SendResult{}, classifySMTP(err)
	}
	if s.sent != nil {
		if err := s.appendSent(ctx, c.raw); err != nil {
			s.log.Warn("reply sent, but its copy in the Sent folder failed", zap.String("message", m.ID), zap.Error(err))
		}
	}
	return connectors.SendResult{ExternalID: c.messageID, Status: schema.StatusSent}, nil
}

func (s *sender) submit(ctx context.Context, c *composed) error {
	conn, err := s.dial.conn(ctx)
	if err != nil {
		return err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	var cl *smtp.Client
	if s.acct.SMTP.TLS == "starttls" {
		if cl, err = smtp.NewClientStartTLS(conn, s.dial.tls); err != nil {
			conn.Close()
			return fmt.Errorf("smtp starttls: %w", err)
		}
	} else {
		cl = smtp.NewClient(conn)
	}
	defer cl.Close()
	if err := cl.Hello(s.helo()); err != nil {
		return err
	}
	if ok, _ := cl.Extension("AUTH"); ok && s.acct.SMTP.Auth != "none" {
		sc, err := s.creds.saslClient(cl.SupportsAuth)
		if err != nil {
			return err
		}
		if err := cl.Auth(sc); err != nil {
			return fmt.Errorf("%w: %v", errAuth, err)
		}
	}
	if err := cl.SendMail(s.acct.Address, c.rcpt, bytes.NewReader(c.raw)); err != nil {
		return err
	}
	return cl.Quit()
}

func (s *sender) helo() string {
	if s.acct.SMTP.HeloName != "" {
		return s.acct.SMTP.HeloName
	}
	return s.sign.domain
}

// classifySMTP maps a submission failure onto retry (4xx, network) or failure (5xx, auth).
func classifySMTP(err error) error {
	var se *smtp.SMTPError
	var ne net.Error
	switch {
	case errors.As(err, &se) && se.Code >= 500:
		return connectors.Permanent("smtp_"+strconv.Itoa(se.Code), "%s", strings.TrimSpace(se.Message))
	case errors.As(err, &se):
		return connectors.Temporary(fmt.Errorf("smtp %d: %s", se.Code, se.Message), 0)
	case errors.Is(err, errAuth):
		return connectors.Temporary(err, time.Minute) // credentials may be fixed or a token refreshed
	case errors.As(err, &ne), errors.Is(err, net.ErrClosed), errors.Is(err, context.DeadlineExceeded):
		return connectors.Temporary(err, 0)
	}
	var pe *connectors.PermanentError
	if _, temp := connectors.IsTemporary(err); temp || errors.As(err, &pe) {
		return err
	}
	return connectors.Temporary(err, 0)
}

// appendSent stores a copy of the reply in the Sent folder, flagged \Seen.
func (s *sender) appendSent(ctx context.Context, raw []byte) error {
	c, err := s.sent.imap(ctx, nil)
	if err != nil {
		return err
	}
	defer context.AfterFunc(ctx, func() { c.Close() })()
	defer c.Close()
	if err := s.icreds.login(c); err != nil {
		return err
	}
	cmd := c.Append(s.acct.SMTP.SentFolder, int64(len(raw)), &imap.AppendOptions{Flags: []imap.Flag{imap.FlagSeen}, Time: s.now()})
	if _, err := cmd.Write(raw); err != nil {
		return err
	}
	if err := cmd.Close(); err != nil {
		return err
	}
	if _, err := cmd.Wait(); err != nil {
		return err
	}
	return c.Logout().Wait()
}
