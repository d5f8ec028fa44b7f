package connectors

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// FetchMediaURL makes a media download request for a [MediaFetcher] and classifies the
// outcome: a 2xx returns the body (the caller closes it) and its Content-Type; network
// errors, 429 and 5xx are [Temporary] (honouring Retry-After); other statuses are
// [Permanent] with code "media_http_<status>". Errors never quote the URL, which may hold a
// credential (Telegram puts the bot token in the path).
func FetchMediaURL(client *http.Client, req *http.Request) (io.ReadCloser, string, error) {
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, "", Temporary(fmt.Errorf("download media: %w", err), 0)
	}
	if resp.StatusCode/100 == 2 {
		return resp.Body, resp.Header.Get("Content-Type"), nil
	}
	resp.Body.Close()
	err = fmt.Errorf("media download answered %d", resp.StatusCode)
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
		after, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		return nil, "", Temporary(err, time.Duration(after)*time.Second)
	}
	return nil, "", &PermanentError{Code: "media_http_" + strconv.Itoa(resp.StatusCode), Message: err.Error(), Err: err}
}
