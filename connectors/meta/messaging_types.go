package meta

// Messenger and Instagram webhook events (entry[].messaging[]). Only the fields Switchboard
// uses are declared; Meta adds fields freely.

type messagingEvent struct {
	Sender      party       `json:"sender"`
	Recipient   party       `json:"recipient"`
	Timestamp   flexInt     `json:"timestamp"`
	Message     *fbMessage  `json:"message"`
	Postback    *fbPostback `json:"postback"`
	Reaction    *fbReaction `json:"reaction"`
	Delivery    *fbDelivery `json:"delivery"`
	Read        *fbRead     `json:"read"`
	MessageEdit *fbEdit     `json:"message_edit"`
	Referral    *fbReferral `json:"referral"`
	Optin       *struct{}   `json:"optin"`
}

type party struct {
	ID      flexString `json:"id"`
	UserRef string     `json:"user_ref"` // chat plugin guests have no PSID yet
}

type fbMessage struct {
	MID           string         `json:"mid"`
	Text          string         `json:"text"`
	IsEcho        bool           `json:"is_echo"`
	IsDeleted     bool           `json:"is_deleted"`     // Instagram: the sender unsent it
	IsUnsupported bool           `json:"is_unsupported"` // Instagram: a type the API cannot show
	QuickReply    *fbQuickReply  `json:"quick_reply"`
	ReplyTo       *fbReplyTo     `json:"reply_to"`
	Attachments   []fbAttachment `json:"attachments"`
	Referral      *fbReferral    `json:"referral"`
}

type fbQuickReply struct {
	Payload string `json:"payload"`
}

type fbReplyTo struct {
	MID   string `json:"mid"`
	Story *struct {
		URL string     `json:"url"`
		ID  flexString `json:"id"`
	} `json:"story"` // Instagram story replies
}

type fbAttachment struct {
	Type    string           `json:"type"`
	Title   string           `json:"title"`
	URL     string           `json:"url"` // fallback (shared link) attachments
	Payload *fbAttachPayload `json:"payload"`
}

type fbAttachPayload struct {
	URL         string         `json:"url"`
	Title       string         `json:"title"`
	StickerID   flexString     `json:"sticker_id"`
	Coordinates *fbCoordinates `json:"coordinates"`
}

type fbCoordinates struct {
	Lat  float64 `json:"lat"`
	Long float64 `json:"long"`
}

type fbPostback struct {
	MID      string      `json:"mid"`
	Title    string      `json:"title"`
	Payload  string      `json:"payload"`
	Referral *fbReferral `json:"referral"`
}

type fbReaction struct {
	MID      string `json:"mid"`
	Action   string `json:"action"`   // react, unreact
	Reaction string `json:"reaction"` // smile, angry, sad, wow, love, like, dislike, other
	Emoji    string `json:"emoji"`
}

type fbDelivery struct {
	MIDs      []string `json:"mids"`
	Watermark flexInt  `json:"watermark"`
}

type fbRead struct {
	Watermark flexInt `json:"watermark"` // Messenger
	MID       string  `json:"mid"`       // Instagram (messaging_seen)
}

type fbEdit struct {
	MID     string  `json:"mid"`
	Text    string  `json:"text"`
	NumEdit flexInt `json:"num_edit"`
}

type fbReferral struct {
	Ref    string `json:"ref"`
	Source string `json:"source"`
	Type   string `json:"type"`
	AdID   string `json:"ad_id"`
}
