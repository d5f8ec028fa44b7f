package webchat

import (
	"encoding/json"
	"strings"
	"time"
)

// Signal topics (core NATS subjects sb.signal.<topic>, see docs/channels/webchat.md):
//
//	conv.<conversation>.typing              {conversation_id, actor, channel, state, at}
//	webchat.<site>.<visitor>.conversation   the visitor's tabs move to another conversation
//	webchat.<site>.<visitor>.read           a tab read up to a message
const (
	signalConvPrefix    = "conv."
	signalVisitorPrefix = "webchat."
)

func convTopic(conv, kind string) string { return signalConvPrefix + conv + "." + kind }

func visitorTopic(site, visitor, kind string) string {
	return signalVisitorPrefix + site + "." + visitor + "." + kind
}

// typingSignal is a typing indicator, from the visitor (actor "customer") or an agent
// ("agent:<id>").
type typingSignal struct {
	ConversationID string    `json:"conversation_id"`
	Actor          string    `json:"actor"`
	Channel        string    `json:"channel,omitempty"`
	State          string    `json:"state"` // start | stop
	At             time.Time `json:"at"`
}

// onConvSignal forwards agents' typing indicators to the conversation's sockets.
func (c *Connector) onConvSignal(rt *runtime, topic string, data []byte) {
	parts := strings.Split(topic, ".")
	if len(parts) != 3 || parts[2] != "typing" {
		return
	}
	var t typingSignal
	if json.Unmarshal(data, &t) != nil || !strings.HasPrefix(t.Actor, "agent") || (t.State != "start" && t.State != "stop") {
		return
	}
	frame := encode(typingFrame{Type: "typing", Actor: "agent", State: t.State})
	for _, s := range rt.hub.convConns(parts[1]) {
		s.enqueue(outFrame{data: frame})
	}
}

// onVisitorSignal keeps a visitor's tabs in step.
func (c *Connector) onVisitorSignal(rt *runtime, topic string, data []byte) {
	parts := strings.Split(topic, ".")
	if len(parts) != 4 {
		return
	}
	conns := rt.hub.visitorConns(visitorAddress(parts[1], parts[2]))
	switch parts[3] {
	case "conversation":
		var f conversationFrame
		if json.Unmarshal(data, &f) != nil || f.Conversation == "" {
			return
		}
		for _, s := range conns {
			s.switchTo(f.Conversation)
		}
	case "read":
		var f readFrame
		if json.Unmarshal(data, &f) != nil {
			return
		}
		frame := encode(readFrame{Type: "read", MessageID: f.MessageID})
		for _, s := range conns {
			s.enqueue(outFrame{data: frame})
		}
	}
}
