package email

import (
	"regexp"
	"strings"
)

// stripReply returns the new text of a reply: the body without the quoted history below
// (or interleaved above) it and without the signature. It follows GitHub's
// email_reply_parser (MIT): the body is read bottom-up in fragments (quoted, signature,
// plain), and quoted or signature fragments below the last visible text are hidden. Two
// additions: Outlook's unquoted history ("-----Original Message-----", or a From:/Sent:
// header block) counts as quoted, and the "On ... wrote:" header is recognised in a few
// common languages.
func stripReply(text string) string {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	lines := strings.Split(text, "\n")
	lines = joinQuoteHeaders(lines)
	lines = quoteOutlookHistory(lines)
	lines = separateUnderscores(lines)
	r := &replyReader{}
	for i := len(lines) - 1; i >= 0; i-- {
		r.scan(lines[i])
	}
	r.finish()
	var visible []string
	for i := len(r.fragments) - 1; i >= 0; i-- {
		if f := r.fragments[i]; !f.hidden {
			visible = append(visible, f.content())
		}
	}
	return strings.TrimRight(strings.Join(visible, "\n"), " \t\n")
}

var (
	sigLine     = regexp.MustCompile(`^\s*(--|__)|^-\w|^Sent from my (\s*\w+){1,3}\s*$`)
	quoteHeader = regexp.MustCompile(`^(On|Le|Am|El|Il|Em|Den|Op|W dniu)\s.*(wrote|a écrit|schrieb|escribió|ha scritto|escreveu|skrev|schreef|napisał)(\s.*)?:$|^(From|Sent|To|Subject):`)
	headerStart = regexp.MustCompile(`^(On|Le|Am|El|Il|Em|Den|Op|W dniu)\s`)
	headerEnd   = regexp.MustCompile(`(wrote|a écrit|schrieb|escribió|ha scritto|escreveu|skrev|schreef|napisał)(\s.*)?:\s*$`)
	underscores = regexp.MustCompile(`^_{8,}\s*$`)
)

// fragment is a run of lines sharing a kind, collected bottom-up.
type fragment struct {
	lines     []string // bottom-up
	quoted    bool
	signature bool
	hidden    bool
}

func (f *fragment) content() string {
	out := make([]string, len(f.lines))
	for i, l := range f.lines {
		out[len(f.lines)-1-i] = l
	}
	return strings.Join(out, "\n")
}

type replyReader struct {
	fragments    []*fragment // bottom-up
	cur          *fragment
	foundVisible bool
}

func (r *replyReader) scan(line string) {
	if !sigLine.MatchString(line) {
		line = strings.TrimRight(line, " \t")
	}
	quoted := strings.HasPrefix(line, ">")
	if r.cur != nil && line == "" && sigLine.MatchString(r.cur.lines[len(r.cur.lines)-1]) {
		r.cur.signature = true
		r.finish()
	}
	if r.cur != nil && (r.cur.quoted == quoted || (r.cur.quoted && (quoteHeader.MatchString(line) || line == ""))) {
		r.cur.lines = append(r.cur.lines, line)
		return
	}
	r.finish()
	r.cur = &fragment{quoted: quoted, lines: []string{line}}
}

func (r *replyReader) finish() {
	f := r.cur
	if f == nil {
		return
	}
	if !r.foundVisible {
		if f.quoted || f.signature || strings.TrimSpace(f.content()) == "" {
			f.hidden = true
		} else {
			r.foundVisible = true
		}
	}
	r.fragments = append(r.fragments, f)
	r.cur = nil
}

// joinQuoteHeaders puts an "On <date>, <name> wrote:" header that a client wrapped over
// several lines back on one line.
func joinQuoteHeaders(lines []string) []string {
	out := make([]string, 0, len(lines))
	for i := 0; i < len(lines); i++ {
		end := i
		if headerStart.MatchString(lines[i]) && !headerEnd.MatchString(lines[i]) {
			for j := i + 1; j < len(lines) && j <= i+3; j++ {
				if lines[j] == "" || headerStart.MatchString(lines[j]) {
					break
				}
				if headerEnd.MatchString(lines[j]) {
					end = j
					break
				}
			}
		}
		out = append(out, strings.Join(lines[i:end+1], " "))
		i = end
	}
	return out
}

// quoteOutlookHistory marks everything from Outlook's history separator on as quoted:
// Outlook does not prefix the history with ">".
func quoteOutlookHistory(lines []string) []string {
	for i, l := range lines {
		t := strings.TrimSpace(l)
		isSep := strings.HasPrefix(t, "-----Original Message-----") || strings.HasPrefix(t, "-------- Original Message --------")
		if !isSep && strings.HasPrefix(t, "From:") && i+1 < len(lines) {
			for _, next := range lines[i+1 : min(i+4, len(lines))] {
				n := strings.TrimSpace(next)
				if strings.HasPrefix(n, "Sent:") || strings.HasPrefix(n, "Date:") {
					isSep = true
				}
			}
		}
		if !isSep {
			continue
		}
		out := append([]string(nil), lines[:i]...)
		for _, q := range lines[i:] {
			out = append(out, "> "+q)
		}
		return out
	}
	return lines
}

// separateUnderscores puts a blank line above a line of underscores (a mailing-list or
// Outlook separator), so text written right above it is a fragment of its own.
func separateUnderscores(lines []string) []string {
	out := make([]string, 0, len(lines))
	for i, l := range lines {
		if underscores.MatchString(l) && i > 0 && lines[i-1] != "" {
			out = append(out, "")
		}
		out = append(out, l)
	}
	return out
}
