package survey

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/switchboardhq/switchboard/schema"
)

// Native lists the channels that render choices themselves (buttons, quick replies, lists,
// keyboards, the widget's stars): the others get the numbered text only.
var Native = map[schema.Channel]bool{
	schema.ChannelWhatsApp: true, schema.ChannelMessenger: true, schema.ChannelInstagram: true,
	schema.ChannelTelegram: true, schema.ChannelWebchat: true, schema.ChannelAPI: true,
}

// Question is the text and choices of survey id's question. Text always carries the
// question with the way to answer by text (a numbered list of the labels, or "reply 0–10"), so
// a channel that cannot show the choices sends Text alone; Choices.Prompt is the question for
// channels that show the choices.
func Question(id, kind string, t *Text, reminder bool) (string, *schema.Choices) {
	lo, hi := schema.SurveyScale(kind)
	prompt := t.Question
	if reminder && t.Reminder != "" {
		prompt = t.Reminder + " " + prompt
	}
	ch := &schema.Choices{Style: "stars", Prompt: prompt, Button: t.Button}
	if kind == schema.SurveyNPS {
		ch.Style = "scale"
	}
	var lines []string
	for n := lo; n <= hi; n++ {
		label := t.Label(kind, n)
		title := strconv.Itoa(n)
		if kind == schema.SurveyCSAT {
			title = strings.Repeat("★", n)
		}
		ch.Options = append(ch.Options, schema.Choice{Payload: Payload(id, n), Title: title, Description: label})
		if kind == schema.SurveyCSAT {
			lines = append(lines, fmt.Sprintf("%d – %s", n, label))
		}
	}
	text := prompt + "\n" + t.ReplyHint(kind)
	if len(lines) > 0 {
		text = prompt + "\n" + strings.Join(lines, "\n") + "\n" + t.ReplyHint(kind)
	}
	return text, ch
}
