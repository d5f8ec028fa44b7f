package webchat

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/switchboardhq/switchboard/pipeline/kernel"
)

// runtime is what runs while sockets exist: the shared writers, the ping wheel, the status
// publisher, the signal listeners and the index of sessions. It starts with the first socket
// and stops at the end of Drain.
type runtime struct {
	signer   signer
	hub      *hub
	writers  *writerPool
	pinger   *pinger
	statuses *statusQueue
	stops    []func()
}

// runtime returns the running runtime, starting it if needed.
func (c *Connector) runtime(ctx context.Context) (*runtime, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.draining {
		return nil, errDraining
	}
	if c.rt != nil {
		return c.rt, nil
	}
	key, err := c.secret(ctx)
	if err != nil {
		return nil, err
	}
	rt := &runtime{signer: signer{key: key}, hub: newHub()}
	rt.writers = newWriterPool(c, c.lim.writers)
	rt.pinger = newPinger(c.lim.ping)
	rt.statuses = newStatusQueue(c.host.Publisher, c.log, c.metrics)
	if err := c.listen(rt); err != nil {
		rt.stop()
		return nil, err
	}
	c.rt = rt
	return rt, nil
}

var errDraining = errors.New("webchat is shutting down")

// stop ends everything the runtime started.
func (rt *runtime) stop() {
	for _, s := range rt.stops {
		s()
	}
	if rt.pinger != nil {
		rt.pinger.stop()
	}
	if rt.writers != nil {
		rt.writers.stop()
	}
	if rt.statuses != nil {
		rt.statuses.stop(5 * time.Second)
	}
}

// secretKey is where a generated signing secret is kept in the connector's state.
const secretKey = "signing-secret"

// secret returns the configured signing secret, or the generated one kept in state (created
// by whichever instance comes first, so all instances agree).
func (c *Connector) secret(ctx context.Context) ([]byte, error) {
	if v := c.cfg.Secret.Value(); v != "" {
		return []byte(v), nil
	}
	if c.host.State == nil {
		return nil, errors.New("webchat: no secret configured and no state store")
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if v, _, err := c.host.State.Get(ctx, secretKey); err == nil {
		return v, nil
	} else if !errors.Is(err, kernel.ErrNotFound) {
		return nil, fmt.Errorf("webchat: read signing secret: %w", err)
	}
	var b [32]byte
	_, _ = rand.Read(b[:])
	fresh := []byte(base64.RawURLEncoding.EncodeToString(b[:]))
	if _, err := c.host.State.Create(ctx, secretKey, fresh); err == nil {
		return fresh, nil
	} else if !errors.Is(err, kernel.ErrExists) {
		return nil, fmt.Errorf("webchat: store signing secret: %w", err)
	}
	v, _, err := c.host.State.Get(ctx, secretKey)
	if err != nil {
		return nil, fmt.Errorf("webchat: read signing secret: %w", err)
	}
	return v, nil
}

// Drain implements [connectors.Drainer]: every socket gets a close frame (1012, service
// restart) after the acknowledgement of any message being stored, and Drain returns once every
// socket has ended (or ctx ends, then the rest are cut). Messages read but not yet stored are
// not acknowledged: the widget resends them after it reconnects, deduplicated by client id.
func (c *Connector) Drain(ctx context.Context) error {
	c.mu.Lock()
	c.draining = true
	rt := c.rt
	c.mu.Unlock()
	if rt == nil {
		return nil
	}
	for _, s := range rt.hub.snapshot() {
		s.shutdown(closeServiceRestart, "server restarting")
	}
	err := rt.hub.waitEmpty(ctx)
	if err != nil {
		for _, s := range rt.hub.snapshot() {
			s.kill("drain timeout")
		}
		wctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = rt.hub.waitEmpty(wctx)
		cancel()
	}
	rt.stop()
	return err
}

// listen subscribes to the signals sockets care about.
func (c *Connector) listen(rt *runtime) error {
	if c.host.Signals == nil {
		return nil
	}
	stop, err := c.host.Signals.Listen(signalVisitorPrefix, func(topic string, data []byte) { c.onVisitorSignal(rt, topic, data) })
	if err != nil {
		return err
	}
	rt.stops = append(rt.stops, stop)
	stop, err = c.host.Signals.Listen(signalConvPrefix, func(topic string, data []byte) { c.onConvSignal(rt, topic, data) })
	if err != nil {
		return err
	}
	rt.stops = append(rt.stops, stop)
	return nil
}
