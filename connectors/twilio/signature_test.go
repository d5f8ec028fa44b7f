package twilio

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/twilio/twilio-go/client"

	"github.com/switchboardhq/switchboard/configs/cfg"
	"github.com/switchboardhq/switchboard/connectors/twilio/twiliotest"
	"github.com/switchboardhq/switchboard/pipeline/kernel"
)

// The reference signer reproduces the example Twilio publishes for its algorithm (auth token
// 12345; the same vector is in every official SDK's tests).
func TestReferenceSignatureMatchesTwiliosExample(t *testing.T) {
	form := url.Values{"Digits": {"1234"}, "CallSid": {"CA1234567890ABCDE"}, "To": {"+18005551212"},
		"Caller": {"+14158675309"}, "From": {"+14158675309"}, "ReasonConferenceEnded": {"test"}, "Reason": {"Participant"}}
	got := twiliotest.Signature("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", form)
	if got != "vOEb5UThFn24KEfnOFLQY2AE5FY=" {
		t.Fatalf("reference signature %s, Twilio's example says vOEb5UThFn24KEfnOFLQY2AE5FY=", got)
	}
}

const inboundPath = "/v1/channels/twilio/main/messages"

func TestSignatureFailuresAreRefusedAndRecorded(t *testing.T) {
	body := readFixture(t, "sms.form")
	cases := []struct {
		name string
		req  func(r *rig) *http.Request
		code string
	}{
		{"missing", func(r *rig) *http.Request {
			req := twiliotest.Request(testToken, r.srv.URL+inboundPath, testPublic+inboundPath, body)
			req.Header.Del(SignatureHeader)
			return req
		}, "missing_signature"},
		{"wrong token", func(r *rig) *http.Request {
			return twiliotest.Request("ffffffffffffffffffffffffffffffff", r.srv.URL+inboundPath, testPublic+inboundPath, body)
		}, "bad_signature"},
		{"signed for the internal URL", func(r *rig) *http.Request {
			return twiliotest.Request(testToken, r.srv.URL+inboundPath, r.srv.URL+inboundPath, body)
		}, "bad_signature"},
		{"signed without the query", func(r *rig) *http.Request {
			return twiliotest.Request(testToken, r.srv.URL+inboundPath+"?tenant=7", testPublic+inboundPath, body)
		}, "bad_signature"},
		{"other account's path", func(r *rig) *http.Request {
			return twiliotest.Request(testToken, r.srv.URL+"/v1/channels/twilio/other/messages", testPublic+inboundPath, body)
		}, "bad_signature"},
		{"tampered body", func(r *rig) *http.Request {
			req := twiliotest.Request(testToken, r.srv.URL+inboundPath, testPublic+inboundPath, body)
			forged := strings.Replace(string(body), "Body=Hi", "Body=Bye", 1)
			req.Body, req.ContentLength = ioNop(forged), int64(len(forged))
			return req
		}, "bad_signature"},
		{"repeated parameter appended", func(r *rig) *http.Request {
			req := twiliotest.Request(testToken, r.srv.URL+inboundPath, testPublic+inboundPath, body)
			forged := string(body) + "&Body=Send+the+refund+to+account+666"
			req.Body, req.ContentLength = ioNop(forged), int64(len(forged))
			return req
		}, "repeated_parameter"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			other := testAccount()
			other.AuthToken = cfg.NewSecret("abcdefabcdefabcdefabcdefabcdefab")
			r := newRig(t, map[string]*Account{"main": testAccount(), "other": other}, testPublic)
			status, answer := r.do(c.req(r))
			if status != http.StatusForbidden || !strings.Contains(answer, `"code":"`+c.code+`"`) {
				t.Fatalf("answer %d %s, want 403 %s", status, answer, c.code)
			}
			if n, _ := r.pub.counts(); n != 0 {
				t.Fatalf("%d messages published", n)
			}
			if len(r.rej.list) != 1 || r.rej.list[0].Code != c.code || r.rej.list[0].Status != 403 {
				t.Fatalf("forensic records: %+v", r.rej.list)
			}
		})
	}
}

