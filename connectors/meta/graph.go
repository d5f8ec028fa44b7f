package meta

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/switchboardhq/switchboard/connectors"
)

// graphError is the Graph API's error body.
type graphError struct {
	Error struct {
		Message      string `json:"message"`
		Type         string `json:"type"`
		Code         int    `json:"code"`
		Subcode      int    `json:"error_subcode"`
		IsTransient  bool   `json:"is_transient"`
		ErrorUserMsg string `json:"error_user_msg"`
		ErrorData    struct {
			Details string `json:"details"`
		} `json:"error_data"`
	} `json:"error"`
}

// transientCodes are Graph error codes worth retrying: throttling and temporary outages
// (developers.facebook.com/docs/graph-api/overview/rate-limiting; WhatsApp error codes).
var transientCodes = map[int]bool{
	1: true, 2: true, 4: true, 17: true, 32: true, 341: true, 613: true, 80006: true, 80007: true,
	130429: true, 131000: true, 131048: true, 131056: true, 133004: true,
}

// postJSON posts v to url with the token and decodes the answer into out.
func (c *Connector) postJSON(ctx context.Context, url, token string, v, out any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return connectors.Permanent("encode", "%v", err)
	}
	return c.call(ctx, http.MethodPost, url, token, "application/json", bytes.NewReader(body), out)
}

// call makes one Graph API request. Network errors, 429, 5xx and throttling codes are
// temporary; other refusals are permanent with Meta's code ("code" or "code.subcode").
func (c *Connector) call(ctx context.Context, method, url, token, contentType string, body io.Reader, out any) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return connectors.Permanent("bad_request", "%v", err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return connectors.Temporary(fmt.Errorf("graph api %s: %w", req.URL.Path, err), 0)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		return graphFailure(resp, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return connectors.Permanent("bad_response", "graph api answered %d with an unreadable body: %v", resp.StatusCode, err)
		}
	}
	return nil
}

func graphFailure(resp *http.Response, data []byte) error {
	var ge graphError
	_ = json.Unmarshal(data, &ge)
	e := ge.Error
	msg := e.Message
	if e.ErrorData.Details != "" {
		msg += ": " + e.ErrorData.Details
	}
	if msg == "" {
		msg = http.StatusText(resp.StatusCode)
	}
	err := fmt.Errorf("graph api answered %d (code %d): %s", resp.StatusCode, e.Code, msg)
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 || e.IsTransient || transientCodes[e.Code] {
		after, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		return connectors.Temporary(err, time.Duration(after)*time.Second)
	}
	code := strconv.Itoa(e.Code)
	if e.Code == 0 {
		code = "http_" + strconv.Itoa(resp.StatusCode)
	}
	if e.Subcode != 0 {
		code += "." + strconv.Itoa(e.Subcode)
	}
	return &connectors.PermanentError{Code: code, Message: msg, Err: err}
}
