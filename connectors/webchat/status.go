package webchat

import (
	"context"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/switchboardhq/switchboard/connectors"
	"github.com/switchboardhq/switchboard/schema"
)

// statusQueue publishes delivered and read statuses off the writers' and readers' paths. It
// is bounded: when the store is slow, statuses are dropped (counted), never messages.
type statusQueue struct {
	pub     connectors.Publisher
	log     *zap.Logger
	metrics *metrics
	ch      chan *schema.StatusUpdate
	wg      sync.WaitGroup
	once    sync.Once
}

const statusWorkers = 2

func newStatusQueue(pub connectors.Publisher, log *zap.Logger, m *metrics) *statusQueue {
	q := &statusQueue{pub: pub, log: log, metrics: m, ch: make(chan *schema.StatusUpdate, 4096)}
	for i := 0; i < statusWorkers; i++ {
		q.wg.Add(1)
		go q.run()
	}
	return q
}

func (q *statusQueue) push(st *schema.StatusUpdate) {
	defer func() { _ = recover() }() // pushed after stop: dropped
	select {
	case q.ch <- st:
	default:
		q.metrics.statuses.WithLabelValues(string(st.Status), "dropped").Inc()
	}
}

func (q *statusQueue) run() {
	defer q.wg.Done()
	for st := range q.ch {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := q.pub.PublishStatus(ctx, st)
		cancel()
		outcome := "published"
		if err != nil {
			outcome = "failed"
			q.log.Debug("webchat status not published", zap.String("message", st.MessageID), zap.Error(err))
		}
		q.metrics.statuses.WithLabelValues(string(st.Status), outcome).Inc()
	}
}

// stop publishes what is queued (for at most grace) and ends the workers.
func (q *statusQueue) stop(grace time.Duration) {
	q.once.Do(func() { close(q.ch) })
	done := make(chan struct{})
	go func() { q.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(grace):
		q.log.Warn("webchat statuses still publishing at shutdown")
	}
}