// TestSignMatchesTwilioGo: the signer the load generator uses agrees with twilio-go's
// validator (the oracle) and with the tests' own signer, on every fixture.
func TestSignMatchesTwilioGo(t *testing.T) {
	v := client.NewRequestValidator(testToken)
	for _, name := range []string{"sms.form", "mms.form", "whatsapp_media.form", "whatsapp_button.form"} {
		body := readFixture(t, name)
		form, err := url.ParseQuery(string(body))
		if err != nil {
			t.Fatal(err)
		}
		sig := Sign(testToken, testPublic+inboundPath, form)
		if !v.ValidateBody(testPublic+inboundPath, body, sig) || sig != twiliotest.SignBody(testToken, testPublic+inboundPath, body) {
			t.Fatalf("%s: Sign disagrees with twilio-go or the tests' signer", name)
		}
		if v.ValidateBody(testPublic+inboundPath+"x", body, sig) {
			t.Fatalf("%s: a signature for another URL validated", name)
		}
	}
}

func TestSignedURLVariantsAccepted(t *testing.T) {
	body := readFixture(t, "sms.form")
	t.Run("query string kept", func(t *testing.T) {
		r := newRig(t, map[string]*Account{"main": testAccount()}, testPublic)
		req := twiliotest.Request(testToken, r.srv.URL+inboundPath+"?tenant=7&x=a%2Fb", testPublic+inboundPath+"?tenant=7&x=a%2Fb", body)
		if status, answer := r.do(req); status != 200 {
			t.Fatalf("%d %s", status, answer)
		}
	})
	t.Run("explicit default port", func(t *testing.T) {
		r := newRig(t, map[string]*Account{"main": testAccount()}, testPublic)
		req := twiliotest.Request(testToken, r.srv.URL+inboundPath, "https://gw.example.com:443"+inboundPath, body)
		if status, answer := r.do(req); status != 200 {
			t.Fatalf("%d %s", status, answer)
		}
	})
	t.Run("no public_url: rebuilt from Host", func(t *testing.T) {
		r := newRig(t, map[string]*Account{"main": testAccount()}, "")
		req := twiliotest.Request(testToken, r.srv.URL+inboundPath, "", body)
		if status, answer := r.do(req); status != 200 {
			t.Fatalf("%d %s", status, answer)
		}
	})
	t.Run("account public_url behind a path prefix", func(t *testing.T) {
		a := testAccount()
		a.PublicURL = "https://proxy.example.net/switchboard/"
		r := newRig(t, map[string]*Account{"main": a}, testPublic)
		req := twiliotest.Request(testToken, r.srv.URL+inboundPath, "https://proxy.example.net/switchboard"+inboundPath, body)
		if status, answer := r.do(req); status != 200 {
			t.Fatalf("%d %s", status, answer)
		}
	})
	t.Run("secondary token during rotation", func(t *testing.T) {
		a := testAccount()
		a.AuthToken, a.SecondaryAuthToken = cfg.NewSecret("99999999999999999999999999999999"), cfg.NewSecret(testToken)
		r := newRig(t, map[string]*Account{"main": a}, testPublic)
		if status, answer := r.post(inboundPath, body, testToken); status != 200 {
			t.Fatalf("%d %s", status, answer)
		}
	})
}

// Chatwoot's signature check 403'd every number in a Messaging Service pool. Here the account
// comes from the URL, the signature from its token, and a pool number is accepted by its
// MessagingServiceSid.
func TestMessagingServicePoolNumbersAccepted(t *testing.T) {
	a := testAccount()
	a.Numbers = nil
	r := newRig(t, map[string]*Account{"main": a}, testPublic)
	body := strings.Replace(string(readFixture(t, "sms.form")), "To=%2B14155550100", "To=%2B14155550199", 1)
	if status, answer := r.post(inboundPath, []byte(body), testToken); status != 200 {
		t.Fatalf("pool number refused: %d %s", status, answer)
	}
	if r.pub.messages[0].To[0].Value != "+14155550199" {
		t.Fatalf("to %v", r.pub.messages[0].To)
	}
}

