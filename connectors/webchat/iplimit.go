package webchat

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// ipLimits caps what one client address may hold and open: sockets at once, and handshakes
// by a token bucket. Behind a trusted proxy the address is the forwarded one.
type ipLimits struct {
	maxSockets int
	rate       float64
	burst      int
	trusted    []netip.Prefix

	mu    sync.Mutex
	addrs map[netip.Addr]*ipState
	swept time.Time
}

type ipState struct {
	sockets int
	bucket  bucket
	seen    time.Time
}

// Refusals of admit.
const (
	ipOK = iota
	ipTooManySockets
	ipTooFast
)

func newIPLimits(lim limits, trusted []netip.Prefix) *ipLimits {
	return &ipLimits{maxSockets: lim.ipSockets, rate: lim.ipRate, burst: lim.ipBurst, trusted: trusted,
		addrs: map[netip.Addr]*ipState{}}
}

// admit takes a handshake token and a socket slot for addr; release gives the slot back.
// retry is how long a refused client should wait.
func (l *ipLimits) admit(addr netip.Addr, now time.Time) (refusal int, retry time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	st := l.addrs[addr]
	if st == nil {
		st = &ipState{bucket: newBucket(l.rate, l.burst, now)}
		l.addrs[addr] = st
	}
	st.seen = now
	if l.maxSockets > 0 && st.sockets >= l.maxSockets {
		return ipTooManySockets, 5 * time.Second
	}
	if !st.bucket.take(now) {
		return ipTooFast, max(time.Second, st.bucket.wait(now))
	}
	st.sockets++
	return ipOK, 0
}

func (l *ipLimits) release(addr netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if st := l.addrs[addr]; st != nil && st.sockets > 0 {
		st.sockets--
		st.seen = time.Now()
	}
}

// sweep forgets, once a minute, addresses without sockets that have been quiet long enough
// for their bucket to be full again.
func (l *ipLimits) sweep(now time.Time) {
	if now.Sub(l.swept) < time.Minute {
		return
	}
	l.swept = now
	idle := time.Minute + time.Duration(float64(l.burst)/l.rate*float64(time.Second))
	for a, st := range l.addrs {
		if st.sockets == 0 && now.Sub(st.seen) > idle {
			delete(l.addrs, a)
		}
	}
}

// clientAddr is the address a request comes from: the peer, or, when the peer is a trusted
// proxy, the last address in X-Forwarded-For that is not itself a trusted proxy.
func (l *ipLimits) clientAddr(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	peer = peer.Unmap()
	if !l.isTrusted(peer) {
		return peer
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return peer // a malformed hop: trust nothing before it
		}
		if a = a.Unmap(); !l.isTrusted(a) {
			return a
		}
	}
	return peer
}

func (l *ipLimits) isTrusted(a netip.Addr) bool {
	for _, p := range l.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
