package survey

import (
	"strconv"
	"strings"
	"unicode"

	"github.com/switchboardhq/switchboard/schema"
)

// Outcome says what a customer's message is to a survey waiting for an answer.
type Outcome int

// Outcomes.
const (
	// NotAnswer: the message is something else (a new question); it is routed as usual.
	NotAnswer Outcome = iota
	// Answer: a score within the survey's scale.
	Answer
	// Unclear: an attempt at an answer that does not fit (out of range, a thumb for NPS): the
	// survey asks again once.
	Unclear
)

// Result is a parsed answer.
type Result struct {
	Outcome Outcome
	Score   int
	// Source is how the answer came: "button" (a payload of ours) or "text".
	Source string
}

// PayloadPrefix starts the payload of a survey button: "survey:<id>:<score>".
const PayloadPrefix = "survey:"

// Payload is the button payload of score for survey id.
func Payload(id string, score int) string { return PayloadPrefix + id + ":" + strconv.Itoa(score) }

// maxAnswerLen bounds the text read as an answer: anything longer is not a score.
const maxAnswerLen = 64

// Parse reads a customer's message as an answer to survey id of kind (csat or nps). A payload
// of one of our buttons for another survey is NotAnswer; any other payload (a template's
// button) is read like text.
func Parse(kind, id, text, payload string) Result {
	lo, hi := schema.SurveyScale(kind)
	if rest, ok := strings.CutPrefix(payload, PayloadPrefix); ok {
		i := strings.LastIndexByte(rest, ':')
		if i < 0 || rest[:i] != id {
			return Result{}
		}
		n, err := strconv.Atoi(rest[i+1:])
		if err != nil || n < lo || n > hi {
			return Result{Outcome: Unclear, Source: "button"}
		}
		return Result{Outcome: Answer, Score: n, Source: "button"}
	}
	if payload != "" && strings.TrimSpace(text) == "" {
		text = payload
	}
	r := parseText(kind, text)
	if r.Outcome == Answer && (r.Score < lo || r.Score > hi) {
		r.Outcome = Unclear
	}
	r.Source = "text"
	if r.Outcome == NotAnswer {
		r.Source = ""
	}
	return r
}

// parseText reads a whole message as a score: a number (digits or a word), optionally
// "out of" the scale's top ("5/5", "9 out of 10", "4 of 5"), optionally followed by "stars" or
// "points" ("yıldız", "puan"); stars (⭐⭐⭐⭐, ★★★); a thumb. Anything else is NotAnswer.
func parseText(kind, text string) Result {
	if len(text) > maxAnswerLen*4 {
		return Result{}
	}
	s := fold(text)
	if s == "" || len([]rune(s)) > maxAnswerLen {
		return Result{}
	}
	if r, ok := symbols(kind, s); ok {
		return r
	}
	words := strings.FieldsFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || r == ',' || r == '.' || r == '!' || r == '?' || r == '-' || r == '(' || r == ')'
	})
	// "5/5" and "9/10" are one field: split them.
	var toks []string
	for _, w := range words {
		if a, b, ok := strings.Cut(w, "/"); ok && w != "/" {
			for _, t := range []string{a, "/", b} {
				if t != "" {
					toks = append(toks, t)
				}
			}
			continue
		}
		toks = append(toks, w)
	}
	toks = dropFiller(toks)
	switch len(toks) {
	case 1:
		if n, ok := number(toks[0]); ok {
			return Result{Outcome: Answer, Score: n}
		}
	case 3:
		n, ok1 := number(toks[0])
		d, ok2 := number(toks[2])
		if toks[1] == "uzerinden" { // Turkish puts the scale first: "5 üzerinden 4"
			n, d = d, n
		}
		if ok1 && ok2 && outOf[toks[1]] {
			_, hi := schema.SurveyScale(kind)
			if d != hi {
				return Result{Outcome: Unclear}
			}
			return Result{Outcome: Answer, Score: n}
		}
	}
	return Result{}
}

// outOf are the words between a score and its scale ("4 out of 5" drops "out").
var outOf = map[string]bool{"/": true, "of": true, "uzerinden": true, "on": false}

// filler are words around a score that do not change it.
var filler = map[string]bool{
	"stars": true, "star": true, "points": true, "point": true, "score": true, "out": true, "my": true, "is": true,
	"yildiz": true, "puan": true, "puanim": true, "veriyorum": true, "verdim": true, "i": true, "give": true, "rate": true,
}

func dropFiller(toks []string) []string {
	out := toks[:0:0]
	for _, t := range toks {
		if !filler[t] {
			out = append(out, t)
		}
	}
	return out
}

// numberWords are the number words 0–10 in English and Turkish (folded: "beş" is "bes").
var numberWords = map[string]int{
	"zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
	"sifir": 0, "bir": 1, "iki": 2, "uc": 3, "dort": 4, "bes": 5, "alti": 6, "yedi": 7, "sekiz": 8, "dokuz": 9, "on": 10,
}

func number(tok string) (int, bool) {
	if n, ok := numberWords[tok]; ok {
		return n, true
	}
	if len(tok) == 0 || len(tok) > 3 {
		return 0, false
	}
	for _, r := range tok {
		if r < '0' || r > '9' {
			return 0, false
		}
	}
	n, _ := strconv.Atoi(tok)
	return n, true
}

// symbols reads a message of stars or one thumb (spaces, variation selectors and skin tones
// ignored). Stars count; a thumb up is CSAT 5 and a thumb down CSAT 1 (for NPS a thumb is
// unclear: the survey asks for a number).
func symbols(kind, s string) (Result, bool) {
	stars, up, down, other := 0, 0, 0, 0
	for _, r := range s {
		switch {
		case r == '⭐' || r == '★' || r == '🌟':
			stars++
		case r == '👍':
			up++
		case r == '👎':
			down++
		case unicode.IsSpace(r) || r == '\uFE0F' || r == '\uFE0E' || r == '\u200D' || (r >= 0x1F3FB && r <= 0x1F3FF):
		default:
			other++
		}
	}
	switch {
	case other > 0 || stars+up+down == 0:
		return Result{}, false
	case stars > 0 && up+down == 0:
		return Result{Outcome: Answer, Score: stars}, true
	case stars == 0 && up > 0 && down == 0 || stars == 0 && down > 0 && up == 0:
		if kind == schema.SurveyNPS {
			return Result{Outcome: Unclear}, true
		}
		if up > 0 {
			return Result{Outcome: Answer, Score: 5}, true
		}
		return Result{Outcome: Answer, Score: 1}, true
	}
	return Result{Outcome: Unclear}, true
}

// fold lowers s and takes the diacritics off Latin and Turkish letters ("BEŞ" → "bes", "İKİ"
// → "iki", "dört" → "dort"), keeping other characters.
func fold(s string) string {
	var b strings.Builder
	for _, r := range strings.TrimSpace(s) {
		switch r {
		case 'İ', 'I', 'ı':
			r = 'i'
		default:
			r = unicode.ToLower(r)
		}
		if f, ok := plain[r]; ok {
			r = f
		}
		if r == '\u0307' { // combining dot above (a lowered İ)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

var plain = map[rune]rune{
	'ş': 's', 'ç': 'c', 'ğ': 'g', 'ö': 'o', 'ü': 'u', 'â': 'a', 'î': 'i', 'û': 'u',
	'é': 'e', 'è': 'e', 'ê': 'e', 'á': 'a', 'à': 'a', 'ó': 'o', 'ú': 'u', 'í': 'i', 'ñ': 'n',
}
