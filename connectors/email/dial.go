package email

import (
	"context"
	"crypto/tls"
	"fmt"
	"mime"
	"net"
	"strconv"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-message/charset"
)

// dialer opens connections to one server with a context: go-imap and go-smtp dial without
// one, so the TCP and TLS setup is done here and handed to their New functions.
type dialer struct {
	srv      *Server
	addr     string
	tls      *tls.Config
	timeout  time.Duration
	implicit bool
}

func newDialer(s *Server, implicitPort, plainPort int) *dialer {
	return &dialer{srv: s, addr: net.JoinHostPort(s.Host, strconv.Itoa(s.port(implicitPort, plainPort))),
		tls:      &tls.Config{ServerName: s.Host, InsecureSkipVerify: s.InsecureSkipVerify, MinVersion: tls.VersionTLS12}, //nolint:gosec // opt-in for test servers
		timeout:  s.Timeout.Or(defaults.IMAP.Timeout.D()),
		implicit: s.TLS == "" || s.TLS == "implicit"}
}

// conn dials TCP (with keepalive, so a dead peer during IDLE is noticed) and, for implicit
// TLS, completes the handshake.
func (d *dialer) conn(ctx context.Context) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	nd := &net.Dialer{KeepAlive: 30 * time.Second}
	c, err := nd.DialContext(ctx, "tcp", d.addr)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", d.addr, err)
	}
	if !d.implicit {
		return c, nil
	}
	tc := tls.Client(c, d.tls)
	if err := tc.HandshakeContext(ctx); err != nil {
		c.Close()
		return nil, fmt.Errorf("tls handshake with %s: %w", d.addr, err)
	}
	return tc, nil
}

// imap connects an IMAP client; STARTTLS is negotiated when configured.
func (d *dialer) imap(ctx context.Context, handler *imapclient.UnilateralDataHandler) (*imapclient.Client, error) {
	conn, err := d.conn(ctx)
	if err != nil {
		return nil, err
	}
	opts := &imapclient.Options{TLSConfig: d.tls, UnilateralDataHandler: handler,
		WordDecoder: &mime.WordDecoder{CharsetReader: charset.Reader}}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	var c *imapclient.Client
	if d.srv.TLS == "starttls" {
		if c, err = imapclient.NewStartTLS(conn, opts); err != nil {
			conn.Close()
			return nil, fmt.Errorf("imap starttls with %s: %w", d.addr, err)
		}
	} else {
		c = imapclient.New(conn, opts)
	}
	if err := c.WaitGreeting(); err != nil {
		c.Close()
		return nil, fmt.Errorf("imap greeting from %s: %w", d.addr, err)
	}
	return c, nil
}

// login authenticates an IMAP client.
func (cr *credentials) login(c *imapclient.Client) error {
	var err error
	if cr.tokens == nil {
		err = c.Login(cr.user, cr.password).Wait()
	} else {
		sc, serr := cr.saslClient(nil)
		if serr != nil {
			return serr
		}
		err = c.Authenticate(sc)
	}
	if err != nil {
		return fmt.Errorf("%w for %s: %v", errAuth, cr.user, err)
	}
	return nil
}
