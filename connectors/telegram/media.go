package telegram

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/switchboardhq/switchboard/connectors"
	"github.com/switchboardhq/switchboard/schema"
)

// FetchMedia implements [connectors.MediaFetcher]: getFile gives the file's path, which is
// downloaded from <api>/file/bot<token>/<path>. Bots may download files up to 20MB; larger
// ones are a permanent failure that leaves the reference on the message.
func (c *Connector) FetchMedia(ctx context.Context, account string, a *schema.Attachment) (io.ReadCloser, string, error) {
	b, ok := c.bots[account]
	if !ok {
		return nil, "", connectors.Permanent("unknown_account", "no Telegram bot account %q", account)
	}
	fileID, ok := strings.CutPrefix(a.URL, FileScheme)
	if !ok || fileID == "" {
		return nil, "", connectors.Permanent("bad_media_url", "attachment url %q is not %s<file_id>", a.URL, FileScheme)
	}
	var f struct {
		FilePath string `json:"file_path"`
	}
	if err := c.callJSON(ctx, b, "getFile", map[string]string{"file_id": fileID}, &f); err != nil {
		return nil, "", err
	}
	if f.FilePath == "" {
		return nil, "", connectors.Permanent("bad_response", "getFile returned no file_path")
	}
	return c.download(ctx, b, f.FilePath)
}

func (c *Connector) download(ctx context.Context, b *bot, filePath string) (io.ReadCloser, string, error) {
	u := c.api + "/file/bot" + b.token + "/" + (&url.URL{Path: filePath}).EscapedPath()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, "", connectors.Permanent("bad_media_url", "%s", redact(err, b))
	}
	return connectors.FetchMediaURL(c.client, req)
}
