// Package kernel is what every layer of Switchboard shares and nothing else: the error
// catalog (matched with errors.Is across connectors, pipeline, router and REST), the one
// mapping of JetStream errors onto it, the retry [Backoff], and leases: the [Leaser]
// contract and [RunLeased], the one "hold a lease, stop when it is lost" loop.
//
// It may import the standard library and nats.go's jetstream package only, so that every
// other package can import it.
package kernel
