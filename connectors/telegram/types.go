package telegram

// Bot API objects (core.telegram.org/bots/api#update). Only the fields Switchboard uses are
// declared; Telegram adds fields freely.

type update struct {
	UpdateID          *int64      `json:"update_id"`
	Message           *tgMessage  `json:"message"`
	EditedMessage     *tgMessage  `json:"edited_message"`
	ChannelPost       *tgMessage  `json:"channel_post"`
	EditedChannelPost *tgMessage  `json:"edited_channel_post"`
	CallbackQuery     *tgCallback `json:"callback_query"`
	MessageReaction   *tgReaction `json:"message_reaction"`
}

type tgMessage struct {
	MessageID      int64          `json:"message_id"`
	From           *tgUser        `json:"from"`
	Chat           tgChat         `json:"chat"`
	Date           int64          `json:"date"`
	EditDate       int64          `json:"edit_date"`
	Text           string         `json:"text"`
	Caption        string         `json:"caption"`
	ReplyToMessage *tgMessageRef  `json:"reply_to_message"`
	Photo          []tgPhotoSize  `json:"photo"`
	Document       *tgFile        `json:"document"`
	Video          *tgFile        `json:"video"`
	Audio          *tgFile        `json:"audio"`
	Voice          *tgFile        `json:"voice"`
	Animation      *tgFile        `json:"animation"`
	VideoNote      *tgFile        `json:"video_note"`
	Sticker        *tgFile        `json:"sticker"`
	Location       *tgLocation    `json:"location"`
	Venue          *tgVenue       `json:"venue"`
	Contact        *tgContact     `json:"contact"`
	ReplyMarkup    *tgReplyMarkup `json:"reply_markup"`
}

type tgMessageRef struct {
	MessageID int64 `json:"message_id"`
}

type tgUser struct {
	ID           int64  `json:"id"`
	IsBot        bool   `json:"is_bot"`
	FirstName    string `json:"first_name"`
	LastName     string `json:"last_name"`
	Username     string `json:"username"`
	LanguageCode string `json:"language_code"`
}

type tgChat struct {
	ID   int64  `json:"id"`
	Type string `json:"type"` // private, group, supergroup, channel
}

type tgPhotoSize struct {
	FileID   string `json:"file_id"`
	Width    int    `json:"width"`
	Height   int    `json:"height"`
	FileSize int64  `json:"file_size"`
}

type tgFile struct {
	FileID   string `json:"file_id"`
	FileName string `json:"file_name"`
	MimeType string `json:"mime_type"`
	FileSize int64  `json:"file_size"`
}

type tgLocation struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
}

type tgVenue struct {
	Location tgLocation `json:"location"`
	Title    string     `json:"title"`
	Address  string     `json:"address"`
}

type tgContact struct {
	PhoneNumber string `json:"phone_number"`
	FirstName   string `json:"first_name"`
	LastName    string `json:"last_name"`
}

type tgReplyMarkup struct {
	InlineKeyboard [][]struct {
		Text         string `json:"text"`
		CallbackData string `json:"callback_data"`
	} `json:"inline_keyboard"`
}

type tgCallback struct {
	ID      string     `json:"id"`
	From    tgUser     `json:"from"`
	Message *tgMessage `json:"message"`
	Data    string     `json:"data"`
}

type tgReaction struct {
	Chat        tgChat           `json:"chat"`
	MessageID   int64            `json:"message_id"`
	User        *tgUser          `json:"user"`
	Date        int64            `json:"date"`
	OldReaction []tgReactionType `json:"old_reaction"`
	NewReaction []tgReactionType `json:"new_reaction"`
}

type tgReactionType struct {
	Type          string `json:"type"` // emoji, custom_emoji, paid
	Emoji         string `json:"emoji"`
	CustomEmojiID string `json:"custom_emoji_id"`
}
