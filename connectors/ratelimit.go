package connectors

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/switchboardhq/switchboard/configs/cfg"
	"github.com/switchboardhq/switchboard/schema"
)

// RateLimits caps how fast one sender and one account may hand messages in, so that one
// misbehaving integration cannot starve the others. Over a limit the request is answered 429
// with Retry-After and nothing is stored.
type RateLimits struct {
	// Channels the limits apply to. A provider that does not retry a 429 (Twilio's inbound
	// webhooks) would lose the message: leave those out.
	Channels []string `yaml:"channels" default:"[api]"`
	// One sender (from address) of one account.
	PerSender Rate `yaml:"per_sender" default:"{per_second: 10, burst: 50}"`
	// All senders of one account together.
	PerAcct Rate `yaml:"per_account" default:"{per_second: 500, burst: 1000}"`
}

// Rate is a token bucket. A rate given without burst takes the default burst, or per_second
// when that is more.
type Rate struct {
	PerSecond float64 `yaml:"per_second"`
	Burst     int     `yaml:"burst"`
}

// Validate checks the limits.
func (r *RateLimits) Validate(ck *cfg.Checker) {
	for _, x := range []struct {
		field string
		r     Rate
	}{{"per_sender", r.PerSender}, {"per_account", r.PerAcct}} {
		if x.r.PerSecond < 0 || x.r.Burst < 0 {
			ck.Errorf(x.field, "must not be negative")
		}
	}
}

// or completes a rate given in part from the default: a missing burst is the default's, or
// one second's worth when that is more.
func (r Rate) or(def Rate) Rate {
	if r.PerSecond == 0 {
		r.PerSecond = def.PerSecond
	}
	if r.Burst == 0 {
		r.Burst = max(def.Burst, int(r.PerSecond))
	}
	return r
}

// maxLimited bounds the senders remembered; idle ones are forgotten first.
const maxLimited = 100_000

// limitedPublisher applies RateLimits in front of a Publisher.
type limitedPublisher struct {
	Publisher
	channels  []string
	sender    Rate
	account   Rate
	refused   *prometheus.CounterVec
	mu        sync.Mutex
	buckets   map[string]*limiterEntry
	lastSweep time.Time
}

type limiterEntry struct {
	l    *rate.Limiter
	used time.Time
}

// NewLimitedPublisher wraps p with the limits; reg registers
// switchboard_rate_limited_total{channel,scope}.
func NewLimitedPublisher(p Publisher, limits RateLimits, reg prometheus.Registerer) Publisher {
	var def RateLimits // the defaults declared on the fields
	if err := cfg.SetDefaults(&def); err != nil {
		panic(err) // a bad default tag: caught by every test that builds a gateway
	}
	channels := limits.Channels
	if channels == nil {
		channels = def.Channels
	}
	lp := &limitedPublisher{Publisher: p, channels: channels,
		sender: limits.PerSender.or(def.PerSender), account: limits.PerAcct.or(def.PerAcct),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "switchboard_rate_limited_total",
			Help: "Messages refused with 429 because a sender or an account was over its rate."}, []string{"channel", "scope"}),
		buckets: map[string]*limiterEntry{}}
	if reg != nil {
		reg.MustRegister(lp.refused)
	}
	return lp
}

// Publish refuses a message whose sender or account is over its rate.
func (lp *limitedPublisher) Publish(ctx context.Context, m *schema.Message) (Receipt, error) {
	if slices.Contains(lp.channels, string(m.Channel)) {
		now := time.Now()
		acct := string(m.Channel) + "/" + m.Account
		if wait, ok := lp.take("a:"+acct, lp.account, now); !ok {
			lp.refused.WithLabelValues(string(m.Channel), "account").Inc()
			return Receipt{}, RateLimited(wait, "account %s is sending faster than %g messages/s; retry later", acct, lp.account.PerSecond)
		}
		if wait, ok := lp.take("s:"+acct+"/"+m.From.Kind+":"+m.From.Value, lp.sender, now); !ok {
			lp.refused.WithLabelValues(string(m.Channel), "sender").Inc()
			return Receipt{}, RateLimited(wait, "sender %s is sending faster than %g messages/s; retry later", m.From.Value, lp.sender.PerSecond)
		}
	}
	return lp.Publisher.Publish(ctx, m)
}

// take spends a token of key's bucket, or says how long until one is there.
func (lp *limitedPublisher) take(key string, r Rate, now time.Time) (time.Duration, bool) {
	lp.mu.Lock()
	defer lp.mu.Unlock()
	e := lp.buckets[key]
	if e == nil {
		if len(lp.buckets) >= maxLimited || now.Sub(lp.lastSweep) > time.Minute {
			lp.sweep(now)
		}
		e = &limiterEntry{l: rate.NewLimiter(rate.Limit(r.PerSecond), r.Burst)}
		lp.buckets[key] = e
	}
	e.used = now
	res := e.l.ReserveN(now, 1)
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return d, false
	}
	return 0, true
}

// sweep forgets buckets idle long enough to be full again (they would allow a burst anyway).
func (lp *limitedPublisher) sweep(now time.Time) {
	lp.lastSweep = now
	idle := time.Minute
	for k, e := range lp.buckets {
		if now.Sub(e.used) > idle {
			delete(lp.buckets, k)
		}
	}
	for k := range lp.buckets { // still too many: drop arbitrary ones (each gets a fresh burst)
		if len(lp.buckets) < maxLimited {
			break
		}
		delete(lp.buckets, k)
	}
}

// RateLimited is a 429 whose Retry-After says when to come back.
func RateLimited(retry time.Duration, format string, args ...any) error {
	return &HTTPError{Status: 429, Code: "rate_limited", Message: fmt.Sprintf(format, args...), RetryAfter: retry}
}
