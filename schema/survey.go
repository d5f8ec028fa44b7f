package schema

import "time"

// Survey event types (docs/surveys.md): a survey was scheduled after a resolution (or asked
// for), sent on the customer's channel (again, as a reminder), answered (again: a changed
// answer or a comment replaces the earlier one), expired unanswered, or not sent (Reason says
// why: opted out, sampled, outside the channel's window without a template, reopened).
const (
	EventSurveyScheduled EventType = "survey_scheduled"
	EventSurveySent      EventType = "survey_sent"
	EventSurveyAnswered  EventType = "survey_answered"
	EventSurveyExpired   EventType = "survey_expired"
	EventSurveySkipped   EventType = "survey_skipped"
)

// Survey kinds: CSAT scores 1–5 (4 and 5 are satisfied), NPS 0–10 (9 and 10 promote, 0–6
// detract).
const (
	SurveyCSAT = "csat"
	SurveyNPS  = "nps"
)

// SurveyScale is the lowest and highest score of a survey kind.
func SurveyScale(kind string) (lo, hi int) {
	if kind == SurveyNPS {
		return 0, 10
	}
	return 1, 5
}

// KindSurvey is an outbound survey question (and its reminder and comment prompt): automated,
// it never counts as an agent's response.
const KindSurvey Kind = "survey"

// FlagSurveyAnswer marks an inbound message taken as a survey's answer or comment: it never
// reopens a conversation or starts a response clock.
const FlagSurveyAnswer = "survey_answer"

// Survey statuses of a conversation's current survey.
const (
	SurveyStatusScheduled = "scheduled"
	SurveyStatusSent      = "sent"
	SurveyStatusAnswered  = "answered"
	SurveyStatusExpired   = "expired"
	SurveyStatusSkipped   = "skipped"
)

// Choices are the answers an outbound message offers (survey scores, a flow's options):
// channels with buttons, quick replies, lists or keyboards render them natively; others get
// the numbered text the message carries already.
type Choices struct {
	// Style is a rendering hint: "stars" (a CSAT's 1–5), "scale" (NPS 0–10), "buttons".
	Style   string   `json:"style,omitempty"`
	Options []Choice `json:"options"`
	// Button labels the button that opens a list (WhatsApp list messages).
	Button string `json:"button,omitempty"`
	// Prompt is the question alone (Text also carries the numbered options for channels
	// that show text only).
	Prompt string `json:"prompt,omitempty"`
}

// Choice is one option: what the customer sees, and the payload their tap sends back.
type Choice struct {
	Payload     string `json:"payload"`
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
}

// SurveyPrompt, on an outbound survey message, says which survey it asks and how an answer
// comes back: Links (email) are signed one-click links per score.
type SurveyPrompt struct {
	ID    string       `json:"id"`
	Kind  string       `json:"kind"`
	Min   int          `json:"min"`
	Max   int          `json:"max"`
	Links []SurveyLink `json:"links,omitempty"`
	// Step is which message of the survey this is: question, reminder, reask, comment (the
	// follow-up asking for a comment) or thanks.
	Step string `json:"step"`
}

// Survey message steps.
const (
	SurveyStepQuestion = "question"
	SurveyStepReminder = "reminder"
	SurveyStepReask    = "reask"
	SurveyStepComment  = "comment"
	SurveyStepThanks   = "thanks"
)

// SurveyLink is one score's signed link.
type SurveyLink struct {
	Score int    `json:"score"`
	Label string `json:"label,omitempty"`
	URL   string `json:"url"`
}

// SurveyState is a conversation's current survey, the fold of its survey events.
type SurveyState struct {
	ID       string     `json:"id"`
	Policy   string     `json:"policy,omitempty"`
	Kind     string     `json:"kind"`
	Status   string     `json:"status"`
	Channel  Channel    `json:"channel,omitempty"`
	Language string     `json:"language,omitempty"`
	DueAt    time.Time  `json:"due_at"`
	SentAt   *time.Time `json:"sent_at,omitempty"`
	// ExpiresAt ends the survey: no answer (or change of answer) is taken after it.
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	Reminded  bool       `json:"reminded,omitempty"`
	Reasked   bool       `json:"reasked,omitempty"`
	Score     *int       `json:"score,omitempty"`
	Comment   string     `json:"comment,omitempty"`
	// CommentUntil is the end of the window in which the customer's next words are taken as
	// the answer's comment (set when the policy asks for one).
	CommentUntil *time.Time `json:"comment_until,omitempty"`
	AnsweredAt   *time.Time `json:"answered_at,omitempty"`
	Thanked      bool       `json:"thanked,omitempty"`
	// Recovery is the queue a bad score sent a recovery task to.
	Recovery string `json:"recovery,omitempty"`
	// Requested names who asked for the survey (REST); policy surveys have none.
	Requested string `json:"requested_by,omitempty"`
	Reason    string `json:"reason,omitempty"`
}

// Open reports whether the survey still takes an answer at t.
func (s *SurveyState) Open(t time.Time) bool {
	if s == nil || (s.Status != SurveyStatusSent && s.Status != SurveyStatusAnswered) {
		return false
	}
	return s.ExpiresAt == nil || t.Before(*s.ExpiresAt)
}

// Pending reports whether the survey is still to be sent or waiting for its first answer at t.
func (s *SurveyState) Pending(t time.Time) bool {
	return s != nil && (s.Status == SurveyStatusScheduled || s.Status == SurveyStatusSent && s.Open(t))
}

// SurveyEvent is what a survey event says.
type SurveyEvent struct {
	ID           string  `json:"id"`
	Policy       string  `json:"policy,omitempty"`
	RulesVersion string  `json:"rules_version,omitempty"`
	Kind         string  `json:"kind"`
	Min          int     `json:"min"`
	Max          int     `json:"max"`
	Channel      Channel `json:"channel,omitempty"`
	Account      string  `json:"account,omitempty"`
	Language     string  `json:"language,omitempty"`
	// DueAt (scheduled) is when it will be sent; ExpiresAt (sent) when it stops taking answers.
	DueAt     *time.Time `json:"due_at,omitempty"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	// MessageID is the survey message sent (survey_sent) or the customer's answer
	// (survey_answered).
	MessageID string `json:"message_id,omitempty"`
	// Template names the approved template a send used (WhatsApp outside the 24-hour window).
	Template string `json:"template,omitempty"`
	Reminder bool   `json:"reminder,omitempty"`
	// Score, Comment: the answer. Previous is the score it replaces (a changed answer, or the
	// same score with a comment added).
	Score    *int   `json:"score,omitempty"`
	Previous *int   `json:"previous,omitempty"`
	Comment  string `json:"comment,omitempty"`
	// Source is how the answer came: button, text, link.
	Source string `json:"source,omitempty"`
	// CommentUntil: the customer's next words until then are taken as the comment.
	CommentUntil *time.Time `json:"comment_until,omitempty"`
	// Recovery names the queue a bad score sent a recovery task to, and its conversation.
	Recovery             string `json:"recovery,omitempty"`
	RecoveryConversation string `json:"recovery_conversation,omitempty"`
	// Route, on a recovery task's opened event, is where the answer came from: the task's
	// replies go there.
	Route *ReplyRoute `json:"route,omitempty"`
	// Reason explains a skip or an expiry; Requested names who asked for a manual survey.
	Reason    string `json:"reason,omitempty"`
	Requested string `json:"requested_by,omitempty"`
}
