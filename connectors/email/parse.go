package email

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // non-UTF-8 bodies, subjects and names (else senders vanish)
	"github.com/emersion/go-message/mail"
)

// parsed is what the parser got out of one RFC 5322 message. Parsing never fails: whatever
// cannot be read is recorded in problems, and the raw message is kept beside it.
type parsed struct {
	header   mail.Header
	text     string
	html     string
	parts    []part
	reports  []part // message/delivery-status, message/rfc822 headers of a bounce
	problems []string
}

// part is an attachment or inline image, with its decoded bytes (nil when over the cap).
type part struct {
	name, contentType, contentID string
	inline                       bool
	data                         []byte
	size                         int64
	problem                      string
}

// Caps on what a message contributes to the published JSON (the stream's message limit is
// 1 MiB); the full message is always in the object store.
const (
	maxBodyText  = 256 << 10
	maxHeaderLen = 256 << 10
	maxProblems  = 50
	maxParts     = 100 // parts listed as attachments; the rest are counted
)

// parse reads raw as well as it can.
func parse(raw []byte, lim limits) *parsed {
	p := &parsed{}
	e, err := message.ReadWithOptions(bytes.NewReader(raw), &message.ReadOptions{MaxHeaderBytes: maxHeaderLen})
	if e == nil {
		// The header itself is malformed (a line without a colon): drop the bad lines and
		// read again, so that one broken header does not cost the whole message.
		fixed, dropped := repairHeader(raw)
		p.problem(fmt.Sprintf("malformed header (%v); %d unreadable header lines ignored", err, dropped))
		e, err = message.ReadWithOptions(bytes.NewReader(fixed), &message.ReadOptions{MaxHeaderBytes: maxHeaderLen})
		if e == nil {
			p.problem(fmt.Sprintf("unreadable message: %v", err))
			return p
		}
	}
	if err != nil {
		p.problem("top-level part: " + err.Error())
	}
	p.header = mail.Header{Header: e.Header}
	walkErr := e.Walk(func(path []int, ent *message.Entity, err error) error {
		if ent.MultipartReader() != nil {
			return nil
		}
		p.leaf(path, ent, err, lim)
		return nil
	})
	if walkErr != nil {
		p.problem(fmt.Sprintf("broken MIME structure, later parts may be missing: %v", walkErr))
	}
	return p
}

// leaf sorts one non-multipart entity into text, HTML, a report or an attachment.
func (p *parsed) leaf(path []int, ent *message.Entity, partErr error, lim limits) {
	where := partPath(path)
	if partErr != nil {
		p.problem(fmt.Sprintf("part %s: %v", where, partErr))
	}
	ctype, params, cterr := ent.Header.ContentType()
	switch {
	case cterr != nil && ent.Header.Has("Content-Type"):
		raw := ent.Header.Get("Content-Type")
		ctype = salvageMediaType(raw)
		p.problem(fmt.Sprintf("part %s: unreadable Content-Type %q (read as %s)", where, raw, ctype))
	case ctype == "":
		ctype = "text/plain"
	}
	disp, _, _ := ent.Header.ContentDisposition()
	name, nproblem := partName(ent.Header, params)
	if nproblem != "" {
		p.problem(fmt.Sprintf("part %s: %s", where, nproblem))
	}
	body := (ctype == "text/plain" || ctype == "text/html") && disp != "attachment" && name == ""
	if body {
		p.body(where, ctype, ent.Body)
		return
	}
	pt := part{name: valid(name), contentType: valid(ctype), inline: disp == "inline" || (disp == "" && ent.Header.Has("Content-Id")),
		contentID: valid(strings.Trim(strings.TrimSpace(ent.Header.Get("Content-Id")), "<>"))}
	data, n, err := readCapped(ent.Body, lim.attachment)
	pt.size = n
	switch {
	case errors.Is(err, errOverCap):
		pt.problem = fmt.Sprintf("larger than %d bytes; not stored (it is in the raw message)", lim.attachment)
	case err != nil:
		pt.problem = fmt.Sprintf("read: %v (stored what was readable)", err)
		pt.data = data
	default:
		pt.data = data
	}
	if pt.problem != "" {
		p.problem(fmt.Sprintf("part %s (%s): %s", where, ctype, pt.problem))
	}
	if isReport(ctype) && len(p.reports) < 5 {
		p.reports = append(p.reports, pt)
	}
	if len(p.parts) == maxParts {
		p.problem(fmt.Sprintf("more than %d attachments: the rest are only in the raw message", maxParts))
	}
	if len(p.parts) < maxParts {
		p.parts = append(p.parts, pt)
	}
}

