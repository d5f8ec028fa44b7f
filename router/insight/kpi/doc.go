// Package kpi defines the service figures Switchboard measures (docs/insight.md) as a pure
// fold over a conversation's events: a [Tracker] turns each event into [Op]s (a counter or a
// duration sample, added or taken back, at a time and under a set of [Dims]), a [Cell] adds
// up the ops of one interval, and [Summarize] turns cells into report rows.
//
// It is pure: no JetStream, no clock. The projection (package insight) feeds it from
// SB_CONVERSATIONS; its tests compare it with a brute-force computation over random
// histories.
package kpi
