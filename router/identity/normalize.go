package identity

import (
	"fmt"
	"strings"
	"sync"

	"github.com/nyaruka/phonenumbers"

	"github.com/switchboardhq/switchboard/schema"
)

// Normalizer turns channel addresses into canonical identities: lower-case emails, E.164
// phone numbers (national numbers read in the account's region; "whatsapp:+E164" is the
// same person as that number's SMS), and external ids scoped to their account.
type Normalizer struct {
	defRegion string
	regions   map[string]string
	// phones remembers recent phone normalizations (libphonenumber's parse costs ~20 µs, and
	// the intake and the router normalize every message's sender): at most phoneCacheMax,
	// then it starts over.
	mu     sync.Mutex
	phones map[[2]string]phoneResult
}

type phoneResult struct {
	value string
	err   error
}

const phoneCacheMax = 1 << 16

// NewNormalizer returns a normalizer for the identity config.
func NewNormalizer(c Config) *Normalizer {
	return &Normalizer{defRegion: strings.ToUpper(c.DefaultRegion), regions: c.Regions, phones: map[[2]string]phoneResult{}}
}

// phone is [NormalizePhone], remembered.
func (n *Normalizer) phone(value, region string) (string, error) {
	k := [2]string{value, region}
	n.mu.Lock()
	r, ok := n.phones[k]
	n.mu.Unlock()
	if ok {
		return r.value, r.err
	}
	v, err := NormalizePhone(value, region)
	n.mu.Lock()
	if len(n.phones) >= phoneCacheMax {
		clear(n.phones)
	}
	n.phones[k] = phoneResult{v, err}
	n.mu.Unlock()
	return v, err
}

// Region is the phone region for a channel account.
func (n *Normalizer) Region(ch schema.Channel, account string) string {
	if r, ok := n.regions[string(ch)+"/"+account]; ok {
		return strings.ToUpper(r)
	}
	if r, ok := n.regions[account]; ok {
		return strings.ToUpper(r)
	}
	return n.defRegion
}

// Identity returns the canonical identity of an address seen on a channel account. An
// address that cannot be normalized is kept as given, with the reason.
func (n *Normalizer) Identity(ch schema.Channel, account string, a schema.Address) (schema.Identity, error) {
	kind, value := strings.ToLower(strings.TrimSpace(a.Kind)), strings.TrimSpace(a.Value)
	switch kind {
	case "email":
		v, err := NormalizeEmail(value)
		return schema.Identity{Kind: "email", Value: v}, err
	case "phone", "sms", "whatsapp", "tel":
		v, err := n.phone(value, n.Region(ch, account))
		return schema.Identity{Kind: "phone", Value: v}, err
	case "external":
		return schema.Identity{Kind: "external", Value: account + "/" + value}, nil
	}
	return schema.Identity{Kind: kind, Value: value}, nil
}

// Key is an identity as one key of the graph: "kind:value".
func Key(id schema.Identity) string { return id.Kind + ":" + id.Value }

// NormalizeEmail lower-cases an address and strips "mailto:" and angle brackets. It does not
// guess at provider-specific aliases (dots, +tags): those can be different people.
func NormalizeEmail(s string) (string, error) {
	v := strings.ToLower(strings.TrimSpace(s))
	v = strings.TrimPrefix(v, "mailto:")
	if i := strings.LastIndexByte(v, '<'); i >= 0 && strings.HasSuffix(v, ">") {
		v = v[i+1 : len(v)-1]
	}
	at := strings.LastIndexByte(v, '@')
	if at <= 0 || at == len(v)-1 || strings.ContainsAny(v, " \t\r\n") {
		return v, fmt.Errorf("%q is not an email address", s)
	}
	return v, nil
}

// NormalizePhone returns a number in E.164. Prefixes such as "whatsapp:", "tel:" and "sms:"
// are dropped; a national number needs region (ISO 3166-1, e.g. "US").
func NormalizePhone(s, region string) (string, error) {
	v := strings.TrimSpace(s)
	for _, p := range []string{"whatsapp:", "tel:", "sms:"} {
		if len(v) >= len(p) && strings.EqualFold(v[:len(p)], p) {
			v = strings.TrimSpace(v[len(p):])
		}
	}
	if v == "" {
		return v, fmt.Errorf("empty phone number")
	}
	if region == "" && !strings.HasPrefix(v, "+") && !strings.HasPrefix(v, "00") {
		return v, fmt.Errorf("%q is a national number and no region is configured (router.identity.default_region)", s)
	}
	if region == "" {
		region = "ZZ"
		if strings.HasPrefix(v, "00") {
			v = "+" + v[2:]
		}
	}
	num, err := phonenumbers.Parse(v, region)
	if err != nil {
		return v, fmt.Errorf("%q is not a phone number: %v", s, err)
	}
	if !phonenumbers.IsPossibleNumber(num) {
		return v, fmt.Errorf("%q is not a possible phone number in region %s", s, region)
	}
	return phonenumbers.Format(num, phonenumbers.E164), nil
}
