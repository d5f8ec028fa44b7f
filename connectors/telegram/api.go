package telegram

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/connectors"
)

// apiResponse is every Bot API answer.
type apiResponse struct {
	OK          bool            `json:"ok"`
	Result      json.RawMessage `json:"result"`
	ErrorCode   int             `json:"error_code"`
	Description string          `json:"description"`
	Parameters  *struct {
		RetryAfter int `json:"retry_after"`
	} `json:"parameters"`
}

// callJSON calls a Bot API method with a JSON body.
func (c *Connector) callJSON(ctx context.Context, b *bot, method string, v, out any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return connectors.Permanent("encode", "%v", err)
	}
	return c.call(ctx, b, method, "application/json", bytes.NewReader(body), out)
}

// call calls a Bot API method. The token is part of the URL, so every error is redacted
// before it can reach a log or a delivery event.
func (c *Connector) call(ctx context.Context, b *bot, method, contentType string, body io.Reader, out any) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.api+"/bot"+b.token+"/"+method, body)
	if err != nil {
		return connectors.Permanent("bad_request", "%s", redact(err, b))
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := c.client.Do(req)
	if err != nil {
		return connectors.Temporary(fmt.Errorf("telegram %s: %s", method, redact(err, b)), 0)
	}
	defer resp.Body.Close()
	var r apiResponse
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err := json.Unmarshal(data, &r); err != nil && resp.StatusCode == http.StatusOK {
		return connectors.Permanent("bad_response", "telegram %s answered with an unreadable body", method)
	}
	if resp.StatusCode != http.StatusOK || !r.OK {
		return failure(method, resp.StatusCode, &r)
	}
	if out != nil {
		if err := json.Unmarshal(r.Result, out); err != nil {
			return connectors.Permanent("bad_response", "telegram %s: unexpected result: %v", method, err)
		}
	}
	return nil
}

// failure classifies a refusal: 429 (with retry_after) and 5xx are temporary; the rest
// (blocked by the user, chat not found, file too big) are permanent with Telegram's code.
func failure(method string, status int, r *apiResponse) error {
	code := r.ErrorCode
	if code == 0 {
		code = status
	}
	desc := r.Description
	if desc == "" {
		desc = http.StatusText(status)
	}
	err := fmt.Errorf("telegram %s answered %d: %s", method, code, desc)
	if code == http.StatusTooManyRequests || code >= 500 || status >= 500 {
		after := 0
		if r.Parameters != nil {
			after = r.Parameters.RetryAfter
		}
		return connectors.Temporary(err, time.Duration(after)*time.Second)
	}
	return &connectors.PermanentError{Code: "telegram_" + strconv.Itoa(code), Message: desc, Err: err}
}

// redact removes the bot token from an error (net/http errors quote the URL).
func redact(err error, b *bot) string {
	return strings.ReplaceAll(err.Error(), b.token, "<token>")
}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }
