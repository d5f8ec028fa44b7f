package twilio

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/configs/cfg"
	"github.com/switchboardhq/switchboard/connectors"
	"github.com/switchboardhq/switchboard/connectors/twilio/twiliotest"
	"github.com/switchboardhq/switchboard/schema"
)

// senderRig is the connector sending through the real twilio-go client to a fake Twilio.
func senderRig(t *testing.T, mutate func(*Account)) (*Connector, *twiliotest.API) {
	t.Helper()
	fake := twiliotest.NewAPI(testSID, testToken)
	t.Cleanup(fake.Close)
	a := testAccount()
	a.APIURL = fake.URL
	a.Timeout = cfg.Duration(5 * time.Second)
	if mutate != nil {
		mutate(a)
	}
	return New(Config{Accounts: map[string]*Account{"main": a}}, connectors.Host{PublicURL: testPublic}), fake
}

func reply(ch schema.Channel, text string) *schema.Message {
	now := time.Now().Add(-time.Hour)
	return &schema.Message{ID: "msg_1", Channel: ch, Account: "main", Direction: schema.Outbound, Text: text,
		To: []schema.Address{{Kind: "phone", Value: "+447911123456"}}, LastInboundAt: &now}
}

func TestSendSMSRequest(t *testing.T) {
	c, fake := senderRig(t, nil)
	m := reply(schema.ChannelSMS, "Your parcel ships today.")
	m.Attachments = []schema.Attachment{{URL: "https://cdn.example.com/label.pdf"}}
	res, err := c.Send(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(res.ExternalID, "SM") || res.Status != schema.StatusQueued {
		t.Fatalf("result %+v", res)
	}
	calls := fake.Calls()
	if len(calls) != 1 {
		t.Fatalf("%d calls", len(calls))
	}
	call := calls[0]
	want := map[string]string{"To": "+447911123456", "From": "+14155550100", "Body": "Your parcel ships today.",
		"StatusCallback": testPublic + "/v1/channels/twilio/main/status", "MediaUrl": "https://cdn.example.com/label.pdf"}
	if call.Method != "POST" || call.Path != "/2010-04-01/Accounts/"+testSID+"/Messages.json" ||
		call.User != testSID || call.Pass != testToken {
		t.Fatalf("call %s %s as %s", call.Method, call.Path, call.User)
	}
	for k, v := range want {
		if call.Form.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, call.Form.Get(k), v)
		}
	}
	if len(call.Form) != len(want) {
		t.Errorf("unexpected fields in %v", call.Form)
	}
}

func TestSendWhatsAppTemplateOutsideWindow(t *testing.T) {
	c, fake := senderRig(t, nil)
	m := reply(schema.ChannelWhatsApp, "")
	old := time.Now().Add(-30 * time.Hour)
	m.LastInboundAt = &old
	m.Template = &schema.Template{Name: "HXb5b62575e6e4ff6129ad7c8efe1f983e", Variables: map[string]string{"1": "12/1", "2": "3pm"}}
	if _, err := c.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	f := fake.Calls()[0].Form
	var vars map[string]string
	_ = json.Unmarshal([]byte(f.Get("ContentVariables")), &vars)
	if f.Get("To") != "whatsapp:+447911123456" || f.Get("From") != "whatsapp:+14155238886" ||
		f.Get("ContentSid") != m.Template.Name || vars["1"] != "12/1" || vars["2"] != "3pm" || f.Has("Body") {
		t.Fatalf("form %v", f)
	}
}

func TestSendWhatsAppWindow(t *testing.T) {
	c, fake := senderRig(t, nil)
	for name, last := range map[string]*time.Time{"never wrote": nil, "25h ago": ptr(time.Now().Add(-25 * time.Hour))} {
		m := reply(schema.ChannelWhatsApp, "Following up")
		m.LastInboundAt = last
		_, err := c.Send(context.Background(), m)
		var pe *connectors.PermanentError
		if !errors.As(err, &pe) || pe.Code != CodeOutsideWindow {
			t.Fatalf("%s: %v, want %s", name, err, CodeOutsideWindow)
		}
	}
	if len(fake.Calls()) != 0 {
		t.Fatal("a reply outside the window reached Twilio")
	}
	if _, err := c.Send(context.Background(), reply(schema.ChannelWhatsApp, "Within the window")); err != nil {
		t.Fatal(err)
	}
}

func TestSendThroughMessagingService(t *testing.T) {
	c, fake := senderRig(t, func(a *Account) { a.Numbers = []string{"whatsapp:+14155238886"} })
	res, err := c.Send(context.Background(), reply(schema.ChannelSMS, "hi"))
	if err != nil {
		t.Fatal(err)
	}
	f := fake.Calls()[0].Form
	if f.Get("MessagingServiceSid") != testService || f.Has("From") || res.Status != schema.StatusQueued {
		t.Fatalf("form %v, result %+v", f, res)
	}
}

