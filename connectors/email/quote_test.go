package email

import "testing"

// Cases in the style of email_reply_parser's fixtures (top posting, bottom posting,
// signatures, wrapped quote headers, Outlook history, mailing-list footers).
func TestStripReply(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"plain", "Hi there\n\nJust a question.", "Hi there\n\nJust a question."},
		{"signature dashes", "Fixed it, thanks.\n\n-- \nBob\nhttp://bob.example", "Fixed it, thanks."},
		{"signature dash name", "Hi folks\n\nWhat is the best way?\n\n-Abhishek Kona\n\n\n_______________________________________________\nriak-users mailing list\nriak-users@lists.basho.com\n",
			"Hi folks\n\nWhat is the best way?"},
		{"top post with quote header", "Yes that is fine.\n\nOn Tue, Apr 29, 2014 at 3:11 PM, Bob <bob@example.com> wrote:\n> Can we meet?\n> Bob",
			"Yes that is fine."},
		{"wrapped quote header", "I get proper rendering as well.\n\nSent from a magnificent torch of pixels\n\nOn Dec 16, 2011, at 12:47 PM, Corey Donohoe\n<reply@reply.github.com>\nwrote:\n\n> Was this caching related or fixed already?",
			"I get proper rendering as well.\n\nSent from a magnificent torch of pixels"},
		{"sent from my iphone", "Call me.\n\nSent from my iPhone", "Call me."},
		{"bottom post keeps context", "On Tue, Bob <b@example.com> wrote:\n> Is it blue?\n\nYes, blue.\n\n> And big?\n\nVery big.\n\n> --\n> Bob",
			"On Tue, Bob <b@example.com> wrote:\n> Is it blue?\n\nYes, blue.\n\n> And big?\n\nVery big."},
		{"outlook history", "Works now.\n\nRegards\nAnna\n\n-----Original Message-----\nFrom: Support\nSent: Monday\nSubject: Help\n\nTry again.",
			"Works now.\n\nRegards\nAnna"},
		{"outlook header block", "OK.\n\nFrom: Support <s@example.com>\nSent: Monday, 1 May 2026 10:00\nTo: Anna\nSubject: Help\n\nTry again.", "OK."},
		{"french", "Merci !\n\nLe lun. 23 nov. 2026 à 17:02, Support <s@example.com> a écrit :\n> Bonjour", "Merci !"},
		{"german", "Danke.\n\nAm 23.11.2026 um 17:02 schrieb Support <s@example.com>:\n> Hallo", "Danke."},
		{"only quote", "> all quoted\n> nothing new", ""},
		{"crlf", "Hello\r\n\r\n> quoted\r\n", "Hello"},
		{"underscores under text", "Short answer.\n________________________________\nFrom: x", "Short answer."},
		{"one is not on", "One outstanding question: how do I do this?\n\nOn Oct 1, 2012, at 11:55 PM, Dave wrote:\n> quoted",
			"One outstanding question: how do I do this?"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := stripReply(c.in); got != c.want {
				t.Fatalf("stripReply:\n%q\nwant\n%q", got, c.want)
			}
		})
	}
}

func TestStripReplySpanish(t *testing.T) {
	if got := stripReply("Gracias.\n\nEl lun, 23 nov 2026 a las 17:02, Soporte (<s@example.com>) escribió:\n> Hola"); got != "Gracias." {
		t.Fatalf("%q", got)
	}
}

func TestHTMLReply(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"gmail", `<div dir="ltr">Thanks, that works.<div><br></div><div>Jane</div></div><br><div class="gmail_quote"><div class="gmail_attr">On Mon, Support wrote:<br></div><blockquote class="gmail_quote">Try again.</blockquote></div>`,
			"Thanks, that works.\n\nJane"},
		{"outlook", `<html><head><style>p{}</style></head><body><p>Received, thank you.</p><p>Anna</p><hr><div id="divRplyFwdMsg"><b>From:</b> Support<br><b>Sent:</b> Monday</div><div>Old text</div></body></html>`,
			"Received, thank you.\nAnna"},
		{"apple blockquote and signature", `<div>Yes please.</div><div><br></div><div>-- <br>Bob</div><blockquote type="cite">On Mon, Support wrote:<br>Shall we?</blockquote>`,
			"Yes please."},
		{"thunderbird", `<p>Fine.</p><div class="moz-cite-prefix">On 23.11.26 Support wrote:<br></div><blockquote type="cite">old</blockquote>`, "Fine."},
		{"broken html", `<p>Hello <b>there`, "Hello there"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := htmlReply(c.in); got != c.want {
				t.Fatalf("htmlReply:\n%q\nwant\n%q", got, c.want)
			}
		})
	}
}
