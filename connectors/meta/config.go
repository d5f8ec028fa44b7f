package meta

import (
	"maps"
	"regexp"
	"slices"

	"github.com/switchboardhq/switchboard/configs/cfg"
	"github.com/switchboardhq/switchboard/schema"
)

// Config is the meta channel's section of the config file: the Meta apps whose webhooks
// Switchboard receives, and the Messenger pages, Instagram accounts and WhatsApp Cloud API
// phone numbers it serves. The keys of messenger, instagram and whatsapp are Switchboard
// account names (unique per channel across connectors: a Twilio WhatsApp account and a
// WhatsApp Cloud account must not share a name).
type Config struct {
	// The Graph API base (an egress proxy, a test fake).
	GraphURL string `yaml:"graph_url" default:"https://graph.facebook.com"`
	// The Graph API version used for sends and media.
	APIVersion string `yaml:"api_version" default:"v23.0"`
	// Bounds one Graph API call.
	Timeout   cfg.Duration          `yaml:"timeout" default:"20s"`
	Apps      map[string]*App       `yaml:"apps" key:"acme"`
	Messenger map[string]*Page      `yaml:"messenger" key:"acme-page"`
	Instagram map[string]*Instagram `yaml:"instagram" key:"acme-ig"`
	WhatsApp  map[string]*WhatsApp  `yaml:"whatsapp" key:"acme-wa"`
}

// App is a Meta app: its webhook (GET/POST /v1/channels/meta/<app>/webhook) is verified
// with these secrets.
type App struct {
	// AppSecret signs every webhook POST (X-Hub-Signature-256).
	AppSecret cfg.Secret `yaml:"app_secret"`
	// VerifyToken is the token you typed in the app dashboard; the GET handshake checks it.
	VerifyToken cfg.Secret `yaml:"verify_token"`
}

// Page is a Facebook Page answered on Messenger.
type Page struct {
	App         string     `yaml:"app"` // optional when only one app is configured
	PageID      string     `yaml:"page_id"`
	AccessToken cfg.Secret `yaml:"access_token"` // a Page access token with pages_messaging
}

// Instagram is an Instagram professional account answered on Instagram messaging.
type Instagram struct {
	App       string `yaml:"app"`
	AccountID string `yaml:"account_id"` // the id webhooks carry as entry.id and recipient.id
	// PageID, for accounts connected through a Facebook Page (Messenger API for Instagram):
	// replies are sent as that page. Without it they are sent as the account itself, which is
	// the Instagram API with Instagram Login (set graph_url to https://graph.instagram.com).
	PageID      string     `yaml:"page_id"`
	GraphURL    string     `yaml:"graph_url"`
	AccessToken cfg.Secret `yaml:"access_token"`
}

// WhatsApp is a WhatsApp Cloud API business phone number.
type WhatsApp struct {
	App           string     `yaml:"app"`
	PhoneNumberID string     `yaml:"phone_number_id"`
	AccessToken   cfg.Secret `yaml:"access_token"` // a system-user token with whatsapp_business_messaging
}

// Defaults (the tags of GraphURL and APIVersion).
var DefaultGraphURL, DefaultAPIVersion = func() (string, string) {
	var c Config
	if err := cfg.SetDefaults(&c); err != nil {
		panic(err)
	}
	return c.GraphURL, c.APIVersion
}()

var (
	numericID  = regexp.MustCompile(`^[0-9]{1,32}$`)
	apiVersion = regexp.MustCompile(`^v[0-9]{1,3}\.[0-9]{1,2}$`)
)

// Validate checks names, cross-references and ids.
func (c *Config) Validate(ck *cfg.Checker) {
	if c.GraphURL != "" {
		ck.BaseURL("graph_url", c.GraphURL)
	}
	if c.APIVersion != "" && !apiVersion.MatchString(c.APIVersion) {
		ck.Errorf("api_version", "must look like v23.0, not %q", c.APIVersion)
	}
	if len(c.Apps) == 0 {
		ck.Errorf("apps", "at least one Meta app is required (its app_secret verifies the webhooks)")
	}
	for _, name := range slices.Sorted(maps.Keys(c.Apps)) {
		if !schema.ValidToken(name) {
			ck.Errorf("apps."+name, "app names may hold only letters, digits, - and _")
		}
	}
	if len(c.Messenger)+len(c.Instagram)+len(c.WhatsApp) == 0 {
		ck.Errorf("", "configure at least one of messenger, instagram, whatsapp")
	}
	seen := map[string]string{}
	for _, name := range slices.Sorted(maps.Keys(c.Messenger)) {
		p := c.Messenger[name]
		c.checkAccount(ck, seen, "messenger", name, p.App, "page_id", p.PageID)
	}
	for _, name := range slices.Sorted(maps.Keys(c.Instagram)) {
		a := c.Instagram[name]
		c.checkAccount(ck, seen, "instagram", name, a.App, "account_id", a.AccountID)
		if a.PageID != "" && !numericID.MatchString(a.PageID) {
			ck.Errorf("instagram."+name+".page_id", "must be the page's numeric id")
		}
		if a.GraphURL != "" {
			ck.BaseURL("instagram."+name+".graph_url", a.GraphURL)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(c.WhatsApp)) {
		w := c.WhatsApp[name]
		c.checkAccount(ck, seen, "whatsapp", name, w.App, "phone_number_id", w.PhoneNumberID)
	}
}

// checkAccount checks one account's name, app reference and id (unique per kind).
func (c *Config) checkAccount(ck *cfg.Checker, seen map[string]string, kind, name, app, idField, id string) {
	path := kind + "." + name
	if !schema.ValidToken(name) {
		ck.Errorf(path, "account names may hold only letters, digits, - and _")
	}
	switch {
	case app == "" && len(c.Apps) > 1:
		ck.Errorf(path+".app", "is required when more than one app is configured")
	case app != "" && c.Apps[app] == nil:
		ck.Errorf(path+".app", "no app %q under apps (have %v)", app, slices.Sorted(maps.Keys(c.Apps)))
	}
	switch {
	case id == "":
		ck.Errorf(path+"."+idField, "is required: the numeric id Meta puts in webhooks")
		return
	case !numericID.MatchString(id):
		ck.Errorf(path+"."+idField, "must be the numeric id Meta puts in webhooks, not %q", id)
		return
	}
	if other, dup := seen[kind+":"+id]; dup {
		ck.Errorf(path+"."+idField, "%s is also configured as %s", id, other)
	}
	seen[kind+":"+id] = path
}

// Validate checks one app.
func (a *App) Validate(ck *cfg.Checker) {
	ck.Required("app_secret", !a.AppSecret.IsSet())
	ck.Required("verify_token", !a.VerifyToken.IsSet())
}

// Validate checks one page.
func (p *Page) Validate(ck *cfg.Checker) { ck.Required("access_token", !p.AccessToken.IsSet()) }

// Validate checks one Instagram account.
func (a *Instagram) Validate(ck *cfg.Checker) { ck.Required("access_token", !a.AccessToken.IsSet()) }

// Validate checks one phone number.
func (w *WhatsApp) Validate(ck *cfg.Checker) { ck.Required("access_token", !w.AccessToken.IsSet()) }
