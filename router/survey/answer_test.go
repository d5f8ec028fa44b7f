package survey

import (
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/schema"
)

func TestParseAnswers(t *testing.T) {
	csat, nps := schema.SurveyCSAT, schema.SurveyNPS
	for _, tc := range []struct {
		kind, text, payload string
		want                Outcome
		score               int
	}{
		{csat, "5", "", Answer, 5},
		{csat, " 4 ", "", Answer, 4},
		{csat, "5/5", "", Answer, 5},
		{csat, "4 / 5", "", Answer, 4},
		{csat, "4 out of 5", "", Answer, 4},
		{csat, "3 of 5!", "", Answer, 3},
		{csat, "5 stars", "", Answer, 5},
		{csat, "I give 4", "", Answer, 4},
		{csat, "five", "", Answer, 5},
		{csat, "Four.", "", Answer, 4},
		{csat, "beş", "", Answer, 5},
		{csat, "BEŞ", "", Answer, 5},
		{csat, "dört", "", Answer, 4},
		{csat, "üç", "", Answer, 3},
		{csat, "İKİ", "", Answer, 2},
		{csat, "5 yıldız", "", Answer, 5},
		{csat, "5 üzerinden 4", "", Answer, 4},
		{csat, "⭐⭐⭐⭐", "", Answer, 4},
		{csat, "⭐️⭐️⭐️", "", Answer, 3},
		{csat, "★ ★", "", Answer, 2},
		{csat, "👍", "", Answer, 5},
		{csat, "👍🏽", "", Answer, 5},
		{csat, "👎", "", Answer, 1},
		{csat, "", "survey:conv1.0:2", Answer, 2},
		{csat, "Satisfied", "survey:conv1.0:4", Answer, 4},
		{csat, "", "4", Answer, 4},     // a template button's payload
		{csat, "7", "", Unclear, 0},    // out of range
		{csat, "0", "", Unclear, 0},    // out of range
		{csat, "8/10", "", Unclear, 0}, // another scale
		{csat, "⭐⭐⭐⭐⭐⭐", "", Unclear, 0},
		{csat, "👍👎", "", Unclear, 0},
		{csat, "", "survey:conv1.0:9", Unclear, 0},
		{csat, "", "survey:other.0:4", NotAnswer, 0}, // another survey's button
		{csat, "where is my order?", "", NotAnswer, 0},
		{csat, "I have 2 questions", "", NotAnswer, 0},
		{csat, "2 questions", "", NotAnswer, 0},
		{csat, "thanks", "", NotAnswer, 0},
		{csat, "ok 👍 but the invoice is wrong", "", NotAnswer, 0},
		{csat, "order 12345", "", NotAnswer, 0},
		{csat, "12345", "", NotAnswer, 0},
		{nps, "10", "", Answer, 10},
		{nps, "0", "", Answer, 0},
		{nps, "9/10", "", Answer, 9},
		{nps, "ten", "", Answer, 10},
		{nps, "zero", "", Answer, 0},
		{nps, "on", "", Answer, 10},
		{nps, "sıfır", "", Answer, 0},
		{nps, "dokuz", "", Answer, 9},
		{nps, "10 puan", "", Answer, 10},
		{nps, "10 üzerinden 8", "", Answer, 8},
		{nps, "11", "", Unclear, 0},
		{nps, "4/5", "", Unclear, 0},
		{nps, "👍", "", Unclear, 0},
		{nps, "", "survey:c.1:10", Answer, 10},
		{nps, "can I talk to someone", "", NotAnswer, 0},
	} {
		id := "conv1.0"
		if tc.kind == nps {
			id = "c.1"
		}
		got := Parse(tc.kind, id, tc.text, tc.payload)
		if got.Outcome != tc.want || (tc.want == Answer && got.Score != tc.score) {
			t.Errorf("Parse(%s, %q, %q) = %+v, want outcome %d score %d", tc.kind, tc.text, tc.payload, got, tc.want, tc.score)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"5", "5/5", "beş", "⭐⭐⭐", "👍", "10 üzerinden 8", "survey:x:3", "İ", "9 out of 10"} {
		f.Add(s, "")
		f.Add("", s)
	}
	f.Fuzz(func(t *testing.T, text, payload string) {
		for _, kind := range []string{schema.SurveyCSAT, schema.SurveyNPS} {
			r := Parse(kind, "x", text, payload)
			lo, hi := schema.SurveyScale(kind)
			if r.Outcome == Answer && (r.Score < lo || r.Score > hi) {
				t.Fatalf("Parse(%s, %q, %q) = score %d outside %d..%d", kind, text, payload, r.Score, lo, hi)
			}
			if r.Outcome == NotAnswer && r.Source != "" {
				t.Fatalf("not an answer with a source: %+v", r)
			}
		}
	})
}

func TestTokens(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	tok := Token{Conversation: "conv_a", Survey: "conv_a.0", Expires: now.Add(time.Hour)}
	s := Sign(key, tok)
	got, err := Verify(key, s, now)
	if err != nil || got != tok {
		t.Fatalf("Verify = %+v, %v; want %+v", got, err, tok)
	}
	if _, err := Verify(key, s, now.Add(time.Hour)); err != ErrTokenExpired {
		t.Fatalf("an expired token: %v, want ErrTokenExpired", err)
	}
	if _, err := Verify([]byte("another key"), s, now); err != ErrTokenInvalid {
		t.Fatalf("another key: %v", err)
	}
	// Altering any character of the payload or the signature breaks it.
	for i := 3; i < len(s); i++ {
		b := []byte(s)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		if _, err := Verify(key, string(b), now); err == nil {
			t.Fatalf("altered at %d (%s) still verifies", i, b)
		}
	}
	// A longer expiry signed by somebody else does not pass.
	forged := Sign([]byte("guess"), Token{Conversation: "conv_a", Survey: "conv_a.0", Expires: now.Add(24 * time.Hour)})
	if _, err := Verify(key, forged, now); err != ErrTokenInvalid {
		t.Fatalf("forged: %v", err)
	}
	for _, bad := range []string{"", "v1", "v1..", "v2." + s[3:], "v1.!!.!!", s + ".x"} {
		if _, err := Verify(key, bad, now); err != ErrTokenInvalid {
			t.Errorf("Verify(%q) = %v, want ErrTokenInvalid", bad, err)
		}
	}
}

func FuzzVerify(f *testing.F) {
	key := []byte("k")
	f.Add(Sign(key, Token{Conversation: "c", Survey: "s", Expires: time.Unix(2e9, 0)}))
	f.Add("v1.YXxifDE.xx")
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := Verify(key, s, time.Unix(1e9, 0))
		if err == nil && Sign(key, tok) != s {
			t.Fatalf("%q verified but is not the token of %+v", s, tok)
		}
	})
}

