// Package router threads identified messages into conversations and publishes the unified
// conversation stream.
//
// It consumes SB_ROUTE in customer partitions (one active processor per partition across
// instances, through pinned consumers), so everything that happens to one customer (their
// messages, agents' replies and commands, delivery statuses) is decided in order, and
// customers proceed in parallel. Every decision is an event on SB_CONVERSATIONS, published
// before the snapshot in KV is updated; event and conversation ids are derived from their
// cause, so a redelivered message republishes the same events (deduplicated by JetStream)
// instead of new ones.
//
// Threading, conversation changes, commands and the dispatcher live here; the rules engine is
// router/rules, the identity graph router/identity, agents' live state router/agents, and
// the REST API router/rest. It may import those three (not rest), pipeline, pipeline/kernel,
// pipeline/streams, schema and configs/cfg (docs/architecture.md).
package router
