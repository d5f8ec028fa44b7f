package agents

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/switchboardhq/switchboard/pipeline/streams"
	"github.com/switchboardhq/switchboard/router/rules"
	"go.uber.org/zap"
)

// Presence over NATS: a helpdesk publishes (or requests) on
//
//	sb.agent.<agent>.presence   {"status": "available|away|offline", "reason": "..."}
//	sb.agent.<agent>.heartbeat  (any body; refreshes the agent's last_seen)
//
// Every instance listens in one queue group, so each update is applied once. A request gets
// the stored presence record back, or {"error": "..."}.
const (
	presenceQueue = "sb-presence"
)

// PresenceUpdate is the body of a presence message.
type PresenceUpdate struct {
	Status rules.Presence `json:"status"`
	Reason string         `json:"reason,omitempty"`
}

// Listen subscribes to presence and heartbeat messages and applies each with set (status ""
// is a heartbeat); the returned func stops it.
func Listen(nc *nats.Conn, set func(ctx context.Context, agent string, status rules.Presence, reason string) (rules.PresenceRecord, error), log *zap.Logger) (func(), error) {
	var subs []*nats.Subscription
	stop := func() {
		for _, s := range subs {
			_ = s.Unsubscribe()
		}
	}
	on := func(msg *nats.Msg) { onPresence(msg, set, log) }
	for _, subj := range []string{streams.PresenceSubject, streams.HeartbeatSubject} {
		s, err := nc.QueueSubscribe(subj, presenceQueue, on)
		if err != nil {
			stop()
			return nil, fmt.Errorf("subscribe %s: %w", subj, err)
		}
		subs = append(subs, s)
	}
	return stop, nil
}

func onPresence(msg *nats.Msg, set func(ctx context.Context, agent string, status rules.Presence, reason string) (rules.PresenceRecord, error), log *zap.Logger) {
	agent := streams.AgentOfPresence(msg.Subject)
	var u PresenceUpdate
	if strings.HasSuffix(msg.Subject, ".presence") {
		if err := json.Unmarshal(msg.Data, &u); err != nil || u.Status == "" {
			answer(msg, nil, errors.New(`body must be {"status": "available|away|offline"}`))
			return
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rec, err := set(ctx, agent, u.Status, u.Reason)
	if err != nil {
		log.Warn("presence update refused", zap.String("agent", agent), zap.Error(err))
	}
	answer(msg, &rec, err)
}

func answer(msg *nats.Msg, rec *rules.PresenceRecord, err error) {
	if msg.Reply == "" {
		return
	}
	var body []byte
	if err != nil {
		body, _ = json.Marshal(map[string]string{"error": err.Error()})
	} else {
		body, _ = json.Marshal(rec)
	}
	_ = msg.Respond(body)
}
