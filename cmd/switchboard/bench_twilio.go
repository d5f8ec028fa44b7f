package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/switchboardhq/switchboard/connectors/twilio"
)

// benchTwilioSID is the fake account of the twilio scenario (Twilio's format).
const benchTwilioSID = "AC0000000000000000000000000000beef"

// twilioScenario posts Twilio SMS webhooks to the twilio channel, account "bench", each form
// signed as Twilio signs it (X-Twilio-Signature over the URL the gateway sees and the sorted
// parameters) with the bench token as the auth token. With -target, the gateway's
// http.public_url must be the -target URL, or every request is refused with 403.
type twilioScenario struct{}

func (twilioScenario) Config() string {
	return `channels:
  twilio:
    accounts:
      bench:
        account_sid: ` + benchTwilioSID + `
        auth_token: {env: SWITCHBOARD_BENCH_TOKEN}
        numbers: ["+14155550100"]
`
}

// Customer returns a US number per customer; E.164 already, so the gateway records it as is.
func (twilioScenario) Customer(c int) string { return fmt.Sprintf("+1415%07d", 5550000+c%10_000_000) }

func (s twilioScenario) Request(o *benchOptions, base string, c, seq int, payload string) (*http.Request, error) {
	sum := sha256.Sum256(fmt.Appendf(nil, "%d-%d-%s", c, seq, runID))
	sid := "SM" + hex.EncodeToString(sum[:16])
	form := url.Values{
		"ToCountry": {"US"}, "ToState": {"CA"}, "SmsMessageSid": {sid}, "NumMedia": {"0"}, "ToCity": {"SAN FRANCISCO"},
		"FromZip": {"94105"}, "SmsSid": {sid}, "FromState": {"CA"}, "SmsStatus": {"received"}, "FromCity": {"SAN FRANCISCO"},
		"Body": {fmt.Sprintf("%d\n%s", seq, payload)}, "FromCountry": {"US"}, "To": {"+14155550100"}, "ToZip": {"94105"},
		"NumSegments": {"1"}, "MessageSid": {sid}, "AccountSid": {benchTwilioSID}, "From": {s.Customer(c)},
		"ApiVersion": {"2010-04-01"},
	}
	target := base + "/v1/channels/twilio/bench/messages"
	req, err := http.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", twilio.Sign(o.Token, target, form))
	return req, nil
}

func (twilioScenario) Accepted(status int) bool { return status == http.StatusOK }
