// Package planning is the staffing arithmetic of docs/planning.md: Erlang B and C (and Erlang A,
// the queue where waiting customers give up), the service level and average speed of answer a
// headcount gives, and the minimum headcount for a target under an occupancy cap, with
// concurrency and shrinkage. Pure: no JetStream, no I/O.
package planning
