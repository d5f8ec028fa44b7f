// Package insight is the service-insight projection (docs/insight.md): one consumer over
// SB_CONVERSATIONS, held by one instance at a time through a lease, folds every conversation's
// events through package kpi and adds the result up in report cells in the sb_insight bucket
// (15-minute cells and days in the configured zone). Reports read the cells.
//
// The projection is idempotent: a cell records the last stream sequence it holds, and an
// event's ops reach a cell only when the event is newer. Its position is stored after the
// cells, so a crash replays events the cells already hold, which then change nothing. Cells
// live under a generation: `switchboard insight rebuild` recomputes them from the stream into
// the next generation while the gateway runs, and switches to it at the end.
package insight
