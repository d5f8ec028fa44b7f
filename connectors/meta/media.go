package meta

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/switchboardhq/switchboard/connectors"
	"github.com/switchboardhq/switchboard/schema"
)

// FetchMedia implements [connectors.MediaFetcher]. Messenger and Instagram attachments are
// URLs on Meta's CDN, downloaded as they are. WhatsApp media ("whatsapp-media:<id>") takes
// two authenticated calls: the Graph API gives a short-lived URL for the id, which is then
// downloaded with the same token.
func (c *Connector) FetchMedia(ctx context.Context, account string, a *schema.Attachment) (io.ReadCloser, string, error) {
	if id, ok := strings.CutPrefix(a.URL, MediaScheme); ok {
		return c.fetchWhatsAppMedia(ctx, account, id)
	}
	if !isHTTPURL(a.URL) {
		return nil, "", connectors.Permanent("bad_media_url", "attachment url %q is neither http(s) nor %s<id>", a.URL, MediaScheme)
	}
	return c.download(ctx, a.URL, "")
}

// mediaInfo is the Graph API's answer for a WhatsApp media id.
type mediaInfo struct {
	URL      string `json:"url"`
	MimeType string `json:"mime_type"`
	FileSize int64  `json:"file_size"`
}

func (c *Connector) fetchWhatsAppMedia(ctx context.Context, account, id string) (io.ReadCloser, string, error) {
	acct, ok := c.byName[schema.ChannelWhatsApp][account]
	if !ok {
		return nil, "", connectors.Permanent("unknown_account", "no WhatsApp Cloud account %q", account)
	}
	var info mediaInfo
	u := acct.api + "/" + url.PathEscape(id) + "?phone_number_id=" + url.QueryEscape(acct.id)
	if err := c.call(ctx, http.MethodGet, u, acct.token, "", nil, &info); err != nil {
		return nil, "", err
	}
	if !isHTTPURL(info.URL) {
		return nil, "", connectors.Permanent("bad_response", "the Graph API returned no download url for media %s", id)
	}
	rc, ctype, err := c.download(ctx, info.URL, acct.token)
	if err == nil && (ctype == "" || ctype == "application/octet-stream") && info.MimeType != "" {
		ctype = info.MimeType
	}
	return rc, ctype, err
}

// download GETs a media URL (with the token when the URL needs one). The caller's context
// bounds the whole download, which streams into the object store.
func (c *Connector) download(ctx context.Context, u, token string) (io.ReadCloser, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, "", connectors.Permanent("bad_media_url", "%v", err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return connectors.FetchMediaURL(c.client, req)
}
