package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/switchboardhq/switchboard/pipeline/streams"
)

// MaxPayload is the largest message Switchboard publishes (the nats-server default). Larger
// raw payloads go to the object store.
const MaxPayload = 1 << 20

// Streams returns the stream configurations for cfg (replicas r).
func Streams(c Config, r int) []jetstream.StreamConfig {
	c = c.WithDefaults()
	if r < 1 {
		r = 1
	}
	dup := c.DedupeWindow.D()
	mk := func(name, desc string, subjects []string, age time.Duration, dupWin time.Duration) jetstream.StreamConfig {
		return jetstream.StreamConfig{
			Name: name, Description: desc, Subjects: subjects, Storage: jetstream.FileStorage,
			Replicas: r, MaxAge: age, Duplicates: min(dupWin, age), MaxMsgSize: MaxPayload,
			Discard: jetstream.DiscardOld, AllowDirect: true,
		}
	}
	rejected := mk(streams.StreamRejected, "Refused webhook requests, redacted, for forensics.",
		[]string{streams.FilterRejected}, c.Retention.Rejected.D(), time.Minute)
	rejected.MaxMsgs, rejected.MaxBytes = 100_000, 256<<20
	conversations := mk(streams.StreamConversations, "The unified conversation stream: ordered events per conversation.",
		[]string{streams.FilterConversations, streams.FilterCustomers, streams.FilterPresence, streams.FilterSystem}, c.Retention.Conversations.D(), min(5*time.Minute, dup))
	// Every stored event is republished on core NATS for the instances' live feeds (Feed).
	conversations.RePublish = &jetstream.RePublish{Source: streams.FilterConversations, Destination: streams.LiveConvPrefix + ">"}
	// SB_ROUTE also keeps the SLA timers: message schedules the server fires onto sb.route.<p>.
	route := mk(streams.StreamRoute, "Identified messages, statuses, agent commands and SLA timers, partitioned by customer.",
		[]string{streams.FilterRoute, streams.FilterSchedule}, c.Retention.Route.D(), dup)
	route.AllowMsgSchedules = true
	return []jetstream.StreamConfig{
		mk(streams.StreamInbound, "Normalized messages and delivery statuses from every connector.",
			[]string{streams.FilterInbound, streams.FilterStatus}, c.Retention.Inbound.D(), dup),
		route,
		conversations,
		mk(streams.StreamOutbound, "Replies waiting for their channel's sender.",
			[]string{streams.FilterOutbound}, c.Retention.Outbound.D(), time.Hour),
		mk(streams.StreamDeadLetter, "Messages a stage could not process, with the reason; redrive with switchboard dlq.",
			[]string{streams.FilterDeadLetter}, c.Retention.DeadLetter.D(), time.Minute),
		rejected,
	}
}

// Buckets returns the key-value bucket configurations.
func Buckets(c Config, r int) []jetstream.KeyValueConfig {
	c = c.WithDefaults()
	if r < 1 {
		r = 1
	}
	mk := func(name, desc string, history uint8) jetstream.KeyValueConfig {
		return jetstream.KeyValueConfig{Bucket: name, Description: desc, History: history,
			Storage: jetstream.FileStorage, Replicas: r}
	}
	leases := mk(streams.BucketLeases, "Leases that keep a pull source on one instance.", 1)
	leases.TTL = c.LeaseTTL.D() // every write expires: a lease lives TTL past its last renewal
	messages := mk(streams.BucketMessages, "Message records by id.", 1)
	messages.TTL = c.Retention.Messages.D()
	outbox := mk(streams.BucketOutbox, "Outbound send records and the provider id index.", 1)
	outbox.TTL = c.Retention.Outbox.D()
	return []jetstream.KeyValueConfig{
		messages,
		mk(streams.BucketConversations, "Conversation snapshots by id.", 1),
		mk(streams.BucketCustomers, "Customers by id.", 1),
		mk(streams.BucketIdentities, "Identity key to customer id.", 1),
		outbox,
		mk(streams.BucketState, "Connector state (cursors, sessions).", 1),
		leases,
		mk(streams.BucketMeta, "Deployment facts.", 1),
	}
}

// Provision creates or updates every stream, bucket and the object store, idempotently, and
// checks that the partition count matches the one the data was written with.
func Provision(ctx context.Context, js jetstream.JetStream, c Config, replicas int) error {
	c = c.WithDefaults()
	for _, sc := range Streams(c, replicas) {
		if err := retry(ctx, func(ctx context.Context) error {
			_, err := js.CreateOrUpdateStream(ctx, sc)
			return err
		}); err != nil {
			return fmt.Errorf("provision stream %s: %w", sc.Name, err)
		}
	}
	for _, kc := range Buckets(c, replicas) {
		if err := retry(ctx, func(ctx context.Context) error {
			_, err := js.CreateOrUpdateKeyValue(ctx, kc)
			return err
		}); err != nil {
			return fmt.Errorf("provision bucket %s: %w", kc.Bucket, err)
		}
	}
	oc := jetstream.ObjectStoreConfig{Bucket: streams.ObjectAttachments, Description: "Attachment bytes.",
		Storage: jetstream.FileStorage, Replicas: max(replicas, 1), TTL: c.Retention.Attachments.D()}
	if err := retry(ctx, func(ctx context.Context) error {
		_, err := js.CreateOrUpdateObjectStore(ctx, oc)
		return err
	}); err != nil {
		return fmt.Errorf("provision object store: %w", err)
	}
	return checkPartitions(ctx, js, c.Partitions)
}

// ErrPartitionsChanged means the configured partition count differs from the data's.
var ErrPartitionsChanged = errors.New("partition count changed")

func checkPartitions(ctx context.Context, js jetstream.JetStream, n int) error {
	kv, err := js.KeyValue(ctx, streams.BucketMeta)
	if err != nil {
		return err
	}
	want := strconv.Itoa(n)
	_, err = kv.Create(ctx, "partitions", []byte(want))
	if err == nil || !errors.Is(err, jetstream.ErrKeyExists) {
		return err
	}
	e, err := kv.Get(ctx, "partitions")
	if err != nil {
		return err
	}
	if got := string(e.Value()); got != want {
		return fmt.Errorf("%w: pipeline.partitions is %s but the data was written with %s; "+
			"set it back, or drain SB_INBOUND and SB_ROUTE and delete the key partitions in bucket %s",
			ErrPartitionsChanged, want, got, streams.BucketMeta)
	}
	return nil
}

// RetryAPI retries a JetStream API call (creating a stream, bucket or consumer) while the
// cluster elects leaders, for packages that provision their own resources.
func RetryAPI(ctx context.Context, f func(context.Context) error) error { return retry(ctx, f) }

// retry retries a JetStream API call while the cluster elects leaders.
func retry(ctx context.Context, f func(context.Context) error) error {
	var err error
	for attempt := 0; attempt < 40; attempt++ {
		actx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err = f(actx)
		cancel()
		if err == nil || !retryableAPI(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(250 * time.Millisecond):
		}
	}
	return err
}

func retryableAPI(err error) bool {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		// 10008: jetstream not enabled / meta leader not ready; 10023: insufficient resources
		// and 10005: no suitable peers for placement, while peers join (or one is seen
		// offline for a moment). Anything else is a real configuration problem; too few
		// servers for the replicas keeps failing with 10005 and is reported after the retries.
		return apiErr.ErrorCode == 10008 || apiErr.ErrorCode == 10023 || apiErr.ErrorCode == 10005 || apiErr.Code == 503
	}
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, jetstream.ErrNoStreamResponse) ||
		errors.Is(err, jetstream.ErrJetStreamNotEnabled)
}
