// Package identity owns who a customer is: address normalization (e-mail, E.164 phones),
// the identity graph in sb_identities (one owner per identity, compare-and-set), resolution
// of an inbound message to a customer (the identify stage), link, unlink, merge and split,
// and the customer record in sb_customers with its event outbox (identity events on
// SB_CONVERSATIONS under sb.customer.<id>.*).
//
// It may import pipeline (for the Stage interface), pipeline/kernel, pipeline/streams,
// schema and configs/cfg (docs/architecture.md).
package identity