// body appends a text or HTML body part (a message may have several, e.g. text around an
// inline image).
func (p *parsed) body(where, ctype string, r io.Reader) {
	data, _, err := readCapped(r, maxBodyText)
	switch {
	case errors.Is(err, errOverCap):
		p.problem(fmt.Sprintf("part %s: %s body truncated at %d bytes (the full message is in raw_ref)", where, ctype, maxBodyText))
	case err != nil:
		p.problem(fmt.Sprintf("part %s: %s body: %v (kept what was readable)", where, ctype, err))
	}
	dst := &p.text
	if ctype == "text/html" {
		dst = &p.html
	}
	if len(*dst)+len(data) > maxBodyText {
		p.problem(fmt.Sprintf("part %s: %s body dropped: the message's bodies exceed %d bytes (see raw_ref)", where, ctype, maxBodyText))
		return
	}
	if *dst != "" {
		*dst += "\n"
	}
	*dst += strings.ToValidUTF8(string(data), "\uFFFD")
}

// problem records a problem; past maxProblems they are only counted.
func (p *parsed) problem(s string) {
	switch {
	case len(p.problems) < maxProblems:
		p.problems = append(p.problems, s)
	case len(p.problems) == maxProblems:
		p.problems = append(p.problems, "more problems not listed")
	}
}

var mediaTypePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9.+-]*/[a-z0-9][a-z0-9.+-]*`)

// salvageMediaType reads the type/subtype at the start of a Content-Type that does not
// parse (bad parameters), or falls back to application/octet-stream.
func salvageMediaType(raw string) string {
	if t := mediaTypePattern.FindString(strings.ToLower(strings.TrimSpace(raw))); t != "" {
		return t
	}
	return "application/octet-stream"
}

func isReport(ctype string) bool {
	switch ctype {
	case "message/delivery-status", "message/global-delivery-status", "text/rfc822-headers", "message/rfc822":
		return true
	}
	return false
}

func partPath(path []int) string {
	if len(path) == 0 {
		return "1"
	}
	s := make([]string, len(path))
	for i, n := range path {
		s[i] = fmt.Sprint(n + 1)
	}
	return strings.Join(s, ".")
}

var errOverCap = errors.New("over the size cap")

// readCapped reads at most max bytes; more is errOverCap (with the count read so far), and a
// read error returns what was read before it.
func readCapped(r io.Reader, max int64) ([]byte, int64, error) {
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(r, max+1))
	if err != nil {
		return buf.Bytes(), n, err
	}
	if n > max {
		rest, _ := io.Copy(io.Discard, r)
		return buf.Bytes()[:max], n + rest, errOverCap
	}
	return buf.Bytes(), n, nil
}

// repairHeader drops header lines that are neither "Name: value" nor a continuation.
func repairHeader(raw []byte) ([]byte, int) {
	var out bytes.Buffer
	dropped := 0
	br := bufio.NewReader(bytes.NewReader(raw))
	for first := true; ; first = false {
		line, err := br.ReadBytes('\n')
		if first {
			line = bytes.TrimLeft(line, " \t") // a header cannot start with a continuation
		}
		trimmed := bytes.TrimRight(line, "\r\n")
		if len(trimmed) == 0 {
			out.Write(line)
			break
		}
		colon := bytes.IndexByte(trimmed, ':')
		valid := (!first && (trimmed[0] == ' ' || trimmed[0] == '\t')) ||
			(colon > 0 && bytes.IndexAny(trimmed[:colon], " \t") < 0)
		if valid {
			out.Write(line)
		} else {
			dropped++
		}
		if err != nil {
			return out.Bytes(), dropped
		}
	}
	rest, _ := io.ReadAll(br)
	out.Write(rest)
	return out.Bytes(), dropped
}
