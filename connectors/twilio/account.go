package twilio

import (
	"net/http"
	"net/url"
	"strings"
	"sync"

	twilio "github.com/twilio/twilio-go"
	"github.com/twilio/twilio-go/client"

	"github.com/switchboardhq/switchboard/schema"
)

// account is an [Account] compiled for use: validators, the number set, reply senders and
// the REST client.
type account struct {
	name       string
	sid        string
	region     string
	keys       []signatureKey  // the auth tokens (primary, secondary) that sign webhooks
	numbers    map[string]bool // "sms:+1415…", "whatsapp:+1415…"
	service    string          // MessagingServiceSid
	from       map[schema.Channel]string
	publicURL  string // base URL Twilio calls us at; "" means the intake's
	user, pass string // REST and media credentials
	http       *http.Client
	rest       *twilio.RestClient
	contents   sync.Map // content state key → Content SID of choices sent natively
}

func compile(name string, a *Account, publicURL string) *account {
	acct := &account{name: name, sid: a.AccountSID, region: a.region(), numbers: map[string]bool{},
		service: a.MessagingServiceSID, from: map[schema.Channel]string{},
		publicURL: strings.TrimRight(a.PublicURL, "/"), user: a.AccountSID, pass: a.AuthToken.Value()}
	if acct.publicURL == "" {
		acct.publicURL = strings.TrimRight(publicURL, "/")
	}
	for _, tok := range []string{a.AuthToken.Value(), a.SecondaryAuthToken.Value()} {
		if tok != "" {
			acct.keys = append(acct.keys, signatureKey(tok))
		}
	}
	for _, n := range a.Numbers {
		ch, e164, err := parseNumber(n, acct.region)
		if err != nil {
			continue // reported by Validate
		}
		acct.numbers[string(ch)+":"+e164] = true
		if acct.from[ch] == "" {
			acct.from[ch] = twilioAddress(ch, e164)
		}
	}
	if a.APIKeySID != "" {
		acct.user, acct.pass = a.APIKeySID, a.APIKeySecret.Value()
	}
	acct.http = &http.Client{Timeout: a.Timeout.D(), Transport: transport(a.APIURL)}
	base := &client.Client{Credentials: client.NewCredentials(acct.user, acct.pass), HTTPClient: acct.http}
	base.SetAccountSid(a.AccountSID)
	acct.rest = twilio.NewRestClientWithParams(twilio.ClientParams{Client: base})
	return acct
}

// ours reports whether a webhook's To (or its Messaging Service) belongs to this account.
// With neither numbers nor a service configured, every number of the account is accepted:
// the signature already proves the webhook came from Twilio for this account.
func (a *account) ours(ch schema.Channel, to, service string) bool {
	if len(a.numbers) == 0 && a.service == "" {
		return true
	}
	return a.numbers[string(ch)+":"+to] || (a.service != "" && service == a.service)
}

// sender returns the From (or MessagingServiceSid) for replies on ch.
func (a *account) sender(ch schema.Channel) (from, service string) {
	if f := a.from[ch]; f != "" {
		return f, ""
	}
	return "", a.service
}

// statusCallback is the URL Twilio posts a reply's statuses to; "" without a public URL.
func (a *account) statusCallback() string {
	if a.publicURL == "" {
		return ""
	}
	return a.publicURL + "/v1/channels/twilio/" + url.PathEscape(a.name) + "/status"
}

// twilioAddress renders an E.164 number the way Twilio expects it on a channel.
func twilioAddress(ch schema.Channel, e164 string) string {
	if ch == schema.ChannelWhatsApp {
		return whatsappPrefix + e164
	}
	return e164
}

// transport sends REST calls and media downloads to base instead of Twilio's hosts when base
// is set (an egress proxy, a test double); paths and queries are kept.
func transport(base string) http.RoundTripper {
	if base == "" {
		return http.DefaultTransport
	}
	u, err := url.Parse(base)
	if err != nil {
		return http.DefaultTransport // reported by Validate
	}
	return rewrite{target: u}
}

type rewrite struct{ target *url.URL }

func (r rewrite) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.URL.Scheme, req.URL.Host = r.target.Scheme, r.target.Host
	req.Host = r.target.Host
	if p := strings.TrimRight(r.target.Path, "/"); p != "" {
		req.URL.Path = p + req.URL.Path
	}
	return http.DefaultTransport.RoundTrip(req)
}
