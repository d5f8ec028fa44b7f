// Package agents owns what agents are doing now: the Board (every agent's presence and load,
// kept current by a watch on sb_agents), loads changed only by compare-and-set
// (Store.Reserve and Store.Release: two routers never take an agent's last slot), presence
// and heartbeats (Store.SetPresence, the NATS listener on sb.agent.*), and the waiting line
// (Waitlist, over sb_waiting). Who the agents are (the roster) is router/rules'.
//
// It may import router/rules, pipeline/kernel, pipeline/streams and schema
// (docs/architecture.md).
package agents
