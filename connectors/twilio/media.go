package twilio

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/switchboardhq/switchboard/connectors"
	"github.com/switchboardhq/switchboard/schema"
)

// FetchMedia implements [connectors.MediaFetcher]: it downloads a MediaUrlN with the
// account's credentials (Twilio's media URLs need HTTP basic auth unless media auth is
// turned off). Credentials go only to Twilio's hosts; Twilio redirects media to its CDN and
// Go drops the Authorization header on a redirect to another host.
func (c *Connector) FetchMedia(ctx context.Context, accountName string, att *schema.Attachment) (io.ReadCloser, string, error) {
	a, ok := c.accounts[accountName]
	if !ok {
		return nil, "", connectors.Permanent("unknown_account", "no twilio account %q is configured", accountName)
	}
	u, err := url.Parse(att.URL)
	if err != nil || u.Scheme != "https" || !twilioHost(u.Hostname()) {
		return nil, "", connectors.Permanent("untrusted_media_url", "the media URL is not an https URL on a Twilio host")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, att.URL, nil)
	if err != nil {
		return nil, "", connectors.Permanent("bad_media_url", "the media URL cannot be requested")
	}
	req.SetBasicAuth(a.user, a.pass)
	return connectors.FetchMediaURL(a.http, req)
}

// twilioHost reports whether host is Twilio's (api.twilio.com, media.twiliocdn.com, ...).
func twilioHost(host string) bool {
	host = strings.ToLower(host)
	for _, d := range []string{"twilio.com", "twiliocdn.com"} {
		if host == d || strings.HasSuffix(host, "."+d) {
			return true
		}
	}
	return false
}
