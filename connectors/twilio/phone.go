package twilio

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/nyaruka/phonenumbers"

	"github.com/switchboardhq/switchboard/schema"
)

// whatsappPrefix marks WhatsApp addresses in Twilio's From and To.
const whatsappPrefix = "whatsapp:"

var errNoNumber = errors.New("is empty")

// parseNumber reads a Twilio address ("+14155550100", "whatsapp:+14155238886", or a
// national number read in region) into its channel and E.164 form.
func parseNumber(s, region string) (schema.Channel, string, error) {
	s = strings.TrimSpace(s)
	ch := schema.ChannelSMS
	if rest, ok := cutPrefixFold(s, whatsappPrefix); ok {
		ch, s = schema.ChannelWhatsApp, strings.TrimSpace(rest)
	} else if i := strings.IndexByte(s, ':'); i > 0 {
		return "", "", fmt.Errorf("%q: unsupported address type %q (want a phone number or whatsapp:+number)", s, s[:i])
	}
	if s == "" {
		return "", "", errNoNumber
	}
	e164, err := toE164(s, region)
	if err != nil {
		return "", "", fmt.Errorf("%q: %w", s, err)
	}
	return ch, e164, nil
}

// toE164 formats a phone number as E.164. Numbers the library cannot validate (new ranges,
// short codes) are kept as digits with a leading + when they were written internationally.
func toE164(s, region string) (string, error) {
	if isE164(s) {
		return s, nil // Twilio's own form: already canonical, and the parser is the webhook's costliest step
	}
	num, err := phonenumbers.Parse(s, region)
	if err == nil && phonenumbers.IsValidNumber(num) {
		return phonenumbers.Format(num, phonenumbers.E164), nil
	}
	digits := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		if r == ' ' || r == '-' || r == '(' || r == ')' || r == '.' {
			return -1
		}
		return 'x'
	}, strings.TrimPrefix(s, "+"))
	if digits == "" || strings.ContainsRune(digits, 'x') || len(digits) > 15 {
		return "", errors.New("is not a phone number")
	}
	if strings.HasPrefix(s, "+") {
		return "+" + digits, nil
	}
	return digits, nil // a short code ("12345") or a national number we cannot place
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

func itoa(i int) string { return strconv.Itoa(i) }

// isE164 reports whether s is already written as E.164: "+", a non-zero digit, 7 to 14 more.
func isE164(s string) bool {
	if len(s) < 9 || len(s) > 16 || s[0] != '+' || s[1] == '0' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
