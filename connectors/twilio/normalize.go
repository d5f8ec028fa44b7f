package twilio

import (
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"

	"github.com/switchboardhq/switchboard/connectors"
	"github.com/switchboardhq/switchboard/schema"
)

// Limits on what a webhook may carry.
const (
	maxSidLen = 64
	maxMedia  = 20 // Twilio sends at most 10; more are ignored
)

// metadataFields are the parameters kept as message metadata (all of them stay in Raw).
var metadataFields = map[string]string{
	"MessagingServiceSid":          "messaging_service_sid",
	"WaId":                         "wa_id",
	"MessageType":                  "message_type",
	"NumSegments":                  "num_segments",
	"ReferralSourceUrl":            "referral_source_url",
	"ReferralSourceType":           "referral_source_type",
	"ReferralSourceId":             "referral_source_id",
	"ReferralHeadline":             "referral_headline",
	"ReferralCtwaClid":             "referral_ctwa_clid",
	"OriginalRepliedMessageSender": "replied_message_sender",
}

// normalize turns an incoming-message form into a schema.Message. It needs MessageSid, From
// and To; everything else is optional, and parameters it does not know are kept in Raw only.
func (a *account) normalize(form url.Values) (*schema.Message, error) {
	sid := firstOf(form, "MessageSid", "SmsMessageSid", "SmsSid")
	if sid == "" {
		return nil, connectors.BadField("MessageSid", "is required")
	}
	if len(sid) > maxSidLen {
		return nil, connectors.BadField("MessageSid", "is longer than %d characters", maxSidLen)
	}
	ch, from, err := parseNumber(form.Get("From"), a.region)
	if err != nil {
		return nil, connectors.BadField("From", "%v", err)
	}
	toCh, to, err := parseNumber(form.Get("To"), a.region)
	if err != nil {
		return nil, connectors.BadField("To", "%v", err)
	}
	if toCh != ch {
		return nil, connectors.BadField("To", "is on %s but From is on %s", toCh, ch)
	}
	m := &schema.Message{
		Channel: ch, Account: a.name, ExternalID: sid, Text: form.Get("Body"),
		From: schema.Address{Kind: "phone", Value: from, Name: strings.TrimSpace(form.Get("ProfileName"))},
		To:   []schema.Address{{Kind: "phone", Value: to}},
		Raw:  rawForm(form),
	}
	if m.From.Name != "" {
		m.Profile = &schema.Profile{Name: m.From.Name, Phone: from}
	}
	m.Attachments = media(form)
	m.Location, m.Problems = location(form, m.Problems)
	if p, t := form.Get("ButtonPayload"), form.Get("ButtonText"); p != "" || t != "" {
		m.Kind, m.Action = schema.KindAction, &schema.Action{Type: "button", Title: t, Payload: p}
	}
	if id, t := form.Get("ListId"), form.Get("ListTitle"); id != "" {
		m.Kind, m.Action = schema.KindAction, &schema.Action{Type: "list_reply", Title: t, Payload: id}
	}
	if r := form.Get("OriginalRepliedMessageSid"); r != "" {
		m.Thread = &schema.Thread{ReplyToExternalID: r}
	}
	m.Flags = flags(form)
	m.Metadata = metadata(form)
	return m, nil
}

func firstOf(form url.Values, keys ...string) string {
	for _, k := range keys {
		if v := strings.TrimSpace(form.Get(k)); v != "" {
			return v
		}
	}
	return ""
}

// media lists MediaUrl0..MediaUrl{NumMedia-1} with their content types. Only http(s) URLs
// are kept; the pipeline's media stage fetches them with the account's credentials.
func media(form url.Values) []schema.Attachment {
	n, err := strconv.Atoi(strings.TrimSpace(form.Get("NumMedia")))
	if err != nil || n > maxMedia || n < 0 {
		n = maxMedia // unknown count: take the MediaUrlN that are there
	}
	var out []schema.Attachment
	for i := range n {
		u := strings.TrimSpace(form.Get("MediaUrl" + itoa(i)))
		if pu, err := url.Parse(u); u == "" || err != nil || (pu.Scheme != "https" && pu.Scheme != "http") || pu.Host == "" {
			continue
		}
		out = append(out, schema.Attachment{URL: u, ContentType: form.Get("MediaContentType" + itoa(i))})
	}
	return out
}

// location reads a WhatsApp location message (Latitude, Longitude, Label, Address).
func location(form url.Values, problems []string) (*schema.Location, []string) {
	lat, lon := form.Get("Latitude"), form.Get("Longitude")
	if lat == "" && lon == "" {
		return nil, problems
	}
	la, err1 := strconv.ParseFloat(strings.TrimSpace(lat), 64)
	lo, err2 := strconv.ParseFloat(strings.TrimSpace(lon), 64)
	if err1 != nil || err2 != nil || math.Abs(la) > 90 || math.Abs(lo) > 180 || math.IsNaN(la) || math.IsNaN(lo) {
		return nil, append(problems, fmt.Sprintf("location ignored: Latitude %q, Longitude %q are not coordinates", lat, lon))
	}
	return &schema.Location{Latitude: la, Longitude: lo, Name: form.Get("Label"), Address: form.Get("Address")}, problems
}

func flags(form url.Values) []string {
	var out []string
	if form.Get("Forwarded") == "true" {
		out = append(out, "forwarded")
	}
	if form.Get("FrequentlyForwarded") == "true" {
		out = append(out, "frequently_forwarded")
	}
	return out
}

func metadata(form url.Values) map[string]string {
	var md map[string]string
	for k, name := range metadataFields {
		if v := form.Get(k); v != "" {
			if md == nil {
				md = map[string]string{}
			}
			md[name] = v
		}
	}
	return md
}

// rawForm keeps the whole form as a JSON object (first value of each key; keys sorted).
func rawForm(form url.Values) json.RawMessage {
	flat := make(map[string]string, len(form))
	for k, v := range form {
		if len(v) > 0 {
			flat[k] = v[0]
		}
	}
	b, _ := json.Marshal(flat)
	return b
}
