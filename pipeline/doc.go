// Package pipeline is Switchboard's JetStream side: the embedded nats-server, the streams,
// buckets and object store it provisions, the durable handoff that connectors publish
// through, the ingest stages (sanitize, attachments, identify) between the inbound stream and
// the router, the outbound dispatcher that drives connectors' senders, dead letters, and the
// partitioned, ordered consumers the router reuses.
//
// It implements the [connectors.Host] services and never imports package router.
package pipeline
