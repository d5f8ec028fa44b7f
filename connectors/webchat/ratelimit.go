package webchat

import "time"

// bucket is a token bucket in 24 bytes (one per socket: it must stay small).
type bucket struct {
	tokens float32
	rate   float32 // tokens per second
	burst  float32
	last   int32 // seconds*64 since start
	start  int64 // unix nanoseconds
}

func newBucket(rate float64, burst int, now time.Time) bucket {
	return bucket{tokens: float32(burst), rate: float32(rate), burst: float32(burst), start: now.UnixNano()}
}

func (b *bucket) refill(now time.Time) {
	t := int32((now.UnixNano() - b.start) / int64(time.Second/64))
	if d := t - b.last; d > 0 {
		b.tokens = min(b.burst, b.tokens+b.rate*float32(d)/64)
		b.last = t
	}
}

// take spends a token; false when the socket is over its rate.
func (b *bucket) take(now time.Time) bool {
	b.refill(now)
	if b.tokens >= 1 {
		b.tokens--
		return true
	}
	return false
}

// wait is how long until a token is available.
func (b *bucket) wait(now time.Time) time.Duration {
	b.refill(now)
	if b.tokens >= 1 {
		return 0
	}
	return time.Duration(float64((1-b.tokens)/b.rate) * float64(time.Second))
}
