package webchat

import (
	"net/url"
	"strconv"
	"time"

	"go.uber.org/zap"

	"github.com/switchboardhq/switchboard/schema"
)

// follow watches conv from seq after; the browser has seen up to seen.
func (s *conn) follow(conv string, after, seen uint64) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	old, stopOld := s.conv, s.stopWatch
	s.conv, s.convClosed, s.seen, s.stopWatch, s.recent, s.awaiting = conv, false, seen, nil, nil, time.Time{}
	s.mu.Unlock()
	if stopOld != nil {
		stopOld()
	}
	s.rt.hub.moveConv(s, old, conv)
	if s.c.host.Feed == nil {
		return
	}
	stop, err := s.c.host.Feed.Watch(conv, after, func(ev *schema.Event) { s.onEvent(conv, ev) })
	if err != nil {
		s.c.log.Warn("webchat cannot follow conversation", zap.String("conversation", conv), zap.Error(err))
		s.sendError("", "unavailable", "conversation updates are unavailable; reconnect", 1000)
		return
	}
	s.mu.Lock()
	if s.closed || s.conv != conv || s.stopWatch != nil { // closed, moved on, or a concurrent follow won
		s.mu.Unlock()
		stop()
		return
	}
	s.stopWatch = stop
	s.mu.Unlock()
}

// switchTo moves the socket to the visitor's new conversation (no-op when already there).
func (s *conn) switchTo(conv string) {
	s.mu.Lock()
	same := s.conv == conv && s.stopWatch != nil
	s.mu.Unlock()
	if same {
		return
	}
	s.enqueue(outFrame{data: encode(conversationFrame{Type: "conversation", Conversation: conv})})
	s.follow(conv, 0, 0)
}

// onEvent turns a conversation event into a frame for this visitor (feed goroutine: it only
// queues).
func (s *conn) onEvent(conv string, ev *schema.Event) {
	s.mu.Lock()
	if s.conv != conv || s.closed {
		s.mu.Unlock()
		return
	}
	recheck := ""
	switch ev.Type {
	case schema.EventResolved:
		s.convClosed, s.awaiting, recheck = true, time.Time{}, s.lastMsg
	case schema.EventReopened, schema.EventOpened:
		s.convClosed = false
	}
	fresh := ev.Seq > s.seen
	s.mu.Unlock()
	if recheck != "" {
		// A message sent just as the agent resolved may have opened a new conversation.
		s.c.awaitRouted(s.site.name, s.visitorID(), recheck)
	}
	frame, agentMsg := s.project(ev)
	if frame == nil {
		return
	}
	out := outFrame{data: encode(frame)}
	if agentMsg != "" {
		s.remember(agentMsg, ev.Seq)
		if fresh {
			out.delivered = agentMsg
		}
	}
	s.enqueue(out)
}

func (s *conn) remember(id string, seq uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.recent) == maxRecent {
		s.recent = append(s.recent[:0], s.recent[1:]...)
	}
	s.recent = append(s.recent, recentOut{id: id, seq: seq})
}

// project decides what a visitor sees of an event: its own messages and agents' replies to
// it, delivery statuses of webchat messages, and whether the conversation is open. Notes,
// routing details and messages on other channels are never shown. It returns the frame (nil:
// nothing to show) and, for an agent's reply, the message id.
func (s *conn) project(ev *schema.Event) (*eventFrame, string) {
	f := &eventFrame{Type: "event", Conversation: ev.ConversationID, Seq: ev.Seq, Event: string(ev.Type), At: ev.At}
	switch ev.Type {
	case schema.EventMessage:
		return s.projectMessage(f, ev.Message)
	case schema.EventDelivery:
		if d := ev.Delivery; d != nil && d.Channel == schema.ChannelWebchat {
			f.MessageID, f.Status = d.MessageID, string(d.Status)
			return f, ""
		}
	case schema.EventOpened, schema.EventResolved, schema.EventReopened, schema.EventAssigned:
		return f, ""
	}
	return nil, ""
}

func (s *conn) projectMessage(f *eventFrame, m *schema.Message) (*eventFrame, string) {
	if m == nil || m.Kind == schema.KindNote {
		return nil, ""
	}
	me := visitorAddress(s.site.name, s.visitorID())
	wm := &wireMessage{ID: m.ID, Direction: string(m.Direction), Text: m.Text}
	switch m.Direction {
	case schema.Inbound:
		if m.Channel != schema.ChannelWebchat || m.From.Kind != addressKind || m.From.Value != me {
			return nil, ""
		}
		wm.Author, wm.ClientID = "visitor", trimVisitor(m.ExternalID, s.visitorID())
	case schema.Outbound:
		if !addressedTo(m, me) {
			return nil, ""
		}
		wm.Author, wm.Automated = "agent", m.Automated()
		if ch := m.Choices; ch != nil && len(ch.Options) > 0 {
			wm.Choices = &wireChoices{Style: ch.Style}
			for _, o := range ch.Options {
				wm.Choices.Options = append(wm.Choices.Options, wireChoice{Payload: o.Payload, Title: o.Title, Label: o.Description})
			}
			if ch.Prompt != "" {
				wm.Text = ch.Prompt
			}
		}
	default:
		return nil, ""
	}
	wm.Attachments = s.wireAttachments(m.Attachments)
	f.Message = wm
	if wm.Author == "agent" {
		return f, m.ID
	}
	return f, ""
}

func addressedTo(m *schema.Message, me string) bool {
	if m.Channel != schema.ChannelWebchat {
		return false
	}
	for _, to := range m.To {
		if to.Kind == addressKind && to.Value == me {
			return true
		}
	}
	return false
}

// fileLinkTTL is how long a download link in an event frame works.
const fileLinkTTL = 24 * time.Hour

func (s *conn) wireAttachments(in []schema.Attachment) []wireAttachment {
	var out []wireAttachment
	for _, a := range in {
		w := wireAttachment{Name: a.Name, ContentType: a.ContentType, Size: a.Size}
		if a.Key != "" {
			exp := nowFunc().Add(fileLinkTTL).Unix()
			w.URL = "/webchat/" + s.site.name + "/files/" + escapeKey(a.Key) + "?e=" + strconv.FormatInt(exp, 10) +
				"&s=" + s.rt.signer.fileSig(s.site.name, a.Key, exp)
		} else if a.URL != "" {
			w.URL = a.URL
		}
		out = append(out, w)
	}
	return out
}

func escapeKey(key string) string { return (&url.URL{Path: key}).EscapedPath() }
