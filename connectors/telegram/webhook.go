package telegram

import (
	"context"
	"crypto/subtle"
	"net/http"

	"github.com/switchboardhq/switchboard/connectors"
)

// SecretHeader carries the setWebhook secret_token on every update.
const SecretHeader = "X-Telegram-Bot-Api-Secret-Token"

// receive handles one update: check the secret token, normalize, hand off, answer 200. A
// callback query is answered in the response body (Telegram runs the method it names), so
// the customer's button stops spinning once the press is durable.
func (c *Connector) receive(ctx context.Context, r *connectors.Request) (*connectors.Response, error) {
	name := r.PathValue("account")
	b, ok := c.bots[name]
	if !ok {
		return nil, connectors.NotFound("no Telegram bot account %q is configured (channels.telegram.bots)", name)
	}
	if subtle.ConstantTimeCompare([]byte(r.Header(SecretHeader)), []byte(b.secret)) != 1 {
		return nil, connectors.Forbidden("bad_secret_token", "%s does not match the bot's secret_token", SecretHeader)
	}
	n, err := normalize(b, r.Body)
	if err != nil {
		return nil, err
	}
	if n.Message == nil {
		c.log.Debug("telegram update ignored: " + n.Ignored)
		return connectors.JSON(http.StatusOK, map[string]any{"ignored": n.Ignored}), nil
	}
	if _, err := c.host.Publisher.Publish(ctx, n.Message); err != nil {
		return nil, err
	}
	if n.Callback != "" {
		return connectors.JSON(http.StatusOK, map[string]string{"method": "answerCallbackQuery", "callback_query_id": n.Callback}), nil
	}
	return connectors.JSON(http.StatusOK, map[string]string{"id": n.Message.ID}), nil
}
