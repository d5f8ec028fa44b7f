package twilio

import (
	"regexp"
	"strings"

	"github.com/nyaruka/phonenumbers"

	"github.com/switchboardhq/switchboard/configs/cfg"
	"github.com/switchboardhq/switchboard/schema"
)

// Config is the twilio channel's section of the config file.
type Config struct {
	// Accounts are named by the path Twilio calls: /v1/channels/twilio/<name>/messages.
	// The name is also the message's account (a NATS subject token).
	Accounts map[string]*Account `yaml:"accounts" key:"main"`
}

// Account is one Twilio sender identity: an account (or subaccount) SID with its auth token,
// the numbers and Messaging Service whose webhooks point here, and where replies come from.
type Account struct {
	// AccountSID is "AC" and 32 hex digits; webhooks for any other account are refused.
	AccountSID string `yaml:"account_sid"`
	// AuthToken signs Twilio's webhooks (X-Twilio-Signature) and, without an API key,
	// authenticates REST calls and media downloads.
	AuthToken cfg.Secret `yaml:"auth_token"`
	// SecondaryAuthToken is also accepted on webhooks while an auth token is being rotated.
	SecondaryAuthToken cfg.Secret `yaml:"secondary_auth_token"`
	// APIKeySID and APIKeySecret, when set, authenticate REST calls and media downloads
	// instead of the auth token (webhooks are still signed with the auth token).
	APIKeySID    string     `yaml:"api_key_sid"`
	APIKeySecret cfg.Secret `yaml:"api_key_secret"`
	// Numbers are this account's numbers in E.164 ("+14155550100") or WhatsApp senders
	// ("whatsapp:+14155238886"). A webhook whose To is none of them (and whose
	// MessagingServiceSid is not MessagingServiceSID) is refused with 404. Replies on a channel
	// are sent from its first number here.
	Numbers []string `yaml:"numbers"`
	// MessagingServiceSID ("MG…") accepts webhooks for every number in the service's pool and
	// sends replies through the service when no number of the reply's channel is listed.
	MessagingServiceSID string `yaml:"messaging_service_sid"`
	// The region (ISO 3166-1 alpha-2) national-format numbers are read in.
	DefaultRegion string `yaml:"default_region" default:"US"`
	// PublicURL overrides http.public_url for this account: the base of the webhook URL as
	// configured in the Twilio console (signatures are checked against it) and of the status
	// callback URL sent with replies.
	PublicURL string `yaml:"public_url"`
	// APIURL replaces https://api.twilio.com for REST calls and media downloads (an egress
	// proxy, a test double). Requests keep their paths.
	APIURL string `yaml:"api_url"`
	// Bounds one REST call.
	Timeout cfg.Duration `yaml:"timeout" default:"15s"`
}

var (
	accountSIDPattern = regexp.MustCompile(`^AC[0-9a-fA-F]{32}$`)
	serviceSIDPattern = regexp.MustCompile(`^MG[0-9a-fA-F]{32}$`)
	apiKeySIDPattern  = regexp.MustCompile(`^SK[0-9a-fA-F]{32}$`)
)

// Validate checks account names.
func (c *Config) Validate(ck *cfg.Checker) {
	if len(c.Accounts) == 0 {
		ck.Errorf("accounts", "configure at least one account")
	}
	for name := range c.Accounts {
		if !schema.ValidToken(name) {
			ck.Errorf("accounts."+name, "account names may hold only letters, digits, - and _")
		}
	}
}

// Validate checks one account.
func (a *Account) Validate(ck *cfg.Checker) {
	if !accountSIDPattern.MatchString(a.AccountSID) {
		ck.Errorf("account_sid", "must be AC followed by 32 hex digits")
	}
	ck.Required("auth_token", !a.AuthToken.IsSet())
	if (a.APIKeySID == "") != !a.APIKeySecret.IsSet() {
		ck.Errorf("api_key_sid", "give both api_key_sid and api_key_secret, or neither")
	}
	if a.APIKeySID != "" && !apiKeySIDPattern.MatchString(a.APIKeySID) {
		ck.Errorf("api_key_sid", "must be SK followed by 32 hex digits")
	}
	if a.MessagingServiceSID != "" && !serviceSIDPattern.MatchString(a.MessagingServiceSID) {
		ck.Errorf("messaging_service_sid", "must be MG followed by 32 hex digits")
	}
	if a.DefaultRegion != "" && !phonenumbers.GetSupportedRegions()[strings.ToUpper(a.DefaultRegion)] {
		ck.Errorf("default_region", "%q is not a region code (write e.g. US, GB, DE)", a.DefaultRegion)
	}
	for i, n := range a.Numbers {
		if _, _, err := parseNumber(n, a.region()); err != nil {
			ck.Errorf("numbers["+itoa(i)+"]", "%v", err)
		}
	}
	ck.BaseURL("public_url", a.PublicURL)
	ck.BaseURL("api_url", a.APIURL)
}

func (a *Account) region() string { return strings.ToUpper(a.DefaultRegion) }