func TestQuestionRendering(t *testing.T) {
	en := Resolve(schema.SurveyCSAT, "en", Text{})
	text, ch := Question("s1", schema.SurveyCSAT, &en, false)
	want := "How satisfied are you with the help you received?\n1 – Very dissatisfied\n2 – Dissatisfied\n3 – Neutral\n4 – Satisfied\n5 – Very satisfied\nReply with a number from 1 (very dissatisfied) to 5 (very satisfied)."
	if text != want {
		t.Fatalf("text:\n%s\nwant:\n%s", text, want)
	}
	if len(ch.Options) != 5 || ch.Options[4].Payload != "survey:s1:5" || ch.Options[4].Title != "★★★★★" || ch.Options[0].Description != "Very dissatisfied" {
		t.Fatalf("choices: %+v", ch)
	}
	tr := Resolve(schema.SurveyNPS, "tr", Text{Question: "Bizi önerir misiniz?"})
	text, ch = Question("s2", schema.SurveyNPS, &tr, true)
	if text != "Küçük bir hatırlatma: Bizi önerir misiniz?\n0 (hiç olası değil) ile 10 (kesinlikle tavsiye ederim) arasında bir sayıyla yanıtlayın." {
		t.Fatalf("nps tr text: %q", text)
	}
	if len(ch.Options) != 11 || ch.Style != "scale" || ch.Options[0].Description != "Hiç olası değil" || ch.Options[5].Description != "" {
		t.Fatalf("nps choices: %+v", ch)
	}
	// Unknown languages fall back to English.
	if de := Resolve(schema.SurveyCSAT, "de", Text{}); de.Question != en.Question {
		t.Fatalf("de fell back to %q", de.Question)
	}
}