func TestSendWithAPIKey(t *testing.T) {
	const key, secret = "SK0123456789abcdef0123456789abcdef", "keysecret0123456789"
	fake := twiliotest.NewAPI(key, secret)
	t.Cleanup(fake.Close)
	a := testAccount()
	a.APIURL, a.APIKeySID, a.APIKeySecret = fake.URL, key, cfg.NewSecret(secret)
	c := New(Config{Accounts: map[string]*Account{"main": a}}, connectors.Host{})
	if _, err := c.Send(context.Background(), reply(schema.ChannelSMS, "hi")); err != nil {
		t.Fatal(err)
	}
	call := fake.Calls()[0]
	if call.Path != "/2010-04-01/Accounts/"+testSID+"/Messages.json" || call.User != key || call.Form.Has("StatusCallback") {
		t.Fatalf("call %+v", call)
	}
}

func TestSendErrors(t *testing.T) {
	cases := []struct {
		name      string
		reply     twiliotest.Reply
		temporary bool
		code      string
	}{
		{"invalid To", twiliotest.Reply{Status: 400, Body: twiliotest.ErrorBody(400, 21211, "The 'To' number +447911123456 is not a valid phone number.")}, false, "21211"},
		{"unsubscribed", twiliotest.Reply{Status: 400, Body: twiliotest.ErrorBody(400, 21610, "Attempt to send to unsubscribed recipient")}, false, "21610"},
		{"rate limited", twiliotest.Reply{Status: 429, Body: twiliotest.ErrorBody(429, 20429, "Too Many Requests")}, true, ""},
		{"server error", twiliotest.Reply{Status: 500, Body: twiliotest.ErrorBody(500, 20500, "Internal Server Error")}, true, ""},
		{"proxy page", twiliotest.Reply{Status: 502, Body: "<html>Bad Gateway</html>"}, true, ""},
		{"hung up after the request", twiliotest.Reply{Hangup: true}, false, "outcome_unknown"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, fake := senderRig(t, nil)
			fake.Queue(tc.reply)
			_, err := c.Send(context.Background(), reply(schema.ChannelSMS, "hi"))
			if _, temp := connectors.IsTemporary(err); temp != tc.temporary {
				t.Fatalf("%v: temporary=%v, want %v", err, temp, tc.temporary)
			}
			var pe *connectors.PermanentError
			if !tc.temporary && (!errors.As(err, &pe) || pe.Code != tc.code) {
				t.Fatalf("%v, want permanent %s", err, tc.code)
			}
		})
	}
}

func TestSendConnectionRefusedIsRetried(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	a := testAccount()
	a.APIURL = "http://" + addr
	c := New(Config{Accounts: map[string]*Account{"main": a}}, connectors.Host{})
	_, err = c.Send(context.Background(), reply(schema.ChannelSMS, "hi"))
	if _, temp := connectors.IsTemporary(err); !temp {
		t.Fatalf("%v: a request that never left must be retried", err)
	}
}

func TestSendRefusesBadReplies(t *testing.T) {
	c, fake := senderRig(t, nil)
	cases := map[string]func(m *schema.Message){
		"no text":            func(m *schema.Message) { m.Text = " " },
		"too long":           func(m *schema.Message) { m.Text = strings.Repeat("é", 1601) },
		"stored attachment":  func(m *schema.Message) { m.Attachments = []schema.Attachment{{Bucket: "b", Key: "k"}} },
		"not a content sid":  func(m *schema.Message) { m.Template = &schema.Template{Name: "order_update"} },
		"no phone":           func(m *schema.Message) { m.To = nil },
		"unknown account":    func(m *schema.Message) { m.Account = "nobody" },
		"no whatsapp number": func(m *schema.Message) {},
	}
	for name, mutate := range cases {
		m := reply(schema.ChannelSMS, "hi")
		if name == "no whatsapp number" {
			c2, _ := senderRig(t, func(a *Account) { a.Numbers, a.MessagingServiceSID = []string{"+14155550100"}, "" })
			m.Channel = schema.ChannelWhatsApp
			_, err := c2.Send(context.Background(), m)
			assertPermanent(t, name, err)
			continue
		}
		mutate(m)
		_, err := c.Send(context.Background(), m)
		assertPermanent(t, name, err)
	}
	if n := len(fake.Calls()); n != 0 {
		t.Fatalf("%d refused replies reached Twilio", n)
	}
}

func assertPermanent(t *testing.T, name string, err error) {
	t.Helper()
	var pe *connectors.PermanentError
	if !errors.As(err, &pe) || pe.Code == "" {
		t.Fatalf("%s: %v, want a permanent error with a code", name, err)
	}
}

func ptr[T any](v T) *T { return &v }
