package twilio

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strconv"

	"github.com/twilio/twilio-go/client"

	"github.com/switchboardhq/switchboard/connectors"
)

// undecodable matches twilio-go's error for an HTTP error whose body is not Twilio's JSON (a
// proxy's 502 page); the status is only in the text.
var undecodable = regexp.MustCompile(`error decoding the response for an HTTP error code: (\d{3})`)

// classify turns a failed REST call into the dispatcher's vocabulary: 429 and 5xx are
// retried with backoff; a request that never left (connection refused, DNS) is retried; other
// Twilio refusals fail the reply with Twilio's error code (21211 invalid To, 21610
// unsubscribed, 63016 outside the WhatsApp window, ...). A transport failure after the
// request may have reached Twilio is not retried: Twilio has no idempotency key, and a second
// copy on the customer's phone is worse than a failed reply the agent can resend.
func classify(err error) error {
	var te *client.TwilioRestError
	var ve *client.RestErrorV1
	switch {
	case errors.As(err, &te):
		return byStatus(te.Status, strconv.Itoa(te.Code), te.Message, err)
	case errors.As(err, &ve):
		return byStatus(ve.HttpStatusCode, strconv.Itoa(ve.Code), ve.Message, err)
	case undecodable.MatchString(err.Error()):
		status, _ := strconv.Atoi(undecodable.FindStringSubmatch(err.Error())[1])
		return byStatus(status, "http_"+strconv.Itoa(status), "Twilio answered "+http.StatusText(status), err)
	case notSent(err):
		return connectors.Temporary(fmt.Errorf("twilio: %w", err), 0)
	}
	return &connectors.PermanentError{Code: "outcome_unknown",
		Message: "the request to Twilio failed after it may have been received; not resent to avoid a duplicate: " + err.Error(), Err: err}
}

func byStatus(status int, code, msg string, err error) error {
	if status == http.StatusTooManyRequests || status >= 500 {
		return connectors.Temporary(fmt.Errorf("twilio answered %d (%s): %s", status, code, msg), 0)
	}
	return &connectors.PermanentError{Code: code, Message: msg, Err: err}
}

// notSent reports whether err happened before the request could reach Twilio.
func notSent(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns)
}
