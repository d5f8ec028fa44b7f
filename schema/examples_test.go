package schema_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/schema"
	"github.com/switchboardhq/switchboard/schema/schematest"
)

var at = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

// fullMessage sets every field (TestExamplesAreComplete keeps it that way).
func fullMessage() *schema.Message {
	return &schema.Message{
		Schema: schema.MessageSchema, ID: schema.MessageID("api:demo:ext-1"), Channel: schema.ChannelEmail,
		Account: "support", Direction: schema.Outbound, Kind: schema.KindMessage,
		From:       schema.Address{Kind: "email", Value: "alice@example.com", Name: "Alice"},
		To:         []schema.Address{{Kind: "email", Value: "support@example.com", Name: "Support"}},
		CustomerID: "cus_1", ConversationID: "cnv_1", AgentID: "agent-7",
		Subject: "Order 42", Text: "Hello\n> old", StrippedText: "Hello", HTML: "<p>Hello</p>", Language: "en",
		Attachments: []schema.Attachment{{Name: "a.pdf", OriginalName: "../a.pdf", ContentType: "application/pdf", Size: 10, Bucket: "sb_attachments",
			Key: "att/x/0", Digest: "SHA-256=abc", URL: "https://example.com/a.pdf", Inline: true, ContentID: "img1", Problem: "none"}},
		Location: &schema.Location{Latitude: 52.5, Longitude: 13.4, Name: "Office", Address: "Street 1"},
		Action:   &schema.Action{Type: "button", Title: "Yes", Payload: "YES"},
		Reaction: &schema.Reaction{Emoji: "👍", TargetExternalID: "mid.1", Removed: true},
		Template: &schema.Template{Name: "HX123", Language: "en", Variables: map[string]string{"1": "Alice"}},
		Choices: &schema.Choices{Style: "stars", Button: "Choose", Prompt: "How did we do?",
			Options: []schema.Choice{{Payload: "survey:s1:5", Title: "Very satisfied", Description: "5 of 5"}}},
		Survey: &schema.SurveyPrompt{ID: "s1", Kind: schema.SurveyCSAT, Min: 1, Max: 5, Step: schema.SurveyStepQuestion,
			Links: []schema.SurveyLink{{Score: 5, Label: "Very satisfied", URL: "https://example.com/survey/t?score=5"}}},
		ExternalID: "ext-1",
		Thread: &schema.Thread{MessageID: "a@b", InReplyTo: []string{"c@d"}, References: []string{"e@f"}, ThreadIndex: "AQ==",
			ReplyToExternalID: "SM1", ReplyToMessageID: "msg_1", EditOfExternalID: "SM0"},
		Profile:       &schema.Profile{Name: "Alice", ExternalID: "u1", Email: "alice@example.com", Phone: "+15551234567", Verified: true},
		SenderAuth:    &schema.SenderAuth{Verdict: "pass", SPF: "pass", DKIM: "pass", DKIMDomain: "example.com", DMARC: "pass", Source: "dkim"},
		Status:        schema.StatusDelivered,
		LastInboundAt: &at,
		Flags:         []string{"forwarded"}, Problems: []string{"unknown charset x-foo"},
		Metadata: map[string]string{"k": "v"}, SentAt: &at, ReceivedAt: at,
		Raw:    json.RawMessage(`{"Body":"Hello"}`),
		RawRef: &schema.BlobRef{Bucket: "sb_attachments", Key: "raw/msg_1", Size: 100, Digest: "SHA-256=def"},
	}
}

func fullEvent() *schema.Event {
	return &schema.Event{Schema: schema.EventSchema, ID: schema.EventID("msg_1", 0), Type: schema.EventAssigned,
		ConversationID: "cnv_1", CustomerID: "cus_1", Seq: 3, At: at, Actor: "router", Reason: "least loaded",
		Message: fullMessage(),
		Routing: &schema.Routing{RulesVersion: "v1", Rule: "vip", Target: 1, Queue: "billing", Priority: 5, AgentID: "a1",
			PreviousAgent: "a0", PreviousQueue: "general", Strategy: "least-loaded", Reason: "lowest load 1/5", TimeoutAt: &at},
		Identity: &schema.IdentityChange{Identities: []schema.Identity{{Kind: "phone", Value: "+15551234567", Verified: true, AddedAt: at, Source: "rest"}},
			OtherCustomer: "cus_2", Source: "agent:a1"},
		Delivery: &schema.Delivery{MessageID: "msg_2", ExternalID: "SM2", Channel: schema.ChannelSMS, Status: schema.StatusFailed,
			ErrorCode: "30003", ErrorMessage: "unreachable", Attempts: 2, Implied: true, Resend: 1, DeadLetter: 42},
		SLA:      &schema.SLAEvent{Policy: "vip", RulesVersion: "v1", Clock: *fullClock()},
		Presence: &schema.PresenceSample{Agent: "a1", Status: "available", Load: 2, MaxLoad: 5, Reason: "shift", Sampled: true},
		Webhook:  &schema.WebhookEvent{Subscription: "helpdesk", EventID: "evt_1", Seq: 7, Since: at, Error: "the receiver answered 503"},
		Survey:   fullSurveyEvent(),
		Triage:   fullTriage(), Flow: fullFlowEvent()}
}

