package webchat

import (
	"context"
	"encoding/json"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/zap"

	"github.com/switchboardhq/switchboard/schema"
)

// nowFunc is the clock (tests do not replace it; it keeps the call sites short).
var nowFunc = time.Now

// hello authenticates the socket: a valid session token resumes its visitor, a valid signed
// identity makes (or keeps) the visitor verified, anything else starts a new anonymous
// visitor. The visitor's conversation comes from the server's own record, never from the
// browser, so guessing a conversation id shows nothing.
func (s *conn) hello(f *clientFrame) bool {
	if s.helloed() {
		s.sendError("", "bad_frame", "hello was already said", 0)
		return true
	}
	now := nowFunc()
	sess, ok := s.rt.signer.parseSession(f.Token, s.site.name, s.c.lim.tokenTTL, now)
	if f.Token != "" && !ok {
		s.c.metrics.refused.WithLabelValues("token").Inc()
	}
	if f.Identity != nil {
		profile, visitor, ok := s.verify(f.Identity)
		if !ok {
			s.c.metrics.refused.WithLabelValues("identity").Inc()
			s.closeWith(websocket.ClosePolicyViolation, "identity not verified")
			return false
		}
		sess, s.profile = session{Site: s.site.name, Visitor: visitor, Verified: true}, profile
	} else if !ok || sess.Verified {
		// A verified visitor's token alone is not enough: a signed-out page must not show
		// the signed-in user's conversation.
		sess = session{Site: s.site.name, Visitor: newVisitor()}
	}
	sess.Issued = now
	s.name, s.page = f.Name, f.Page
	if s.profile != nil && s.profile.Name != "" {
		s.name = s.profile.Name
	}
	st := s.c.loadVisitor(s.site.name, sess.Visitor)
	s.mu.Lock()
	s.visitor, s.verified = sess.Visitor, sess.Verified
	s.mu.Unlock()
	s.rt.hub.setVisitor(s, s.visitorKey())
	_ = s.ws.SetReadDeadline(s.deadline())
	s.rt.pinger.add(s)
	s.enqueue(outFrame{data: encode(s.welcome(sess, st.Conversation))})
	if st.Conversation != "" {
		after, seen := uint64(0), uint64(0)
		if f.Conversation == st.Conversation {
			after, seen = f.After, max(f.Seen, f.After)
		}
		s.follow(st.Conversation, after, seen)
	}
	if st.Pending != "" {
		s.c.awaitRouted(s.site.name, sess.Visitor, st.Pending)
	}
	return true
}

func (s *conn) welcome(sess session, conv string) welcomeFrame {
	up := s.site.cfg.Uploads
	w := welcomeFrame{Type: "welcome", Visitor: sess.Visitor, Token: s.rt.signer.sessionToken(sess),
		Conversation: conv, Verified: sess.Verified, Title: s.site.cfg.Title, Greeting: s.site.cfg.Greeting,
		Limits: wireLimits{MaxText: s.c.lim.maxText, MaxFrame: s.c.lim.maxFrame}}
	if !up.Disabled {
		w.Limits.UploadBytes = int64(up.MaxBytes)
		for t := range s.site.types {
			w.Limits.UploadTypes = append(w.Limits.UploadTypes, t)
		}
	}
	return w
}

// verify checks a signed identity against the site's identity secret.
func (s *conn) verify(id *identity) (*schema.Profile, string, bool) {
	secret := s.site.cfg.IdentitySecret.Value()
	if !identityOK(secret, id.UserID, id.UserHash) {
		return nil, "", false
	}
	p := &schema.Profile{ExternalID: id.UserID, Name: id.Name, Verified: true}
	if id.Email != "" && identityOK(secret, id.Email, id.EmailHash) {
		p.Email = id.Email
	}
	return p, s.rt.signer.verifiedVisitor(s.site.name, id.UserID), true
}

// visitorState is what the connector keeps per visitor (in its state store): the current
// conversation, and a stored message whose conversation is not known yet.
type visitorState struct {
	Conversation string `json:"conversation_id,omitempty"`
	Pending      string `json:"pending_message_id,omitempty"`
}

func stateKey(site, visitor string) string { return "visitor/" + site + "/" + visitor }

func (c *Connector) loadVisitor(site, visitor string) visitorState {
	var st visitorState
	if c.host.State == nil {
		return st
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	data, _, err := c.host.State.Get(ctx, stateKey(site, visitor))
	if err == nil {
		_ = json.Unmarshal(data, &st)
	}
	return st
}

func (c *Connector) saveVisitor(site, visitor string, st visitorState) {
	if c.host.State == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	data, _ := json.Marshal(st)
	if _, err := c.host.State.Put(ctx, stateKey(site, visitor), data); err != nil {
		c.log.Warn("saving webchat visitor state failed", zap.String("site", site), zap.Error(err))
	}
}

// frameID digs the client id out of a frame that was refused, so the browser can match the
// error to its message.
func frameID(data []byte) string {
	var v struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(data, &v) != nil || !validClientID(v.ID) {
		return ""
	}
	return v.ID
}
