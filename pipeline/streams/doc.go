// Package streams is the stream contract's one owner: the name of every stream, bucket and
// object store, every subject and filter (with builders: EventSubject, ConversationFilter,
// InboundSubject, ...), the headers, and the one reader of conversation events (Reader:
// catch-up from a sequence or a time, the last event, one event, follow) with one policy
// for an event that does not decode: it is counted and handed to the caller with its stream
// sequence, never dropped in silence. These names are the external contract of
// docs/streams.md.
//
// It may import schema and pipeline/kernel (docs/architecture.md).
package streams