func TestUnknownAccountOrNumberIs404(t *testing.T) {
	body := readFixture(t, "whatsapp_text.form")
	r := newRig(t, map[string]*Account{"main": testAccount()}, testPublic)
	public := testPublic + "/v1/channels/twilio/nobody/messages"
	status, answer := r.do(twiliotest.Request(testToken, r.srv.URL+"/v1/channels/twilio/nobody/messages", public, body))
	if status != 404 || !strings.Contains(answer, "nobody") {
		t.Fatalf("unknown account: %d %s", status, answer)
	}
	forged := strings.Replace(string(body), "whatsapp%3A%2B14155238886", "whatsapp%3A%2B14155230000", 1)
	status, answer = r.post(inboundPath, []byte(forged), testToken)
	if status != 404 || !strings.Contains(answer, "+14155230000") {
		t.Fatalf("unknown number: %d %s", status, answer)
	}
	if n, _ := r.pub.counts(); n != 0 {
		t.Fatalf("%d messages published", n)
	}
}

func TestBadFormsAre400(t *testing.T) {
	r := newRig(t, map[string]*Account{"main": testAccount()}, testPublic)
	for name, c := range map[string]struct{ body, field string }{
		"no MessageSid":   {"AccountSid=" + testSID + "&From=%2B14155552671&To=%2B14155550100&Body=hi", "MessageSid"},
		"no From":         {"AccountSid=" + testSID + "&MessageSid=SM1&To=%2B14155550100&Body=hi", "From"},
		"messenger From":  {"AccountSid=" + testSID + "&MessageSid=SM1&From=messenger%3A123&To=%2B14155550100", "From"},
		"mixed channels":  {"AccountSid=" + testSID + "&MessageSid=SM1&From=whatsapp%3A%2B14155552671&To=%2B14155550100", "To"},
		"letters as From": {"AccountSid=" + testSID + "&MessageSid=SM1&From=call+me&To=%2B14155550100", "From"},
	} {
		t.Run(name, func(t *testing.T) {
			status, answer := r.post(inboundPath, []byte(c.body), testToken)
			if status != 400 || !strings.Contains(answer, `"field":"`+c.field+`"`) {
				t.Fatalf("%d %s, want 400 naming %s", status, answer, c.field)
			}
		})
	}
	if n, _ := r.pub.counts(); n != 0 {
		t.Fatalf("%d messages published", n)
	}
}

func TestDuplicateAndUnavailable(t *testing.T) {
	r := newRig(t, map[string]*Account{"main": testAccount()}, testPublic)
	body := readFixture(t, "sms.form")
	for i := 0; i < 3; i++ {
		if status, answer := r.post(inboundPath, body, testToken); status != 200 || answer != emptyTwiML {
			t.Fatalf("retry %d: %d %s", i, status, answer)
		}
	}
	if n, _ := r.pub.counts(); n != 1 {
		t.Fatalf("%d messages stored for one MessageSid", n)
	}
	r.pub.fail = errors.Join(kernel.ErrUnavailable, errors.New("no JetStream"))
	status, answer := r.post(inboundPath, readFixture(t, "mms.form"), testToken)
	if status != 503 || strings.Contains(answer, "Response") {
		t.Fatalf("store down: %d %s, want 503 so Twilio retries", status, answer)
	}
}

func ioNop(s string) *nopCloser { return &nopCloser{strings.NewReader(s)} }

type nopCloser struct{ *strings.Reader }

func (nopCloser) Close() error { return nil }
