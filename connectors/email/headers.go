package email

import (
	"fmt"
	"net/mail"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	gomail "github.com/emersion/go-message/mail"

	"github.com/switchboardhq/switchboard/schema"
)

// Limits on header values carried into the message.
const (
	maxIDLen      = 998 // RFC 5322 line length
	maxReferences = 50
)

// addresses reads an address header; when it does not parse, it salvages what looks like
// addresses from the raw value, so a sender is never lost to a malformed display name.
func addresses(h gomail.Header, key string, problems *[]string) []schema.Address {
	list, err := h.AddressList(key)
	if err == nil {
		return toAddresses(list)
	}
	raw := h.Get(key)
	out := salvageAddresses(raw)
	*problems = append(*problems, fmt.Sprintf("%s header %q: %v (salvaged %d addresses)", key, clip(raw, 200), err, len(out)))
	return out
}

func toAddresses(list []*mail.Address) []schema.Address {
	out := make([]schema.Address, 0, len(list))
	for _, a := range list {
		if a == nil || a.Address == "" {
			continue
		}
		out = append(out, schema.Address{Kind: "email", Value: valid(strings.ToLower(a.Address)), Name: valid(a.Name)})
	}
	return out
}

var addrPattern = regexp.MustCompile(`[^\s<>"(),;:\[\]]+@[^\s<>"(),;:\[\]]+`)

func salvageAddresses(raw string) []schema.Address {
	var out []schema.Address
	for _, a := range addrPattern.FindAllString(raw, 20) {
		out = append(out, schema.Address{Kind: "email", Value: valid(strings.ToLower(strings.Trim(a, ".")))})
	}
	return out
}

// subject decodes the Subject; an undecodable one is kept raw.
func subject(h gomail.Header, problems *[]string) string {
	s, err := h.Subject()
	if err != nil {
		*problems = append(*problems, fmt.Sprintf("Subject: %v (kept undecoded)", err))
	}
	return valid(clip(s, 2000))
}

// messageID returns the Message-ID without angle brackets; a malformed one is kept trimmed.
func messageID(h gomail.Header) string {
	id, err := h.MessageID()
	if err != nil || id == "" {
		id = strings.Trim(strings.TrimSpace(h.Get("Message-Id")), "<>")
	}
	if len(id) > maxIDLen || strings.ContainsAny(id, " \t\r\n") || !utf8.ValidString(id) {
		return ""
	}
	return id
}

// idList reads In-Reply-To or References; malformed entries are skipped, and the list keeps
// the first and the last ids when long (RFC 5322 allows trimming the middle).
func idList(h gomail.Header, key string) []string {
	ids, err := h.MsgIDList(key)
	if err != nil {
		ids = nil
		for _, f := range strings.Fields(h.Get(key)) {
			if strings.HasPrefix(f, "<") && strings.HasSuffix(f, ">") && len(f) > 2 {
				ids = append(ids, f[1:len(f)-1])
			}
		}
	}
	out := ids[:0]
	for _, id := range ids {
		if id != "" && len(id) <= maxIDLen && utf8.ValidString(id) {
			out = append(out, id)
		}
	}
	if len(out) > maxReferences {
		out = append(out[:1], out[len(out)-maxReferences+1:]...)
	}
	return out
}

// thread collects the threading headers (Outlook's Thread-Index too).
func thread(h gomail.Header) *schema.Thread {
	t := &schema.Thread{MessageID: messageID(h), InReplyTo: idList(h, "In-Reply-To"), References: idList(h, "References"),
		ThreadIndex: valid(clip(strings.TrimSpace(h.Get("Thread-Index")), 200))}
	if t.MessageID == "" && len(t.InReplyTo) == 0 && len(t.References) == 0 && t.ThreadIndex == "" {
		return nil
	}
	return t
}

// sentAt is the Date header, when it parses and is plausible.
func sentAt(h gomail.Header, problems *[]string) *time.Time {
	if !h.Has("Date") {
		return nil
	}
	d, err := h.Date()
	if err != nil || d.Year() < 1990 {
		*problems = append(*problems, fmt.Sprintf("Date header %q is not a valid date", clip(h.Get("Date"), 100)))
		return nil
	}
	d = d.UTC()
	return &d
}

func valid(s string) string { return strings.ToValidUTF8(s, "\uFFFD") }

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}
