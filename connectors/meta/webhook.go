package meta

import (
	"context"
	"net/http"

	"github.com/switchboardhq/switchboard/connectors"
)

// receipt is the answer to a webhook POST.
type receipt struct {
	Messages   int `json:"messages"`
	Duplicates int `json:"duplicates"`
	Statuses   int `json:"statuses"`
	Ignored    int `json:"ignored"`
}

// receive handles a webhook POST: verify the signature over the raw body, normalize every
// entry, hand every message and status off, and answer 200 only when all are durable. If one
// hand-off fails the answer is 503 and Meta retries the whole POST; what was already stored
// is deduplicated by its mid or wamid.
func (c *Connector) receive(ctx context.Context, r *connectors.Request) (*connectors.Response, error) {
	app, err := c.app(r)
	if err != nil {
		return nil, err
	}
	if err := verify(app.AppSecret.Value(), r.Header(SignatureHeader), r.Body); err != nil {
		return nil, err
	}
	b, err := c.normalize(r.PathValue("app"), r.Body)
	if err != nil {
		return nil, err
	}
	rc, err := c.handOffAll(ctx, b.Items)
	if err != nil {
		return nil, err
	}
	rc.Ignored = len(b.Ignored)
	for _, why := range b.Ignored {
		c.log.Debug("webhook event ignored: " + why)
	}
	return connectors.JSON(http.StatusOK, rc), nil
}

func (c *Connector) handOff(ctx context.Context, it item, rc *receipt) error {
	switch {
	case it.Message != nil:
		res, err := c.host.Publisher.Publish(ctx, it.Message)
		if err != nil {
			return err
		}
		rc.Messages++
		if res.Duplicate {
			rc.Duplicates++
		}
	case it.Status != nil:
		if err := c.host.Publisher.PublishStatus(ctx, it.Status); err != nil {
			return err
		}
		rc.Statuses++
	case it.Watermark != nil:
		n, err := c.resolveWatermark(ctx, it.Watermark)
		if err != nil {
			return err
		}
		rc.Statuses += n
	}
	return nil
}
