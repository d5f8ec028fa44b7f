package survey

import (
	"strconv"
	"strings"

	"github.com/switchboardhq/switchboard/schema"
)

// Text is what a survey says in one language. Empty fields take the built-in text of the
// language (English and Turkish ship; other languages fall back to English field by field).
// {min} and {max} in Reply and Reask are replaced by the scale's ends.
type Text struct {
	// Question asks for the score.
	Question string `yaml:"question"`
	// Labels name the scores from the lowest: five for CSAT; for NPS eleven, or two (the
	// ends: "not at all likely", "extremely likely").
	Labels []string `yaml:"labels"`
	// Reply tells text channels how to answer ("Reply with a number from {min} to {max}.").
	Reply string `yaml:"reply"`
	// Reask asks again after an answer that does not fit.
	Reask string `yaml:"reask"`
	// Reminder opens the reminder, before the question.
	Reminder string `yaml:"reminder"`
	// Comment asks for a comment after the score (when the policy wants one).
	Comment string `yaml:"comment"`
	// Thanks closes: sent after the score when no comment is asked for, and after the comment.
	Thanks string `yaml:"thanks"`
	// Subject titles the survey page (the email keeps the conversation's subject, so that
	// it stays in the customer's thread); Button labels a list's button (WhatsApp).
	Subject string `yaml:"subject"`
	Button  string `yaml:"button"`
}

// Builtin are the shipped texts per kind and language.
var Builtin = map[string]map[string]Text{
	schema.SurveyCSAT: {
		"en": {Question: "How satisfied are you with the help you received?",
			Labels: []string{"Very dissatisfied", "Dissatisfied", "Neutral", "Satisfied", "Very satisfied"},
			Reply:  "Reply with a number from {min} (very dissatisfied) to {max} (very satisfied).",
			Reask:  "Sorry, I did not get that. Please answer with a number from {min} to {max}.", Reminder: "A quick reminder:",
			Comment: "Thank you! Is there anything you would like to add? Just reply here.", Thanks: "Thank you for your feedback!",
			Subject: "How did we do?", Button: "Rate us"},
		"tr": {Question: "Aldığınız destekten ne kadar memnun kaldınız?",
			Labels: []string{"Hiç memnun değilim", "Memnun değilim", "Kararsızım", "Memnunum", "Çok memnunum"},
			Reply:  "{min} (hiç memnun değilim) ile {max} (çok memnunum) arasında bir sayıyla yanıtlayın.",
			Reask:  "Üzgünüz, anlayamadık. Lütfen {min} ile {max} arasında bir sayıyla yanıtlayın.", Reminder: "Küçük bir hatırlatma:",
			Comment: "Teşekkürler! Eklemek istediğiniz bir şey var mı? Buraya yazabilirsiniz.", Thanks: "Geri bildiriminiz için teşekkür ederiz!",
			Subject: "Nasıl yardımcı olduk?", Button: "Puan verin"},
	},
	schema.SurveyNPS: {
		"en": {Question: "How likely are you to recommend us to a friend or colleague?",
			Labels: []string{"Not at all likely", "Extremely likely"},
			Reply:  "Reply with a number from {min} (not at all likely) to {max} (extremely likely).",
			Reask:  "Sorry, I did not get that. Please answer with a number from {min} to {max}.", Reminder: "A quick reminder:",
			Comment: "Thank you! What is the main reason for your score? Just reply here.", Thanks: "Thank you for your feedback!",
			Subject: "Would you recommend us?", Button: "Choose a score"},
		"tr": {Question: "Bizi bir arkadaşınıza veya iş arkadaşınıza tavsiye etme olasılığınız nedir?",
			Labels: []string{"Hiç olası değil", "Kesinlikle tavsiye ederim"},
			Reply:  "{min} (hiç olası değil) ile {max} (kesinlikle tavsiye ederim) arasında bir sayıyla yanıtlayın.",
			Reask:  "Üzgünüz, anlayamadık. Lütfen {min} ile {max} arasında bir sayıyla yanıtlayın.", Reminder: "Küçük bir hatırlatma:",
			Comment: "Teşekkürler! Bu puanı vermenizin temel nedeni nedir? Buraya yazabilirsiniz.", Thanks: "Geri bildiriminiz için teşekkür ederiz!",
			Subject: "Bizi tavsiye eder misiniz?", Button: "Puan seçin"},
	},
}

// Resolve fills t's empty fields from the built-in text of kind in lang (English when the
// language has none).
func Resolve(kind, lang string, t Text) Text {
	b, ok := Builtin[kind][lang]
	if !ok {
		b = Builtin[kind]["en"]
	}
	pick := func(v, d string) string {
		if v != "" {
			return v
		}
		return d
	}
	t.Question, t.Reply, t.Reask = pick(t.Question, b.Question), pick(t.Reply, b.Reply), pick(t.Reask, b.Reask)
	t.Reminder, t.Comment, t.Thanks = pick(t.Reminder, b.Reminder), pick(t.Comment, b.Comment), pick(t.Thanks, b.Thanks)
	t.Subject, t.Button = pick(t.Subject, b.Subject), pick(t.Button, b.Button)
	if len(t.Labels) == 0 {
		t.Labels = b.Labels
	}
	return t
}

// Label names score (empty when the labels name only the ends and score is in between).
func (t *Text) Label(kind string, score int) string {
	lo, hi := schema.SurveyScale(kind)
	switch {
	case len(t.Labels) == hi-lo+1:
		return t.Labels[score-lo]
	case len(t.Labels) == 2 && score == lo:
		return t.Labels[0]
	case len(t.Labels) == 2 && score == hi:
		return t.Labels[1]
	}
	return ""
}

// scale fills {min} and {max}.
func scale(s, kind string) string {
	lo, hi := schema.SurveyScale(kind)
	return strings.NewReplacer("{min}", strconv.Itoa(lo), "{max}", strconv.Itoa(hi)).Replace(s)
}

// ReplyHint is t.Reply for kind.
func (t *Text) ReplyHint(kind string) string { return scale(t.Reply, kind) }

// ReaskText is t.Reask for kind.
func (t *Text) ReaskText(kind string) string { return scale(t.Reask, kind) }

// Page is what the survey page says around the question, per language.
type Page struct {
	CommentLabel, Send, Close, Change string
}

var pages = map[string]Page{
	"en": {CommentLabel: "Anything you would like to add? (optional)", Send: "Send", Close: "You can close this page.", Change: "You can change your answer."},
	"tr": {CommentLabel: "Eklemek istediğiniz bir şey var mı? (isteğe bağlı)", Send: "Gönder", Close: "Bu sayfayı kapatabilirsiniz.", Change: "Yanıtınızı değiştirebilirsiniz."},
}

// PageText is the survey page's text in lang (English when there is none).
func PageText(lang string) Page {
	if p, ok := pages[lang]; ok {
		return p
	}
	return pages["en"]
}
