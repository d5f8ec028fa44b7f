package router

import (
	"context"
	"fmt"

	"github.com/switchboardhq/switchboard/router/agents"
	"github.com/switchboardhq/switchboard/router/rules"
)

// SetPresence records an agent's presence (status "" is a heartbeat).
func (r *Router) SetPresence(ctx context.Context, agent string, status rules.Presence, reason string) (rules.PresenceRecord, error) {
	if status != "" && !status.Valid() {
		return rules.PresenceRecord{}, fmt.Errorf("presence must be available, away or offline, not %q", status)
	}
	return r.agents.SetPresence(ctx, agent, status, reason)
}

// listenPresence subscribes to presence and heartbeat messages; the returned func stops it.
func (r *Router) listenPresence() (func(), error) {
	return agents.Listen(r.js.Conn(), r.SetPresence, r.log)
}
