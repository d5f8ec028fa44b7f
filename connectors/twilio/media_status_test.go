package twilio

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/switchboardhq/switchboard/connectors"
	"github.com/switchboardhq/switchboard/connectors/twilio/twiliotest"
	"github.com/switchboardhq/switchboard/pipeline/kernel"
	"github.com/switchboardhq/switchboard/schema"
)

const mediaPath = "/2010-04-01/Accounts/" + testSID + "/Messages/MM8a3c0f3b3d5f2a1e9b7c6d5e4f3a2b1c/Media/ME11111111111111111111111111111111"

func TestFetchMedia(t *testing.T) {
	c, fake := senderRig(t, nil)
	fake.AddMedia(mediaPath, twiliotest.Media{ContentType: "image/jpeg", Data: []byte("\xff\xd8\xff jpeg bytes")})
	body, ctype, err := c.FetchMedia(context.Background(), "main", &schema.Attachment{URL: "https://api.twilio.com" + mediaPath})
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(body)
	body.Close()
	if ctype != "image/jpeg" || string(data) != "\xff\xd8\xff jpeg bytes" {
		t.Fatalf("%s %q", ctype, data)
	}
	if call := fake.Calls()[0]; call.Method != "GET" || call.User != testSID || call.Pass != testToken {
		t.Fatalf("call %+v", call)
	}
}

func TestFetchMediaFailures(t *testing.T) {
	c, fake := senderRig(t, nil)
	fake.AddMedia(mediaPath+"5", twiliotest.Media{Status: 503})
	cases := []struct {
		url       string
		temporary bool
	}{
		{"https://api.twilio.com" + mediaPath + "0", false}, // 404: deleted media
		{"https://api.twilio.com" + mediaPath + "5", true},  // 503: try again
		{"https://attacker.example.com/steal", false},       // credentials go to Twilio only
		{"http://api.twilio.com" + mediaPath, false},        // and only over https
		{"https://api.twilio.com.evil.net" + mediaPath, false},
	}
	for _, tc := range cases {
		_, _, err := c.FetchMedia(context.Background(), "main", &schema.Attachment{URL: tc.url})
		if _, temp := connectors.IsTemporary(err); err == nil || temp != tc.temporary {
			t.Fatalf("%s: %v, temporary want %v", tc.url, err, tc.temporary)
		}
	}
	for _, call := range fake.Calls() {
		if !strings.HasPrefix(call.Path, "/2010-04-01/") {
			t.Fatalf("credentials sent to %s", call.Path)
		}
	}
	if len(fake.Calls()) != 2 {
		t.Fatalf("%d calls; untrusted URLs must not be fetched", len(fake.Calls()))
	}
}

const statusPath = "/v1/channels/twilio/main/status"

func TestStatusCallbacks(t *testing.T) {
	r := newRig(t, map[string]*Account{"main": testAccount()}, testPublic)
	cases := []struct {
		form    string
		channel schema.Channel
		status  schema.DeliveryStatus
		code    string
	}{
		{"SmsSid=SM11&SmsStatus=sent&MessageStatus=sent&To=%2B447911123456&MessageSid=SM11&AccountSid=" + testSID + "&From=%2B14155550100&ApiVersion=2010-04-01", schema.ChannelSMS, schema.StatusSent, ""},
		{"ChannelToAddress=%2B4479111XXXXX&ChannelPrefix=whatsapp&SmsSid=SM12&SmsStatus=read&MessageStatus=read&ChannelInstallSid=XE0123456789abcdef0123456789abcdef&To=whatsapp%3A%2B447911123456&MessageSid=SM12&AccountSid=" + testSID + "&From=whatsapp%3A%2B14155238886&ApiVersion=2010-04-01", schema.ChannelWhatsApp, schema.StatusRead, ""},
		{"ErrorCode=30006&SmsSid=SM13&SmsStatus=undelivered&MessageStatus=undelivered&To=%2B447911123456&MessageSid=SM13&AccountSid=" + testSID + "&From=%2B14155550100&ApiVersion=2010-04-01", schema.ChannelSMS, schema.StatusUndelivered, "30006"},
		{"ErrorCode=63016&SmsSid=SM14&SmsStatus=failed&MessageStatus=failed&To=whatsapp%3A%2B447911123456&MessageSid=SM14&AccountSid=" + testSID + "&From=whatsapp%3A%2B14155238886&ApiVersion=2010-04-01", schema.ChannelWhatsApp, schema.StatusFailed, "63016"},
		{"SmsSid=SM15&SmsStatus=canceled&MessageStatus=canceled&To=%2B447911123456&MessageSid=SM15&AccountSid=" + testSID + "&MessagingServiceSid=" + testService + "&ApiVersion=2010-04-01", schema.ChannelSMS, schema.StatusFailed, "canceled"},
	}
	for _, tc := range cases {
		if status, answer := r.post(statusPath, []byte(tc.form), testToken); status != 200 {
			t.Fatalf("%d %s", status, answer)
		}
	}
	if len(r.pub.statuses) != len(cases) {
		t.Fatalf("%d statuses published", len(r.pub.statuses))
	}
	for i, tc := range cases {
		st := r.pub.statuses[i]
		if st.Channel != tc.channel || st.Status != tc.status || st.ErrorCode != tc.code || st.Account != "main" ||
			st.ExternalID == "" || len(st.Raw) == 0 {
			t.Errorf("case %d: %+v", i, st)
		}
	}
	// A status of an incoming message says nothing about replies; an unsigned one is refused.
	if status, _ := r.post(statusPath, []byte("MessageSid=SM16&MessageStatus=received&AccountSid="+testSID), testToken); status != 200 {
		t.Fatalf("received: %d", status)
	}
	if status, _ := r.post(statusPath, []byte(cases[0].form), "ffffffffffffffffffffffffffffffff"); status != 403 {
		t.Fatalf("bad signature: %d", status)
	}
	if _, n := r.pub.counts(); n != len(cases) {
		t.Fatalf("%d statuses published", n)
	}
	r.pub.fail = kernel.ErrUnavailable
	if status, _ := r.post(statusPath, []byte(cases[1].form), testToken); status != http.StatusServiceUnavailable {
		t.Fatalf("store down: %d", status)
	}
}

func TestMapStatusCoversTwilio(t *testing.T) {
	for _, s := range []string{"queued", "sending", "sent", "delivered", "undelivered", "failed", "read", "accepted", "scheduled", "canceled", "partially_delivered"} {
		if _, ok := MapStatus(s); !ok {
			t.Errorf("%s unmapped", s)
		}
	}
	for _, s := range []string{"receiving", "received", "", "brand_new_status"} {
		if _, ok := MapStatus(s); ok {
			t.Errorf("%s mapped", s)
		}
	}
	if a, b := statuses["delivered"], statuses["sent"]; a.Rank() <= b.Rank() {
		t.Fatal("delivered must outrank sent")
	}
}
