package rest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/connectors"
	"github.com/switchboardhq/switchboard/router"
	"github.com/switchboardhq/switchboard/router/rules"
	"github.com/switchboardhq/switchboard/router/survey"
	"github.com/switchboardhq/switchboard/schema"
)

// surveyEndpoints are the survey request (REST, authenticated) and the customers' survey
// page behind the email links (open: the signed token is the credential).
func (s *API) surveyEndpoints(ep func(string, string, connectors.HandlerFunc) connectors.Endpoint) []connectors.Endpoint {
	open := func(method string, h connectors.HandlerFunc) connectors.Endpoint {
		return connectors.Endpoint{Method: method, Path: "/survey/{token}", Channel: restChannel, Handle: h}
	}
	return []connectors.Endpoint{
		ep("POST", "/v1/conversations/{id}/survey", s.postSurvey),
		open("GET", s.surveyPage),
		open("POST", s.surveySubmit),
	}
}

// postSurvey answers POST /v1/conversations/{id}/survey {"policy": "...", "kind": "csat"}:
// the survey is sent now (the policy's delay does not apply, nor its once_per; an opt-out
// does).
func (s *API) postSurvey(ctx context.Context, r *connectors.Request) (*connectors.Response, error) {
	conv, err := s.conversation(ctx, r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	var b struct {
		Policy  string `json:"policy"`
		Kind    string `json:"kind"`
		AgentID string `json:"agent_id"`
	}
	if len(r.Body) > 0 {
		if err := decodeJSON(r, &b); err != nil {
			return nil, err
		}
	}
	p, err := s.surveyPolicy(ctx, conv, b.Policy, b.Kind)
	if err != nil {
		return nil, err
	}
	if st := conv.Survey; st.Pending(time.Now()) {
		return nil, &connectors.HTTPError{Status: http.StatusConflict, Code: "survey_pending",
			Message: fmt.Sprintf("%v: survey %s is %s", router.ErrSurveyPending, st.ID, st.Status)}
	}
	agent, err := actingAgent(ctx, b.AgentID)
	if err != nil {
		return nil, err
	}
	cmdID := commandID(r, string(router.CommandSurvey), conv.ID)
	cmd := &router.Command{ID: cmdID, Type: router.CommandSurvey, ConversationID: conv.ID, CustomerID: conv.CustomerID,
		Actor: actorFor(ctx, agent), At: time.Now().UTC(), Survey: &router.SurveyCommand{Policy: p.Name, Kind: p.Kind}}
	if err := s.router.Submit(ctx, cmd); err != nil {
		return nil, err
	}
	return connectors.JSON(http.StatusAccepted, map[string]string{"command_id": cmdID, "conversation_id": conv.ID, "policy": p.Name}), nil
}

// surveyPolicy picks a requested survey's policy: the one named, else the first of the
// kind, else the first whose conditions hold for the conversation, else the first.
func (s *API) surveyPolicy(ctx context.Context, conv *schema.Conversation, name, kind string) (*rules.SurveyPolicy, error) {
	rs := s.router.Rules()
	if !rs.HasSurveys() {
		return nil, &connectors.HTTPError{Status: http.StatusConflict, Code: "no_survey_policy",
			Message: "the rules file has no surveys: add a policy under surveys (docs/surveys.md)"}
	}
	names := rs.SurveyPolicies()
	if name != "" {
		if p := rs.SurveyPolicy(name); p != nil {
			return p, nil
		}
		return nil, connectors.BadField("policy", "%v %q (policies: %s)", router.ErrNoSurveyPolicy, name, strings.Join(names, ", "))
	}
	if kind != "" {
		if kind != schema.SurveyCSAT && kind != schema.SurveyNPS {
			return nil, connectors.BadField("kind", "unknown survey kind %q (csat or nps)", kind)
		}
		for _, n := range names {
			if p := rs.SurveyPolicy(n); p.Kind == kind {
				return p, nil
			}
		}
		return nil, connectors.BadField("kind", "no %s policy in the rules (policies: %s)", kind, strings.Join(names, ", "))
	}
	cust, _, err := s.reads.Customer(ctx, conv.CustomerID)
	if err != nil {
		cust = &schema.Customer{}
	}
	m := &schema.Message{Channel: conv.ReplyRoute.Channel, Account: conv.ReplyRoute.Account}
	if p := rs.Survey(rules.SurveyInput{Message: m, Customer: cust, Queue: conv.Queue, Now: time.Now()}); p != nil {
		return p, nil
	}
	return rs.SurveyPolicy(names[0]), nil
}

// surveyView is what the survey page shows.
type surveyView struct {
	Lang, Title, Question, Message, Error string
	Status                                int
	Form                                  bool
	Action                                string
	Options                               []surveyOption
	Comment                               string
	Done                                  bool
	Chosen                                string
	Page                                  survey.Page
}

type surveyOption struct {
	Score   int
	Title   string
	Label   string
	Checked bool
}

// surveyPage answers GET /survey/{token}?score=N: the question with the score chosen in the
// mail already selected and a comment box. A GET records nothing (mail scanners fetch links):
// the customer confirms with the button.
func (s *API) surveyPage(ctx context.Context, r *connectors.Request) (*connectors.Response, error) {
	v, st, _ := s.surveyState(ctx, r)
	if v.Form {
		score, _ := strconv.Atoi(r.HTTP.URL.Query().Get("score"))
		if st.Score != nil && r.HTTP.URL.Query().Get("score") == "" {
			score = *st.Score
			v.Message = v.Page.Change
		}
		for i := range v.Options {
			v.Options[i].Checked = v.Options[i].Score == score
		}
		v.Comment = st.Comment
	}
	return renderSurvey(v)
}

// surveySubmit answers the page's form (POST score, comment): it records the answer through
// the router (a changed answer replaces the earlier one) and thanks.
func (s *API) surveySubmit(ctx context.Context, r *connectors.Request) (*connectors.Response, error) {
	v, st, tok := s.surveyState(ctx, r)
	if !v.Form {
		return renderSurvey(v)
	}
	form, err := url.ParseQuery(string(r.Body))
	lo, hi := schema.SurveyScale(st.Kind)
	score, serr := strconv.Atoi(form.Get("score"))
	if err != nil || serr != nil || score < lo || score > hi {
		v.Status, v.Error = http.StatusBadRequest, fmt.Sprintf("Please choose a score from %d to %d.", lo, hi)
		return renderSurvey(v)
	}
	comment := strings.TrimSpace(form.Get("comment"))
	if len(comment) > 4000 {
		comment = comment[:4000]
	}
	sum := sha256.Sum256([]byte(strconv.Itoa(score) + "\x00" + comment))
	conv, _, err := s.reads.Conversation(ctx, tok.Conversation)
	if err != nil {
		return nil, err
	}
	cmd := &router.Command{ID: "link:" + st.ID + ":" + hex.EncodeToString(sum[:8]), Type: router.CommandSurveyAnswer,
		ConversationID: conv.ID, CustomerID: conv.CustomerID, Actor: "customer", At: time.Now().UTC(),
		Survey: &router.SurveyCommand{ID: st.ID, Score: &score, Comment: comment}}
	if err := s.router.Submit(ctx, cmd); err != nil {
		return nil, err
	}
	v.Form, v.Done = false, true
	v.Title, v.Message = s.surveyText(st).Thanks, ""
	for _, o := range v.Options {
		if o.Score == score {
			v.Chosen = o.Title
		}
	}
	return renderSurvey(v)
}

// surveyState checks the token and the survey it is for; v.Form is false (with the page to
// show) when the link cannot take an answer.
func (s *API) surveyState(ctx context.Context, r *connectors.Request) (surveyView, *schema.SurveyState, survey.Token) {
	v := surveyView{Lang: "en", Title: "Survey", Action: r.HTTP.URL.Path, Status: http.StatusOK, Page: survey.PageText("en")}
	tok, err := survey.Verify(s.router.SurveyKey(), r.PathValue("token"), time.Now())
	switch {
	case errors.Is(err, survey.ErrTokenExpired):
		v.Status, v.Title, v.Error = http.StatusGone, "This survey has closed", "The link has expired, so no answer can be recorded any more. Thank you all the same."
		return v, nil, tok
	case err != nil:
		v.Status, v.Title, v.Error = http.StatusForbidden, "This link is not valid", "The survey link was altered or is incomplete, so nothing was recorded. Please use the link from the email as it is."
		return v, nil, tok
	}
	conv, _, err := s.reads.Conversation(ctx, tok.Conversation)
	st := (*schema.SurveyState)(nil)
	if err == nil {
		st = conv.Survey
	}
	if st == nil || st.ID != tok.Survey || !st.Open(time.Now()) {
		v.Status, v.Title, v.Error = http.StatusGone, "This survey has closed", "This survey no longer takes answers (it expired, or a newer one replaced it). Nothing was recorded."
		return v, nil, tok
	}
	t := s.surveyText(st)
	v.Lang, v.Title, v.Question, v.Form, v.Page = st.Language, t.Subject, t.Question, true, survey.PageText(st.Language)
	lo, hi := schema.SurveyScale(st.Kind)
	for n := lo; n <= hi; n++ {
		title := strconv.Itoa(n)
		if st.Kind == schema.SurveyCSAT {
			title = strings.Repeat("★", n)
		}
		v.Options = append(v.Options, surveyOption{Score: n, Title: title, Label: t.Label(st.Kind, n)})
	}
	return v, st, tok
}

func (s *API) surveyText(st *schema.SurveyState) survey.Text {
	if p := s.router.Rules().SurveyPolicy(st.Policy); p != nil {
		return p.Text(st.Language)
	}
	return survey.Resolve(st.Kind, st.Language, survey.Text{})
}

func renderSurvey(v surveyView) (*connectors.Response, error) {
	var b strings.Builder
	if err := surveyTemplate.Execute(&b, v); err != nil {
		return nil, err
	}
	return &connectors.Response{Status: v.Status, Body: []byte(b.String()), Header: http.Header{
		"Content-Type": {"text/html; charset=utf-8"}, "Cache-Control": {"no-store"}, "Referrer-Policy": {"no-referrer"},
		"X-Robots-Tag": {"noindex"}, "Content-Security-Policy": {"default-src 'none'; style-src 'unsafe-inline'; form-action 'self'"}}}, nil
}

var surveyTemplate = template.Must(template.New("survey").Parse(`<!doctype html>
<html lang="{{.Lang}}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>{{.Title}}</title>
<style>
body{font:16px/1.5 system-ui,sans-serif;background:#f4f6fa;color:#1f2933;margin:0;padding:2rem 1rem}
main{max-width:34rem;margin:0 auto;background:#fff;border-radius:12px;box-shadow:0 2px 12px rgba(0,0,0,.08);padding:2rem}
h1{font-size:1.3rem;margin:0 0 1rem}
.scores{display:flex;flex-wrap:wrap;gap:.4rem;margin:1rem 0}
.scores label{flex:1 1 2.6rem;text-align:center;border:2px solid #cbd2d9;border-radius:8px;padding:.55rem .3rem;cursor:pointer;font-weight:600}
.scores input{position:absolute;opacity:0}
.scores input:checked+span{color:#fff}
.scores label:has(input:checked){background:#2563eb;border-color:#2563eb;color:#fff}
.scores small{display:block;font-weight:400;font-size:.7rem;line-height:1.2;margin-top:.2rem}
textarea{width:100%;box-sizing:border-box;min-height:6rem;border:1px solid #cbd2d9;border-radius:8px;padding:.6rem;font:inherit}
button{margin-top:1rem;background:#2563eb;color:#fff;border:0;border-radius:8px;padding:.7rem 1.6rem;font:600 1rem system-ui,sans-serif;cursor:pointer}
.error{background:#fde8e8;color:#9b1c1c;border-radius:8px;padding:.7rem 1rem}
.note{color:#52606d}
.chosen{font-size:1.6rem;color:#2563eb}
</style></head><body><main>
<h1>{{.Title}}</h1>
{{if .Error}}<p class="error" role="alert">{{.Error}}</p>{{end}}
{{if .Form}}<form method="post" action="{{.Action}}">
<p>{{.Question}}</p>
{{if .Message}}<p class="note">{{.Message}}</p>{{end}}
<div class="scores" role="radiogroup">{{range .Options}}<label><input type="radio" name="score" value="{{.Score}}"{{if .Checked}} checked{{end}}><span>{{.Title}}</span>{{if .Label}}<small>{{.Label}}</small>{{end}}</label>{{end}}</div>
<label for="comment" class="note">{{.Page.CommentLabel}}</label>
<textarea id="comment" name="comment" maxlength="4000">{{.Comment}}</textarea>
<button type="submit">{{.Page.Send}}</button>
</form>{{end}}
{{if .Done}}<p class="chosen">{{.Chosen}}</p><p>{{.Message}}</p><p class="note">{{.Page.Close}}</p>{{end}}
</main></body></html>
`))
