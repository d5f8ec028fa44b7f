package webchat_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/switchboardhq/switchboard/cmd/switchboard/app/apptest"
)

// TestFlowButtonsInChromium runs the shipped triage flow in the widget: the assistant's
// menu shows as buttons, clicking "Something else" answers it, the typed question is answered
// from the knowledge base with a Yes/No question, and clicking Yes resolves the
// conversation without an agent (contained). The messages are labelled as the assistant's.
func TestFlowButtonsInChromium(t *testing.T) {
	g := apptest.Start(t, testConfig+apptest.ShippedFlows(t, "[{id: ann, skills: [general]}]"))
	ctx := browser(t)
	openAndWrite(t, ctx, g.URL, "hi")
	buttons := shadow + `.querySelectorAll(".choices button")`
	poll(t, ctx, `Array.from(`+buttons+`).map(b => b.textContent).join("|")`,
		func(v string) bool { return v == "Billing|Technical problem|Where is my order?|Something else" })
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.JSPath(buttons+`[3]`))); err != nil {
		t.Fatalf("click Something else: %v", err)
	}
	log := shadow + `.querySelector(".log").innerText`
	poll(t, ctx, log, func(v string) bool { return strings.Contains(v, "Tell me in a few words what it is about.") })
	if err := chromedp.Do(ctx, chromedp.SendKeys(el("textarea"), "I forgot my password"+kb.Enter)); err != nil {
		t.Fatal(err)
	}
	poll(t, ctx, log, func(v string) bool {
		return strings.Contains(v, "1. Reset your password") && strings.Contains(v, "Did this answer your question?")
	})
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	path := filepath.Join(artifactsDir(t), "webchat-flow.png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
	yes := shadow + `.querySelectorAll(".msg:last-child .choices button")`
	poll(t, ctx, `Array.from(`+yes+`).map(b => b.textContent).join("|")`, func(v string) bool { return v == "Yes|No" })
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.JSPath(yes+`[0]`))); err != nil {
		t.Fatalf("click Yes: %v", err)
	}
	poll(t, ctx, log, func(v string) bool { return strings.Contains(v, "Glad I could help!") })
	conv := poll(t, ctx, `window.SwitchboardChat.conversation() || ""`, func(v string) bool { return v != "" })
	if r := g.Events("sb.conv."+conv+".resolved", 1, 15*time.Second)[0]; r.Actor != "flow" || !strings.Contains(r.Reason, "contained by flow triage") {
		t.Fatalf("resolved: %q by %q", r.Reason, r.Actor)
	}
	if labels := poll(t, ctx, `Array.from(`+shadow+`.querySelectorAll(".msg.agent .meta")).map(m => m.textContent).join("|")`,
		func(v string) bool { return v != "" }); strings.Contains(labels, "Agent") {
		t.Fatalf("bot messages labelled as an agent's: %s", labels)
	}
}
