package email

import (
	"bytes"
	"net"
	"strings"

	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-msgauth/authres"
	"github.com/emersion/go-msgauth/dkim"

	"github.com/switchboardhq/switchboard/schema"
)

// Authentication says how far a mailbox's sender addresses can be trusted.
type Authentication struct {
	// TrustedAuthservID is the authserv-id your receiving server writes in the
	// Authentication-Results header it adds (e.g. mx.example.com). Only that header is read
	// (the topmost one with that id): a sender can write any other.
	TrustedAuthservID string `yaml:"trusted_authserv_id"`
	// VerifyDKIM checks DKIM signatures here (DNS lookups at ingest) when the trusted header
	// says nothing about DKIM.
	VerifyDKIM bool `yaml:"verify_dkim"`
}

// senderAuth works out the authentication of a message's From address: results from the
// trusted Authentication-Results header, else (when asked) a DKIM check of our own. The
// verdict is pass when DMARC passed, or a DKIM signature of the From domain (or a parent
// domain) verified; fail when DMARC failed, or every DKIM signature failed with nothing else
// passing; none otherwise.
type senderAuth struct {
	cfg       Authentication
	lookupTXT func(domain string) ([]string, error) // nil: DNS
}

func (a *senderAuth) check(raw []byte, h mail.Header, from string) *schema.SenderAuth {
	if a == nil || (a.cfg.TrustedAuthservID == "" && !a.cfg.VerifyDKIM) {
		return nil
	}
	res := &schema.SenderAuth{}
	if a.cfg.TrustedAuthservID != "" {
		a.trusted(res, h)
	}
	if res.DKIM == "" && a.cfg.VerifyDKIM {
		a.verifyDKIM(res, raw, domainOf(from))
	}
	res.Verdict = verdict(res)
	return res
}

// trusted reads the topmost Authentication-Results header of the trusted server.
func (a *senderAuth) trusted(res *schema.SenderAuth, h mail.Header) {
	for _, v := range h.Values("Authentication-Results") {
		id, results, err := authres.Parse(v)
		if err != nil || !strings.EqualFold(id, a.cfg.TrustedAuthservID) {
			continue
		}
		res.Source = "authentication-results:" + id
		for _, r := range results {
			switch r := r.(type) {
			case *authres.SPFResult:
				res.SPF = string(r.Value)
			case *authres.DKIMResult:
				if res.DKIM != string(authres.ResultPass) { // any passing signature counts
					res.DKIM, res.DKIMDomain = string(r.Value), r.Domain
				}
			case *authres.DMARCResult:
				res.DMARC = string(r.Value)
			}
		}
		return
	}
}

// verifyDKIM checks the signatures itself; a signature counts for the From address when its
// domain is the From domain or a parent of it (relaxed alignment).
func (a *senderAuth) verifyDKIM(res *schema.SenderAuth, raw []byte, fromDomain string) {
	lookup := a.lookupTXT
	if lookup == nil {
		lookup = net.LookupTXT
	}
	verifs, err := dkim.VerifyWithOptions(bytes.NewReader(raw), &dkim.VerifyOptions{LookupTXT: lookup, MaxVerifications: 5})
	if err != nil || len(verifs) == 0 {
		if err == nil {
			res.DKIM = string(authres.ResultNone)
		}
		return
	}
	if res.Source == "" {
		res.Source = "dkim"
	}
	res.DKIM = string(authres.ResultFail)
	for _, v := range verifs {
		switch {
		case v.Err == nil && aligned(fromDomain, v.Domain):
			res.DKIM, res.DKIMDomain = string(authres.ResultPass), v.Domain
			return
		case v.Err == nil:
			res.DKIMDomain = v.Domain // valid, but for another domain: proves nothing about From
		case dkim.IsTempFail(v.Err):
			res.DKIM = string(authres.ResultTempError)
		}
	}
}

func verdict(r *schema.SenderAuth) string {
	switch {
	case r.DMARC == "pass" || (r.DKIM == "pass" && r.DMARC == ""):
		return schema.AuthPass
	case r.DMARC == "fail" || (r.DMARC == "" && r.DKIM == "fail" && r.SPF != "pass"):
		return schema.AuthFail
	}
	return schema.AuthNone
}

func aligned(from, signer string) bool {
	from, signer = strings.ToLower(from), strings.ToLower(strings.TrimSuffix(signer, "."))
	return from != "" && (from == signer || strings.HasSuffix(from, "."+signer))
}

func domainOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return addr[i+1:]
	}
	return ""
}
