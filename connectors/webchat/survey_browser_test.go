package webchat_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/switchboardhq/switchboard/cmd/switchboard/app/apptest"
	"github.com/switchboardhq/switchboard/schema"
)

// TestSurveyStarsInChromium: after the chat is resolved the widget shows the CSAT question as
// five stars; clicking the fourth answers it (survey_answered with score 4, from the
// button), the stars stay lit, and the thanks follows.
func TestSurveyStarsInChromium(t *testing.T) {
	rules := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(rules, []byte("queues: {general: {}}\ndefault_queue: general\nsurveys:\n  - {name: chat, kind: csat}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	g := apptest.Start(t, testConfig+fmt.Sprintf("router:\n  agents: [{id: ann}]\n  rules_file: %s\n", rules))
	ctx := browser(t)
	openAndWrite(t, ctx, g.URL, "Where is my parcel?")
	conv := poll(t, ctx, `window.SwitchboardChat.conversation() || ""`, func(v string) bool { return v != "" })
	if st, body := g.Do("POST", "/v1/conversations/"+conv+"/messages", apptest.Token, map[string]any{"text": "It arrives tomorrow."}); st != 202 {
		t.Fatalf("reply: %d %s", st, body)
	}
	if st, body := g.Do("POST", "/v1/conversations/"+conv+"/resolve", apptest.Token, nil); st != 202 {
		t.Fatalf("resolve: %d %s", st, body)
	}
	stars := shadow + `.querySelectorAll(".choices.stars button")`
	poll(t, ctx, stars+`.length + ""`, func(v string) bool { return v == "5" })
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.JSPath(stars+`[3]`))); err != nil {
		t.Fatalf("click the fourth star: %v", err)
	}
	ans := g.Events("sb.conv."+conv+".survey_answered", 1, 15*time.Second)[0].Survey
	if ans == nil || *ans.Score != 4 || ans.Source != "button" || ans.Channel != schema.ChannelWebchat {
		t.Fatalf("answer %+v", ans)
	}
	lit := poll(t, ctx, `Array.from(`+stars+`).map(b => b.classList.contains("chosen") ? "★" : "☆").join("")`,
		func(v string) bool { return v == "★★★★☆" })
	poll(t, ctx, shadow+`.querySelector(".log").innerText`, func(v string) bool { return strings.Contains(v, "Thank you for your feedback!") })
	t.Logf("stars after the click: %s", lit)
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	path := filepath.Join(artifactsDir(t), "webchat-survey.png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}
