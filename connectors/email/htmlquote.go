package email

import (
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// htmlReply is the new text of an HTML-only reply: the HTML as text without the quoted
// history that mail clients mark up (blockquote, Gmail's gmail_quote, Yahoo's yahoo_quoted,
// Thunderbird's moz-cite-prefix, and everything from Outlook's divRplyFwdMsg or appendonsend
// marker on), then without the signature (stripReply).
func htmlReply(src string) string {
	doc, err := html.Parse(strings.NewReader(src))
	if err != nil {
		return ""
	}
	w := &htmlWalker{}
	w.walk(doc)
	return stripReply(w.text())
}

type htmlWalker struct {
	lines []string
	cur   strings.Builder
	done  bool // Outlook's history marker was reached
}

func (w *htmlWalker) walk(n *html.Node) {
	if w.done {
		return
	}
	switch n.Type {
	case html.TextNode:
		w.cur.WriteString(n.Data)
		return
	case html.ElementNode:
		if outlookHistory(n) {
			w.done = true
			return
		}
		if quoted(n) {
			return
		}
		if n.DataAtom == atom.Br {
			w.newline()
			return
		}
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		w.walk(c)
	}
	if n.Type == html.ElementNode && blockElement(n.DataAtom) {
		w.newline()
	}
}

func (w *htmlWalker) newline() {
	w.lines = append(w.lines, strings.Join(strings.Fields(w.cur.String()), " "))
	w.cur.Reset()
}

// text joins the lines, with at most one blank line in a row.
func (w *htmlWalker) text() string {
	w.newline()
	var out []string
	for _, l := range w.lines {
		if l == "" && (len(out) == 0 || out[len(out)-1] == "") {
			continue
		}
		out = append(out, l)
	}
	return strings.TrimSpace(strings.Join(out, "\n"))
}

func quoted(n *html.Node) bool {
	switch n.DataAtom {
	case atom.Blockquote:
		return true
	case atom.Script, atom.Style, atom.Head, atom.Title:
		return true
	}
	class := " " + attr(n, "class") + " "
	for _, c := range []string{" gmail_quote ", " gmail_quote_container ", " yahoo_quoted ", " moz-cite-prefix "} {
		if strings.Contains(class, c) {
			return true
		}
	}
	return false
}

func outlookHistory(n *html.Node) bool {
	id := attr(n, "id")
	return id == "divRplyFwdMsg" || id == "appendonsend" || strings.Contains(attr(n, "class"), "OutlookMessageHeader")
}

func blockElement(a atom.Atom) bool {
	switch a {
	case atom.P, atom.Div, atom.Li, atom.Tr, atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6, atom.Table, atom.Ul, atom.Ol, atom.Hr, atom.Pre:
		return true
	}
	return false
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}
