package email

import (
	"bytes"
	"fmt"
	"io"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/charset"
	"github.com/emersion/go-message/mail"
)

// partName is a part's file name: Content-Disposition's filename, else Content-Type's name,
// each in any of their spellings (RFC 2047 encoded words, RFC 2231 extended and continued
// values in any charset go-message's charset package knows). Go's mime package only decodes
// RFC 2231 values in UTF-8 and US-ASCII and silently drops the rest; those are decoded here.
// problem says why a name could not be decoded (the name is then the bytes as far as they
// are readable).
func partName(h message.Header, params map[string]string) (name, problem string) {
	ah := mail.AttachmentHeader{Header: h}
	name, err := ah.Filename()
	if err != nil {
		problem = fmt.Sprintf("filename: %v", err)
	}
	if name == "" {
		name = params["name"]
	}
	if name != "" {
		return name, problem
	}
	for _, f := range []struct{ header, param string }{{"Content-Disposition", "filename"}, {"Content-Type", "name"}} {
		raw := h.Get(f.header)
		if !strings.Contains(strings.ToLower(raw), f.param+"*") {
			continue
		}
		n, p := extendedParam(raw, f.param)
		if n != "" || p != "" {
			return n, p
		}
	}
	return "", problem
}

// extendedParam decodes an RFC 2231 parameter (key*=charset'lang'value, or its continuations
// key*0*=..., key*1=...) from a raw header value.
func extendedParam(raw, key string) (string, string) {
	type piece struct {
		n       int
		encoded bool
		value   string
	}
	var pieces []piece
	for _, p := range splitParams(raw) {
		k, v, ok := strings.Cut(p, "=")
		if !ok {
			continue
		}
		k = strings.ToLower(strings.TrimSpace(k))
		rest, ok := strings.CutPrefix(k, key+"*")
		if !ok {
			continue
		}
		pc := piece{value: unquote(strings.TrimSpace(v))}
		if rest == "" {
			pc.encoded = true
		} else {
			num, enc := strings.CutSuffix(rest, "*")
			n, err := strconv.Atoi(num)
			if err != nil || n < 0 || n > 999 {
				continue
			}
			pc.n, pc.encoded = n, enc
		}
		pieces = append(pieces, pc)
	}
	if len(pieces) == 0 {
		return "", ""
	}
	sort.SliceStable(pieces, func(i, j int) bool { return pieces[i].n < pieces[j].n })
	cs := "us-ascii"
	var b bytes.Buffer
	for i, pc := range pieces {
		v := pc.value
		if i == 0 && pc.encoded {
			parts := strings.SplitN(v, "'", 3)
			if len(parts) != 3 {
				return strings.ToValidUTF8(v, "\uFFFD"), fmt.Sprintf("filename: malformed RFC 2231 value %q", v)
			}
			cs, v = parts[0], parts[2]
		}
		if pc.encoded {
			d, err := url.PathUnescape(v)
			if err != nil {
				return strings.ToValidUTF8(v, "\uFFFD"), fmt.Sprintf("filename: malformed percent-encoding in %q", v)
			}
			v = d
		}
		b.WriteString(v)
	}
	return decodeCharset(cs, b.Bytes())
}

// decodeCharset converts b from charset cs to UTF-8.
func decodeCharset(cs string, b []byte) (string, string) {
	switch strings.ToLower(cs) {
	case "", "us-ascii", "utf-8", "utf8":
		return strings.ToValidUTF8(string(b), "\uFFFD"), ""
	}
	r, err := charset.Reader(cs, bytes.NewReader(b))
	if err == nil {
		var out []byte
		if out, err = io.ReadAll(r); err == nil {
			return strings.ToValidUTF8(string(out), "\uFFFD"), ""
		}
	}
	return strings.ToValidUTF8(string(b), "\uFFFD"), fmt.Sprintf("filename in charset %q cannot be decoded (%v); kept as far as readable", cs, err)
}

// splitParams splits a header value at the semicolons outside quoted strings.
func splitParams(raw string) []string {
	var out []string
	var cur strings.Builder
	quoted, escaped := false, false
	for _, r := range raw {
		switch {
		case escaped:
			escaped = false
		case r == '\\' && quoted:
			escaped = true
		case r == '"':
			quoted = !quoted
		case r == ';' && !quoted:
			out = append(out, cur.String())
			cur.Reset()
			continue
		}
		cur.WriteRune(r)
	}
	return append(out, cur.String())
}

func unquote(v string) string {
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		if u, err := strconv.Unquote(v); err == nil {
			return u
		}
		return v[1 : len(v)-1]
	}
	return v
}
