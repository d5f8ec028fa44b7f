package email_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/emersion/go-message/mail"

	"github.com/switchboardhq/switchboard/cmd/switchboard/app/apptest"
	"github.com/switchboardhq/switchboard/connectors/email/emailtest"
	"github.com/switchboardhq/switchboard/pipeline/streams"
	"github.com/switchboardhq/switchboard/router/survey"
	"github.com/switchboardhq/switchboard/schema"
)

// mailParts reads a mail's text and HTML parts.
func mailParts(t *testing.T, raw []byte) (text, html string) {
	t.Helper()
	mr, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		h, ok := p.Header.(*mail.InlineHeader)
		if !ok {
			continue
		}
		ct, _, _ := h.ContentType()
		b, _ := io.ReadAll(p.Body)
		switch ct {
		case "text/plain":
			text = string(b)
		case "text/html":
			html = string(b)
		}
	}
}

func get(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestEmailSurveyLinks: the survey mail carries one signed link per score; opening a link
// (as a mail scanner would) records nothing; the page's button records the score and the
// comment; forged, altered and expired links get a clear page and record nothing.
func TestEmailSurveyLinks(t *testing.T) {
	imapSrv := emailtest.StartMemIMAP(t, nil)
	sink := emailtest.StartSMTPSink(t)
	imapSrv.Deliver(t, "INBOX", customerMail("first@example.org", "", "Invoice question", "Why was I charged twice?"))
	rules := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(rules, []byte("queues: {general: {}}\ndefault_queue: general\nsurveys:\n  - {name: mail, kind: csat, expire: 2h}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	g := apptest.Start(t, gatewayConfig(t, imapSrv.Addr, sink.Addr, emailtest.Password)+
		fmt.Sprintf("router:\n  agents: [{id: ann}]\n  rules_file: %s\n", rules))
	conv := g.Events("sb.conv.*.opened", 1, 15*time.Second)[0].ConversationID
	if st, body := g.Do("POST", "/v1/conversations/"+conv+"/resolve", apptest.Token, nil); st != 202 {
		t.Fatalf("resolve: %d %s", st, body)
	}
	apptest.Eventually(t, 15*time.Second, func() error {
		if n := len(sink.Received()); n != 1 {
			return fmt.Errorf("%d mails", n)
		}
		return nil
	})
	raw := sink.Received()[0].Data
	h := headerOf(t, raw)
	subj, _ := h.Subject()
	irt, _ := h.MsgIDList("In-Reply-To")
	text, html := mailParts(t, raw)
	links := regexp.MustCompile(`(http://[^\s"]+/survey/[A-Za-z0-9._-]+\?score=(\d))`).FindAllStringSubmatch(text, -1)
	if subj != "Re: Invoice question" || len(irt) != 1 || irt[0] != "first@example.org" || len(links) != 5 ||
		strings.Count(html, "/survey/") != 5 || !strings.Contains(text, "4 – Satisfied: ") {
		t.Fatalf("survey mail: subject %q, In-Reply-To %v, %d links\n%s\n%s", subj, irt, len(links), text, html)
	}
	four := links[3][1]
	if links[3][2] != "4" {
		t.Fatalf("links %v", links)
	}

	// A GET (a scanner prefetching, or the customer's click) shows the page and records nothing.
	for _, l := range links {
		if st, page := get(t, l[1]); st != 200 || !strings.Contains(page, `value="`+l[2]+`" checked`) {
			t.Fatalf("GET %s: %d\n%s", l[1], st, page)
		}
	}
	u, _ := url.Parse(four)
	token := strings.TrimPrefix(u.Path, "/survey/")
	altered := token[:len(token)-2] + flip(token[len(token)-2]) + token[len(token)-1:]
	key := surveyKey(t, g)
	expired := survey.Sign(key, survey.Token{Conversation: conv, Survey: conv + "-s1", Expires: time.Now().Add(-time.Minute)})
	forged := survey.Sign([]byte("not the key"), survey.Token{Conversation: conv, Survey: conv + "-s1", Expires: time.Now().Add(time.Hour)})
	for _, c := range []struct {
		name, token string
		status      int
		says        string
	}{
		{"altered", altered, 403, "This link is not valid"},
		{"forged", forged, 403, "This link is not valid"},
		{"expired", expired, 410, "This survey has closed"},
		{"garbage", "v1.x.y", 403, "This link is not valid"},
	} {
		base := g.URL + "/survey/" + c.token
		if st, page := get(t, base+"?score=1"); st != c.status || !strings.Contains(page, c.says) || strings.Contains(page, "<form") {
			t.Fatalf("%s GET: %d\n%s", c.name, st, page)
		}
		resp, err := http.PostForm(base, url.Values{"score": {"1"}, "comment": {"hacked"}})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status || !strings.Contains(string(b), c.says) {
			t.Fatalf("%s POST: %d\n%s", c.name, resp.StatusCode, b)
		}
	}
	// A valid link with a score off the scale: the form again, with the error.
	resp, err := http.PostForm(g.URL+"/survey/"+token, url.Values{"score": {"9"}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(string(b), "Please choose a score from 1 to 5.") || !strings.Contains(string(b), "<form") {
		t.Fatalf("score 9: %d\n%s", resp.StatusCode, b)
	}
	time.Sleep(500 * time.Millisecond) // anything wrongly recorded would be on the stream by now
	if n := g.StreamCount(streams.StreamConversations, "sb.conv."+conv+".survey_answered"); n != 0 {
		t.Fatalf("%d answers recorded by GETs and bad links", n)
	}

	// In Chromium: the link opens the page with 4 chosen; a comment and the button record it.
	ctx := apptest.Browser(t, 900, 800)
	if err := chromedp.Do(ctx, chromedp.Navigate(four), chromedp.WaitVisible(`button[type=submit]`)); err != nil {
		t.Fatalf("open the link: %v", err)
	}
	shot(t, ctx, "survey-page.png")
	checked, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("input[name=score]:checked").value`))
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(`#comment`, "Sorted out in minutes"),
		chromedp.Click(`button[type=submit]`),
	); err != nil {
		t.Fatal(err)
	}
	if checked != "4" {
		t.Fatalf("the page opened with %q chosen, want 4", checked)
	}
	// The form's POST loads the thanks page (polled: the submit replaces the document).
	apptest.Poll(t, ctx, `document.querySelector(".chosen") ? document.querySelector(".chosen").textContent : ""`,
		func(v string) bool { return v == "★★★★" })
	shot(t, ctx, "survey-thanks.png")
	ans := g.Events("sb.conv."+conv+".survey_answered", 1, 15*time.Second)[0].Survey
	if *ans.Score != 4 || ans.Comment != "Sorted out in minutes" || ans.Source != "link" || ans.Channel != schema.ChannelEmail {
		t.Fatalf("answer %+v", ans)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(g.URL+"/survey/"+altered+"?score=2")); err != nil {
		t.Fatal(err)
	}
	apptest.Poll(t, ctx, `document.querySelector(".error") ? document.querySelector("h1").textContent : ""`,
		func(v string) bool { return v == "This link is not valid" })
	shot(t, ctx, "survey-invalid.png")
}

func flip(b byte) string {
	if b == 'A' {
		return "B"
	}
	return "A"
}

// surveyKey reads the key the gateway made for the survey links (sb_meta survey_key).
func surveyKey(t *testing.T, g *apptest.Gateway) []byte {
	t.Helper()
	kv, err := g.JS.KeyValue(context.Background(), streams.BucketMeta)
	if err != nil {
		t.Fatal(err)
	}
	e, err := kv.Get(context.Background(), "survey_key")
	if err != nil {
		t.Fatal(err)
	}
	return e.Value()
}

func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	path := filepath.Join(apptest.ArtifactsDir(t), name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}
