package app_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/cmd/switchboard/app/apptest"
	"github.com/switchboardhq/switchboard/connectors/twilio/twiliotest"
	"github.com/switchboardhq/switchboard/pipeline/streams"
	"github.com/switchboardhq/switchboard/schema"
)

const (
	twSID    = "AC0123456789abcdef0123456789abcdef"
	twToken  = "0123456789abcdef0123456789abcdef"
	twPublic = "https://gw.example.com" // what Twilio calls; the gateway sits behind a proxy
)

// twilioGateway starts a gateway with the twilio channel (account "main") whose REST calls
// and media downloads go to a fake Twilio.
func twilioGateway(t *testing.T) (*apptest.Gateway, *twiliotest.API) {
	t.Helper()
	fake := twiliotest.NewAPI(twSID, twToken)
	t.Cleanup(fake.Close)
	t.Setenv("APPTEST_TWILIO_TOKEN", twToken)
	return apptest.Start(t, apptest.DefaultConfig+twilioSection(fake)), fake
}

// twilioSection is the twilio channel (account "main", its REST API the fake) and the public
// URL Twilio calls, to follow apptest's default config.
func twilioSection(fake *twiliotest.API) string {
	return `
  twilio:
    accounts:
      main:
        account_sid: ` + twSID + `
        auth_token: {env: APPTEST_TWILIO_TOKEN}
        numbers: ["+14155550100", "whatsapp:+14155238886"]
        api_url: ` + fake.URL + `
http:
  public_url: ` + twPublic + `
`
}

func twilioFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("../../../connectors/twilio/testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// twilioPost posts a form to the gateway, signed as Twilio signs it for the public URL.
func twilioPost(t *testing.T, g *apptest.Gateway, path string, body []byte) (int, string) {
	t.Helper()
	return send(t, twiliotest.Request(twToken, g.URL+path, twPublic+path, body))
}

func send(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

const twInbound = "/v1/channels/twilio/main/messages"

func TestTwilioInboundBecomesConversations(t *testing.T) {
	g, fake := twilioGateway(t)
	for _, name := range []string{"sms.form", "whatsapp_text.form", "whatsapp_location.form"} {
		if status, body := twilioPost(t, g, twInbound, twilioFixture(t, name)); status != 200 || !strings.Contains(body, "<Response/>") {
			t.Fatalf("%s: %d %s", name, status, body)
		}
	}
	evs := g.Events("sb.conv.*.message", 3, 15*time.Second)
	byFrom := map[string][]*schema.Event{}
	for _, e := range evs {
		byFrom[e.Message.From.Value] = append(byFrom[e.Message.From.Value], e)
	}
	sms, wa := byFrom["+14155552671"], byFrom["+447911123456"]
	if len(sms) != 1 || len(wa) != 2 || sms[0].Message.Channel != schema.ChannelSMS || wa[0].Message.Channel != schema.ChannelWhatsApp {
		t.Fatalf("events:\n%s", apptest.Sprint(evs))
	}
	if wa[0].ConversationID != wa[1].ConversationID || wa[1].Message.Location == nil || wa[0].Message.From.Name != "Ana García" {
		t.Fatalf("whatsapp messages: %+v / %+v", wa[0].Message, wa[1].Message)
	}
	if len(fake.Calls()) != 0 {
		t.Fatal("inbound text made calls to Twilio")
	}
}

func TestTwilioMediaIsFetchedIntoTheObjectStore(t *testing.T) {
	g, fake := twilioGateway(t)
	base := "/2010-04-01/Accounts/" + twSID + "/Messages/MM8a3c0f3b3d5f2a1e9b7c6d5e4f3a2b1c/Media/"
	fake.AddMedia(base+"ME11111111111111111111111111111111", twiliotest.Media{ContentType: "image/jpeg", Data: []byte("jpeg-bytes")})
	fake.AddMedia(base+"ME22222222222222222222222222222222", twiliotest.Media{ContentType: "application/pdf", Data: []byte("%PDF-1.4")})
	if status, body := twilioPost(t, g, twInbound, twilioFixture(t, "mms.form")); status != 200 {
		t.Fatalf("%d %s", status, body)
	}
	ev := g.Events("sb.conv.*.message", 1, 15*time.Second)[0]
	atts := ev.Message.Attachments
	if len(atts) != 2 || atts[0].Key == "" || atts[1].Key == "" || atts[0].Size != 10 {
		t.Fatalf("attachments not fetched: %+v", atts)
	}
	status, body := g.Do("GET", "/v1/attachments/"+atts[1].Key, apptest.Token, nil)
	if status != 200 || string(body) != "%PDF-1.4" {
		t.Fatalf("attachment: %d %q", status, body)
	}
	for _, c := range fake.Calls() {
		if c.Method != "GET" || c.User != twSID || c.Pass != twToken {
			t.Fatalf("media fetch %+v", c)
		}
	}
}

// A reply goes out through the fake Twilio, then Twilio's status callbacks (one of them late
// and out of order) become delivery events that never move backwards.
func TestTwilioReplyAndStatusCallbacks(t *testing.T) {
	g, fake := twilioGateway(t)
	if status, body := twilioPost(t, g, twInbound, twilioFixture(t, "whatsapp_text.form")); status != 200 {
		t.Fatalf("%d %s", status, body)
	}
	conv := g.Events("sb.conv.>", 2, 15*time.Second)[0].ConversationID
	postReply(t, g, conv, "¡Claro! ¿Cuál es el número de pedido?")
	var queued []*schema.Event
	apptest.Eventually(t, 15*time.Second, func() error {
		queued = deliveries(t, g, conv)
		if len(queued) != 1 {
			return fmt.Errorf("%d delivery events", len(queued))
		}
		return nil
	})
	calls := fake.Calls()
	if len(calls) != 1 {
		t.Fatalf("%d calls to Twilio", len(calls))
	}
	f := calls[0].Form
	if f.Get("To") != "whatsapp:+447911123456" || f.Get("From") != "whatsapp:+14155238886" ||
		f.Get("Body") != "¡Claro! ¿Cuál es el número de pedido?" || f.Get("StatusCallback") != twPublic+"/v1/channels/twilio/main/status" {
		t.Fatalf("CreateMessage form %v", f)
	}
	sid := queued[0].Delivery.ExternalID
	if queued[0].Delivery.Status != schema.StatusQueued || !strings.HasPrefix(sid, "SM") {
		t.Fatalf("first delivery %+v", queued[0].Delivery)
	}
	for _, st := range []string{"delivered", "sent", "read"} { // "sent" arrives late
		form := fmt.Sprintf("SmsSid=%s&SmsStatus=%s&MessageStatus=%s&ChannelPrefix=whatsapp&To=whatsapp%%3A%%2B447911123456&MessageSid=%s&AccountSid=%s&From=whatsapp%%3A%%2B14155238886&ApiVersion=2010-04-01",
			sid, st, st, sid, twSID)
		if status, body := twilioPost(t, g, "/v1/channels/twilio/main/status", []byte(form)); status != 200 {
			t.Fatalf("status %s: %d %s", st, status, body)
		}
	}
	apptest.Eventually(t, 15*time.Second, func() error {
		evs := deliveries(t, g, conv)
		var got []string
		for _, e := range evs {
			got = append(got, string(e.Delivery.Status))
		}
		// "delivered" implies the "sent" Twilio reported late; the late one changes nothing.
		if strings.Join(got, ",") != "queued,sent,delivered,read" || !evs[1].Delivery.Implied || evs[2].Delivery.Implied {
			return fmt.Errorf("delivery events %v, want queued,sent (implied),delivered,read", got)
		}
		return nil
	})
}

func TestTwilioRefusedReplyBecomesAFailedDelivery(t *testing.T) {
	g, fake := twilioGateway(t)
	fake.Queue(twiliotest.Reply{Status: 400, Body: twiliotest.ErrorBody(400, 21610, "Attempt to send to unsubscribed recipient")})
	if status, body := twilioPost(t, g, twInbound, twilioFixture(t, "sms.form")); status != 200 {
		t.Fatalf("%d %s", status, body)
	}
	conv := g.Events("sb.conv.>", 2, 15*time.Second)[0].ConversationID
	postReply(t, g, conv, "Hello again")
	apptest.Eventually(t, 15*time.Second, func() error {
		evs := deliveries(t, g, conv)
		if len(evs) != 1 || evs[0].Delivery.Status != schema.StatusFailed || evs[0].Delivery.ErrorCode != "21610" {
			return fmt.Errorf("delivery events %d: %+v", len(evs), evs)
		}
		return nil
	})
	if n := len(fake.Calls()); n != 1 {
		t.Fatalf("%d calls: a refused reply must not be retried", n)
	}
}

// postReply posts an agent's reply. The conversation's events can be on the stream a moment
// before its snapshot is stored, so a 404 is retried briefly.
func postReply(t *testing.T, g *apptest.Gateway, conv, text string) {
	t.Helper()
	apptest.Eventually(t, 5*time.Second, func() error {
		status, body := g.Do("POST", "/v1/conversations/"+conv+"/messages", apptest.Token, map[string]any{"text": text},
			"Idempotency-Key", "reply-"+conv)
		if status != http.StatusAccepted {
			return fmt.Errorf("reply: %d %s", status, body)
		}
		return nil
	})
}

func deliveries(t *testing.T, g *apptest.Gateway, conv string) []*schema.Event {
	t.Helper()
	status, body := g.Do("GET", "/v1/conversations/"+conv+"/events", apptest.Token, nil)
	if status != 200 {
		t.Fatalf("events: %d %s", status, body)
	}
	var list struct{ Events []*schema.Event }
	_ = json.Unmarshal(body, &list)
	var out []*schema.Event
	for _, e := range list.Events {
		if e.Type == schema.EventDelivery {
			out = append(out, e)
		}
	}
	return out
}

// Every kind of bad webhook gets its status and stores nothing; refused signatures and
// unknown accounts or numbers are recorded for forensics.
func TestTwilioBadInputIsRefusedAndNothingPublished(t *testing.T) {
	g, _ := twilioGateway(t)
	body := twilioFixture(t, "sms.form")
	unsigned := twiliotest.Request(twToken, g.URL+twInbound, twPublic+twInbound, body)
	unsigned.Header.Del("X-Twilio-Signature")
	cases := []struct {
		name   string
		req    *http.Request
		status int
		code   string
	}{
		{"missing signature", unsigned, 403, "missing_signature"},
		{"wrong token", twiliotest.Request("ffffffffffffffffffffffffffffffff", g.URL+twInbound, twPublic+twInbound, body), 403, "bad_signature"},
		{"internal URL", twiliotest.Request(twToken, g.URL+twInbound, g.URL+twInbound, body), 403, "bad_signature"},
		{"unknown account", twiliotest.Request(twToken, g.URL+"/v1/channels/twilio/acme/messages", twPublic+"/v1/channels/twilio/acme/messages", body), 404, "not_found"},
		{"unknown number", twiliotest.Request(twToken, g.URL+twInbound, twPublic+twInbound,
			[]byte(strings.Replace(string(body), "To=%2B14155550100", "To=%2B14155550111", 1))), 404, "not_found"},
		{"oversized", twiliotest.Request(twToken, g.URL+twInbound, twPublic+twInbound,
			append(append([]byte(nil), body...), "&Pad="+strings.Repeat("x", 70<<10)...)), 413, "too_large"},
	}
	for _, c := range cases {
		status, answer := send(t, c.req)
		if status != c.status || !strings.Contains(answer, `"code":"`+c.code+`"`) {
			t.Fatalf("%s: %d %s, want %d %s", c.name, status, answer, c.status, c.code)
		}
	}
	if status, answer := truncatedPost(t, g.URL, twInbound, body); status != 400 || !strings.Contains(answer, "truncated_body") {
		t.Fatalf("truncated: %d %s", status, answer)
	}
	for i := 0; i < 3; i++ { // Twilio retrying one message
		if status, answer := twilioPost(t, g, twInbound, body); status != 200 {
			t.Fatalf("valid: %d %s", status, answer)
		}
	}
	if n := g.StreamCount(streams.StreamInbound, ""); n != 1 {
		t.Fatalf("SB_INBOUND holds %d messages, want exactly the one valid message", n)
	}
	apptest.Eventually(t, 5*time.Second, func() error {
		if n := g.StreamCount(streams.StreamRejected, ""); n != 5 {
			return fmt.Errorf("%d forensic records, want 5", n)
		}
		return nil
	})
}

// truncatedPost announces a longer body than it sends, then closes its side.
func truncatedPost(t *testing.T, base, path string, body []byte) (int, string) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: gw\r\nContent-Type: application/x-www-form-urlencoded\r\nX-Twilio-Signature: %s\r\nContent-Length: %d\r\n\r\n",
		path, twiliotest.SignBody(twToken, twPublic+path, body), len(body))
	_, _ = conn.Write(body[:len(body)/2])
	_ = conn.(*net.TCPConn).CloseWrite()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
