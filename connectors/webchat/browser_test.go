package webchat_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/switchboardhq/switchboard/cmd/switchboard/app/apptest"
	"github.com/switchboardhq/switchboard/schema"
)

func chromium(t *testing.T) string { return apptest.Chromium(t) }

func artifactsDir(t *testing.T) string { return apptest.ArtifactsDir(t) }

// TestWidgetInChromium is the whole loop in a real browser: the demo page's widget sends a
// visitor message, it appears on the conversation stream, an agent's REST reply appears in
// the page.
func TestWidgetInChromium(t *testing.T) {
	g := apptest.Start(t, testConfig)
	ctx := browser(t)

	const shadow = `document.querySelector("#switchboard-chat").shadowRoot`
	el := func(sel string) chromedp.JSPath { return chromedp.JSPath(shadow + `.querySelector("` + sel + `")`) }
	if err := chromedp.Do(ctx,
		chromedp.Navigate(g.URL+"/webchat/shop/demo"),
		chromedp.WaitVisible(el(".bubble")),
		chromedp.Click(el(".bubble")),
		chromedp.WaitVisible(el("textarea")),
		chromedp.SendKeys(el("textarea"), "Hello from Chromium"+kb.Enter),
	); err != nil {
		t.Fatalf("open the widget and write: %v", err)
	}
	expanded, err := chromedp.Run(ctx, chromedp.Evaluate[string](shadow+`.querySelector(".bubble").getAttribute("aria-expanded")`))
	if err != nil || expanded != "true" {
		t.Fatalf("bubble aria-expanded = %q (%v)", expanded, err)
	}
	conv := poll(t, ctx, `window.SwitchboardChat.conversation() || ""`, func(v string) bool { return v != "" })
	m := g.Events("sb.conv."+conv+".message", 1, 10*time.Second)[0].Message
	if m.Text != "Hello from Chromium" || m.Channel != schema.ChannelWebchat || m.From.Kind != "visitor" ||
		m.Metadata["page"] != g.URL+"/webchat/shop/demo" {
		t.Fatalf("message on the stream: %+v", m)
	}
	poll(t, ctx, `document.getElementById("conversation").textContent`, func(v string) bool { return v == conv })

	status, body := g.Do("POST", "/v1/conversations/"+conv+"/messages", apptest.Token, map[string]any{"text": "Hello from an agent!"})
	if status != 202 {
		t.Fatalf("reply: %d %s", status, body)
	}
	poll(t, ctx, shadow+`.querySelector(".log").innerText`, func(v string) bool {
		return strings.Contains(v, "Hello from an agent!") && strings.Contains(v, "Hello from Chromium")
	})
	var reply struct{ ID string }
	_ = json.Unmarshal(body, &reply)
	waitStatus(t, g, reply.ID, schema.StatusRead) // the panel is open and visible: read at once

	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // quality 100: PNG
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	path := filepath.Join(artifactsDir(t), "webchat-demo.png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// browser starts headless Chromium; it is closed when the test ends.
func browser(t *testing.T) context.Context { return apptest.Browser(t, 1100, 800) }

// TestEmbeddedWidgetShowsTheSiteTitle: a customer's own page with nothing but the one-line
// tag shows the site's configured title and greeting (not the defaults).
func TestEmbeddedWidgetShowsTheSiteTitle(t *testing.T) {
	var gwURL string
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html><head><title>Shop</title></head><body><h1>Our shop</h1>`+
			`<script src="%s/webchat/widget.js" data-site="shop" async></script></body></html>`, gwURL)
	}))
	defer page.Close()
	cfg := strings.Replace(testConfig, "allowed_origins: [https://shop.example]",
		"allowed_origins: [https://shop.example, "+page.URL+"]\n        title: Talk to Shop\n        greeting: Welcome to the shop!", 1)
	g := apptest.Start(t, cfg)
	gwURL = g.URL
	ctx := browser(t)
	const shadow = `document.querySelector("#switchboard-chat").shadowRoot`
	el := func(sel string) chromedp.JSPath { return chromedp.JSPath(shadow + `.querySelector("` + sel + `")`) }
	if err := chromedp.Do(ctx, chromedp.Navigate(page.URL), chromedp.WaitVisible(el(".bubble")), chromedp.Click(el(".bubble")),
		chromedp.WaitVisible(el("textarea"))); err != nil {
		t.Fatalf("open the widget: %v", err)
	}
	poll(t, ctx, shadow+`.querySelector("#sb-title").textContent`, func(v string) bool { return v == "Talk to Shop" })
	poll(t, ctx, shadow+`.querySelector(".log").innerText`, func(v string) bool { return strings.Contains(v, "Welcome to the shop!") })
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	path := filepath.Join(artifactsDir(t), "webchat-embedded.png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

func poll(t *testing.T, ctx context.Context, expr string, ok func(string) bool) string {
	t.Helper()
	return apptest.Poll(t, ctx, expr, ok)
}

// shadow is the widget's shadow root, as a JavaScript expression.
const shadow = `document.querySelector("#switchboard-chat").shadowRoot`

// el selects an element in the widget.
func el(sel string) chromedp.JSPath { return chromedp.JSPath(shadow + `.querySelector("` + sel + `")`) }

// openAndWrite opens the demo page's widget and sends text.
func openAndWrite(t *testing.T, ctx context.Context, base, text string) {
	t.Helper()
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/webchat/shop/demo"),
		chromedp.WaitVisible(el(".bubble")),
		chromedp.Click(el(".bubble")),
		chromedp.WaitVisible(el("textarea")),
		chromedp.SendKeys(el("textarea"), text+kb.Enter),
	); err != nil {
		t.Fatalf("open the widget and write: %v", err)
	}
}