func fullFlowState() *schema.FlowState {
	at := time.Date(2026, 3, 1, 9, 10, 0, 0, time.UTC)
	return &schema.FlowState{Flow: "triage", Version: "sha256:0011", Step: "menu", Vars: map[string]string{"answers.topic": "billing"},
		Tries: 1, Steps: 3, Waiting: true, WaitUntil: &at, Done: true, Outcome: schema.FlowOutcomeHandoff, Cycle: 1}
}

func fullFlowEvent() *schema.FlowEvent {
	return &schema.FlowEvent{Flow: "triage", Version: "sha256:0011", Steps: []schema.FlowStep{{Step: "menu", Kind: "ask", Why: "the flow starts"}},
		State: fullFlowState(), Outcome: schema.FlowOutcomeHandoff, Queue: "billing", Answers: map[string]string{"invoice": "INV-123456"}}
}

func fullTriage() *schema.Triage {
	p := 50
	return &schema.Triage{Tags: []string{"vip", "refund"}, Priority: &p, PreviousPriority: 5, Until: &at, Wake: schema.WakeCustomer}
}

func fullSurveyEvent() *schema.SurveyEvent {
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	score, prev := 2, 4
	return &schema.SurveyEvent{ID: "s1", Policy: "csat", RulesVersion: "v1", Kind: schema.SurveyCSAT, Min: 1, Max: 5,
		Channel: schema.ChannelSMS, Account: "main", Language: "en", DueAt: &at, ExpiresAt: &at, MessageID: "msg_1",
		Template: "HX1", Reminder: true, Score: &score, Previous: &prev, Comment: "slow", Source: "text", CommentUntil: &at,
		Route: &schema.ReplyRoute{Channel: schema.ChannelSMS, Account: "main", To: schema.Address{Kind: "phone", Value: "+15551230000", Name: "Ann"},
			InReplyTo: "a@example.com", References: []string{"a@example.com"}},
		Recovery: "recovery", RecoveryConversation: "conv_2", Reason: "why", Requested: "agent:a1"}
}

func fullClock() *schema.SLAClock {
	return &schema.SLAClock{Metric: schema.SLANextResponse, Cycle: 1, Exchange: 2, Target: 3600, BusinessHours: "office",
		StartedAt: at, WarnAt: at, DueAt: at, WarnedAt: &at, BreachedAt: &at, SatisfiedAt: &at, StoppedAt: &at}
}

func fullStatus() *schema.StatusUpdate {
	return &schema.StatusUpdate{Schema: schema.StatusSchema, Channel: schema.ChannelSMS, Account: "main", MessageID: "msg_2",
		ExternalID: "SM2", Status: schema.StatusUndelivered, ErrorCode: "30005", ErrorMessage: "unknown destination",
		Attempts: 1, Resend: 1, DeadLetter: 42, At: at, Raw: json.RawMessage(`{"MessageStatus":"undelivered"}`)}
}

func fullConversation() *schema.Conversation {
	return &schema.Conversation{Schema: schema.ConversationSchema, ID: "cnv_1", CustomerID: "cus_1",
		Status: schema.ConversationResolved, Subject: "Order 42", Channels: []schema.Channel{schema.ChannelSMS},
		ReplyRoute: schema.ReplyRoute{Channel: schema.ChannelSMS, Account: "main", To: schema.Address{Kind: "phone", Value: "+15551234567", Name: "Alice"},
			InReplyTo: "a@b", References: []string{"c@d"}},
		Queue: "billing", AgentID: "a1", Priority: 2, Messages: 4, LastSeq: 9, LastMessage: "msg_9",
		OpenedAt: at, UpdatedAt: at, LastInbound: &at, ResolvedAt: &at, ThreadReason: "first message", QueuedAt: &at,
		SLA:    &schema.SLAState{Policy: "vip", RulesVersion: "v1", Cycle: 1, Clocks: map[string]*schema.SLAClock{schema.SLANextResponse: fullClock()}},
		Survey: fullSurveyState(), Tags: []string{"vip"}, SnoozedUntil: &at, Flow: fullFlowState()}
}

