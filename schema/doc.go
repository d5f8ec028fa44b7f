// Package schema is Switchboard's wire contract: the canonical [Message] that every channel
// is normalized to, the [Event]s of the unified conversation stream, and the records the REST
// API returns ([Conversation], [Customer]). It depends on the standard library only.
//
// Every type is versioned by its Schema field ("switchboard.message.v1", ...) and described by a
// JSON Schema under jsonschema/, embedded here as [JSONSchemas]; a test keeps the two in step.
// Additive changes (new optional fields, new event types) keep the version; anything else bumps it.
package schema
