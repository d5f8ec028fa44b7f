package webchat

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"html/template"
	"net/http"
	"strings"

	"github.com/switchboardhq/switchboard/connectors"
)

//go:embed assets/widget.js
var widgetJS []byte

//go:embed assets/demo.html
var demoHTML string

var (
	demoPage   = template.Must(template.New("demo").Parse(demoHTML))
	widgetETag = func() string { s := sha256.Sum256(widgetJS); return `"` + hex.EncodeToString(s[:8]) + `"` }()
)

// serveWidget serves the embeddable script (any page may load it; sockets check origins).
func (c *Connector) serveWidget(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/javascript; charset=utf-8")
	h.Set("Cache-Control", "public, max-age=300")
	h.Set("ETag", widgetETag)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Access-Control-Allow-Origin", "*")
	if r.Header.Get("If-None-Match") == widgetETag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	_, _ = w.Write(widgetJS)
}

// demoData fills the demo page.
type demoData struct {
	Site, Base, Title, Greeting, User, UserHash string
}

// serveDemo serves /webchat/{site}/demo when the site has demo on. ?user=<id> signs in as
// that user with the site's identity secret, to try verified identities.
func (c *Connector) serveDemo(w http.ResponseWriter, r *http.Request) {
	st := c.sites[r.PathValue("site")]
	if st == nil || !st.cfg.Demo {
		connectors.WriteError(w, connectors.NotFound("no demo page for this site (set demo: true)"))
		return
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	d := demoData{Site: st.name, Base: scheme + "://" + r.Host, Title: st.cfg.Title, Greeting: st.cfg.Greeting}
	if c.host.PublicURL != "" {
		d.Base = strings.TrimRight(c.host.PublicURL, "/")
	}
	if d.Greeting == "" {
		d.Greeting = "Hi! Ask us anything; an agent will answer here."
	}
	if u := r.URL.Query().Get("user"); u != "" && st.cfg.IdentitySecret.Value() != "" && len(u) <= 64 {
		d.User, d.UserHash = u, identityHash(st.cfg.IdentitySecret.Value(), u)
	}
	var b bytes.Buffer
	if err := demoPage.Execute(&b, d); err != nil {
		connectors.WriteError(w, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(b.Bytes())
}
