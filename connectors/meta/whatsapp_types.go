package meta

import "encoding/json"

// WhatsApp Cloud API webhook values (entry[].changes[].value with field "messages").

type waValue struct {
	MessagingProduct string            `json:"messaging_product"`
	Metadata         waMetadata        `json:"metadata"`
	Contacts         []waContact       `json:"contacts"`
	Messages         []json.RawMessage `json:"messages"`
	Statuses         []json.RawMessage `json:"statuses"`
	Errors           []waError         `json:"errors"`
}

type waMetadata struct {
	DisplayPhoneNumber string     `json:"display_phone_number"`
	PhoneNumberID      flexString `json:"phone_number_id"`
}

type waContact struct {
	Profile struct {
		Name string `json:"name"`
	} `json:"profile"`
	WaID string `json:"wa_id"`
}

type waMessage struct {
	From        string            `json:"from"`
	ID          string            `json:"id"`
	Timestamp   flexInt           `json:"timestamp"`
	Type        string            `json:"type"`
	Text        *waText           `json:"text"`
	Image       *waMedia          `json:"image"`
	Video       *waMedia          `json:"video"`
	Audio       *waMedia          `json:"audio"`
	Document    *waMedia          `json:"document"`
	Sticker     *waMedia          `json:"sticker"`
	Location    *waLocation       `json:"location"`
	Contacts    []waSharedContact `json:"contacts"`
	Button      *waButton         `json:"button"`
	Interactive *waInteractive    `json:"interactive"`
	Reaction    *waReaction       `json:"reaction"`
	System      *waSystem         `json:"system"`
	Context     *waContext        `json:"context"`
	Referral    *waReferral       `json:"referral"`
	Errors      []waError         `json:"errors"`
}

type waText struct {
	Body string `json:"body"`
}

type waMedia struct {
	ID       string `json:"id"`
	MimeType string `json:"mime_type"`
	SHA256   string `json:"sha256"`
	Caption  string `json:"caption"`
	Filename string `json:"filename"`
}

type waLocation struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
	Name      string  `json:"name"`
	Address   string  `json:"address"`
}

type waSharedContact struct {
	Name struct {
		FormattedName string `json:"formatted_name"`
	} `json:"name"`
	Phones []struct {
		Phone string `json:"phone"`
	} `json:"phones"`
}

type waButton struct {
	Payload string `json:"payload"`
	Text    string `json:"text"`
}

type waInteractive struct {
	Type        string   `json:"type"` // button_reply, list_reply, nfm_reply
	ButtonReply *waReply `json:"button_reply"`
	ListReply   *waReply `json:"list_reply"`
	NfmReply    *struct {
		ResponseJSON string `json:"response_json"`
		Body         string `json:"body"`
		Name         string `json:"name"`
	} `json:"nfm_reply"`
}

type waReply struct {
	ID          string `json:"id"`
	Title       string `json:"title"`
	Description string `json:"description"`
}

type waReaction struct {
	MessageID string `json:"message_id"`
	Emoji     string `json:"emoji"` // empty: the reaction was removed
}

type waSystem struct {
	Body    string `json:"body"`
	Type    string `json:"type"`
	NewWaID string `json:"new_wa_id"`
}

type waContext struct {
	From                string `json:"from"`
	ID                  string `json:"id"`
	Forwarded           bool   `json:"forwarded"`
	FrequentlyForwarded bool   `json:"frequently_forwarded"`
}

type waReferral struct {
	SourceURL  string `json:"source_url"`
	SourceID   string `json:"source_id"`
	SourceType string `json:"source_type"`
	Headline   string `json:"headline"`
}

type waStatus struct {
	ID          string    `json:"id"`
	Status      string    `json:"status"`
	Timestamp   flexInt   `json:"timestamp"`
	RecipientID string    `json:"recipient_id"`
	Errors      []waError `json:"errors"`
}

type waError struct {
	Code      flexInt `json:"code"`
	Title     string  `json:"title"`
	Message   string  `json:"message"`
	ErrorData *struct {
		Details string `json:"details"`
	} `json:"error_data"`
}