func fullSurveyState() *schema.SurveyState {
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	score := 5
	return &schema.SurveyState{ID: "s1", Policy: "csat", Kind: schema.SurveyCSAT, Status: schema.SurveyStatusAnswered,
		Channel: schema.ChannelSMS, Language: "en", DueAt: at, SentAt: &at, ExpiresAt: &at, Reminded: true, Reasked: true,
		Score: &score, Comment: "great", CommentUntil: &at, AnsweredAt: &at, Thanked: true, Recovery: "recovery", Requested: "agent:a1", Reason: "why"}
}

func fullCustomer() *schema.Customer {
	return &schema.Customer{Schema: schema.CustomerSchema, ID: "cus_1", Name: "Alice", ExternalID: "u1",
		Identities: []schema.Identity{{Kind: "email", Value: "alice@example.com", Verified: true, AddedAt: at, Source: "channel"}},
		Attributes: map[string]string{"tier": "gold"}, Conversations: []string{"cnv_1"}, CreatedAt: at, UpdatedAt: at,
		MergedInto: "cus_0", MergedFrom: []string{"cus_2"},
		Conflicts: []schema.IdentityConflict{{Kind: "external", Value: "demo/u2", CustomerID: "cus_3", Reason: "external ids differ", At: at}}}
}

var examples = []struct {
	file string
	v    any
}{
	{"message.v1.json", fullMessage()},
	{"event.v1.json", fullEvent()},
	{"status.v1.json", fullStatus()},
	{"conversation.v1.json", fullConversation()},
	{"customer.v1.json", fullCustomer()},
}

func TestExamplesAreComplete(t *testing.T) {
	for _, ex := range examples {
		var missing []string
		zeroFields(reflect.ValueOf(ex.v), reflect.TypeOf(ex.v).Elem().Name(), &missing)
		if len(missing) > 0 {
			t.Errorf("%s example leaves fields unset (add them so the schema check covers them): %s",
				ex.file, strings.Join(missing, ", "))
		}
	}
}

func zeroFields(v reflect.Value, path string, out *[]string) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			zeroFields(v.Elem(), path, out)
		}
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			return
		}
		for i := 0; i < v.NumField(); i++ {
			f := v.Field(i)
			name := path + "." + v.Type().Field(i).Name
			if f.IsZero() {
				*out = append(*out, name)
				continue
			}
			zeroFields(f, name, out)
		}
	case reflect.Slice:
		if v.Len() > 0 && v.Type().Elem().Kind() == reflect.Struct {
			zeroFields(v.Index(0), path+"[0]", out)
		}
	}
}

func TestExamplesValidate(t *testing.T) {
	for _, ex := range examples {
		schematest.Check(t, ex.file, ex.v)
	}
}

func TestSchemasRejectWrongDocuments(t *testing.T) {
	bad := map[string]string{
		"message.v1.json":      `{"schema":"switchboard.message.v1","id":"msg_1","channel":"sms","account":"a","direction":"sideways","kind":"message","from":{"kind":"phone","value":"+1"},"external_id":"x","received_at":"2026-01-01T00:00:00Z"}`,
		"event.v1.json":        `{"schema":"switchboard.event.v1","id":"evt_1","type":"opened","conversation_id":"cnv_1","customer_id":"c","seq":0,"at":"2026-01-01T00:00:00Z"}`,
		"status.v1.json":       `{"schema":"switchboard.status.v1","channel":"sms","account":"a","status":"sent","at":"2026-01-01T00:00:00Z"}`,
		"conversation.v1.json": `{"schema":"switchboard.conversation.v1","id":"cnv_1","customer_id":"c","status":"open","channels":[],"reply_route":{"channel":"sms","account":"a","to":{"kind":"phone","value":"+1"}},"messages":1,"last_seq":2,"opened_at":"yesterday","updated_at":"2026-01-01T00:00:00Z"}`,
		"customer.v1.json":     `{"schema":"switchboard.customer.v1","id":"c","identities":[],"created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z","extra":1}`,
	}
	for file, doc := range bad {
		if err := schematest.Validate(file, []byte(doc)); err == nil {
			t.Errorf("%s accepted an invalid document: %s", file, doc)
		}
	}
}
