// Package rest is the helpdesk-facing REST API (docs/rest-api.md): conversations and their
// events, replies and notes, resolve and reopen, assign and transfer, agents and presence,
// customers and their identities, the rules in force. It holds no store of its own and
// talks to the gateway through three narrow interfaces (Reads, Router, Identities) plus the
// stream reader, so the router's internals stay the router's.
//
// It may import router, router/rules, router/agents, router/identity, connectors (the HTTP
// plumbing), pipeline/kernel, pipeline/streams, schema and configs/cfg
// (docs/architecture.md).
package rest
