package meta

import (
	"errors"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/connectors"
	"github.com/switchboardhq/switchboard/schema"
)

func testSender(ch schema.Channel, now time.Time) *sender {
	c := New(testConfig(""), connectors.Host{})
	c.now = func() time.Time { return now }
	for _, a := range c.byName[ch] {
		return &sender{c: c, acct: a}
	}
	panic("no account for " + ch)
}

func permanentCode(err error) string {
	var pe *connectors.PermanentError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

func TestMessagingWindow(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	ago := func(d time.Duration) *time.Time { t := now.Add(-d); return &t }
	for _, c := range []struct {
		name     string
		ch       schema.Channel
		last     *time.Time
		tag      string
		typ, got string
		code     string
	}{
		{"inside the window", schema.ChannelMessenger, ago(23 * time.Hour), "", "RESPONSE", "", ""},
		{"outside, no tag", schema.ChannelMessenger, ago(25 * time.Hour), "", "", "", "outside_messaging_window"},
		{"no inbound on record", schema.ChannelMessenger, nil, "", "", "", "outside_messaging_window"},
		{"human agent tag", schema.ChannelMessenger, ago(6 * 24 * time.Hour), "human_agent", "MESSAGE_TAG", "HUMAN_AGENT", ""},
		{"human agent after 7 days", schema.ChannelMessenger, ago(8 * 24 * time.Hour), "HUMAN_AGENT", "", "", "outside_messaging_window"},
		{"post purchase tag", schema.ChannelMessenger, ago(30 * 24 * time.Hour), "POST_PURCHASE_UPDATE", "MESSAGE_TAG", "POST_PURCHASE_UPDATE", ""},
		{"unknown tag", schema.ChannelMessenger, ago(time.Hour), "PROMO", "", "", "invalid_message_tag"},
		{"instagram inside", schema.ChannelInstagram, ago(time.Hour), "", "RESPONSE", "", ""},
		{"instagram human agent", schema.ChannelInstagram, ago(48 * time.Hour), "HUMAN_AGENT", "MESSAGE_TAG", "HUMAN_AGENT", ""},
		{"instagram other tag", schema.ChannelInstagram, ago(48 * time.Hour), "ACCOUNT_UPDATE", "", "", "invalid_message_tag"},
	} {
		s := testSender(c.ch, now)
		m := &schema.Message{LastInboundAt: c.last}
		if c.tag != "" {
			m.Metadata = map[string]string{TagMetadata: c.tag}
		}
		typ, tag, err := s.messagingType(m)
		if typ != c.typ || tag != c.got || permanentCode(err) != c.code {
			t.Errorf("%s: %q %q %v, want %q %q %s", c.name, typ, tag, err, c.typ, c.got, c.code)
		}
	}
}

func TestWhatsAppServiceWindow(t *testing.T) {
	now := time.Now()
	s := testSender(schema.ChannelWhatsApp, now)
	old := now.Add(-25 * time.Hour)
	recent := now.Add(-time.Hour)
	if err := s.checkServiceWindow(&schema.Message{LastInboundAt: &recent}); err != nil {
		t.Fatalf("inside the window: %v", err)
	}
	err := s.checkServiceWindow(&schema.Message{LastInboundAt: &old})
	if permanentCode(err) != "outside_customer_service_window" {
		t.Fatalf("outside the window: %v", err)
	}
	if err := s.checkServiceWindow(&schema.Message{LastInboundAt: &old, Template: &schema.Template{Name: "x", Language: "en"}}); err != nil {
		t.Fatalf("a template outside the window: %v", err)
	}
	// The refusal happens before any request: the sender has no API to call here.
	_, err = s.Send(t.Context(), &schema.Message{Text: "hi", LastInboundAt: &old,
		To: []schema.Address{{Kind: "phone", Value: "+16505551234"}}})
	if permanentCode(err) != "outside_customer_service_window" {
		t.Fatalf("Send outside the window: %v", err)
	}
}

func TestTemplateParameters(t *testing.T) {
	got := templateOf(&schema.Template{Name: "n", Language: "pt_BR", Variables: map[string]string{"10": "j", "2": "b", "1": "a", "name": "x"}})
	params := got["components"].([]map[string]any)[0]["parameters"].([]map[string]string)
	var order []string
	for _, p := range params {
		order = append(order, p["text"]+p["parameter_name"])
	}
	if len(order) != 4 || order[0] != "a" || order[1] != "b" || order[2] != "j" || order[3] != "xname" {
		t.Fatalf("parameters %v", params)
	}
}
