package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchboardhq/switchboard/connectors"
	"github.com/switchboardhq/switchboard/pipeline/kernel"
	"github.com/switchboardhq/switchboard/pipeline/streams"
	"github.com/switchboardhq/switchboard/schema"
)

// Blobs is the attachment store over the JetStream object store.
type Blobs struct {
	obs jetstream.ObjectStore
}

var _ connectors.BlobStore = (*Blobs)(nil)

// NewBlobs opens the attachments object store.
func NewBlobs(ctx context.Context, js jetstream.JetStream) (*Blobs, error) {
	obs, err := js.ObjectStore(ctx, streams.ObjectAttachments)
	if err != nil {
		return nil, fmt.Errorf("open object store %s: %w", streams.ObjectAttachments, err)
	}
	return &Blobs{obs: obs}, nil
}

// Put stores at most max bytes of r under key.
func (b *Blobs) Put(ctx context.Context, key, contentType string, r io.Reader, limit int64) (schema.BlobRef, error) {
	cr := &capReader{r: r, left: limit}
	meta := jetstream.ObjectMeta{Name: key, Headers: nats.Header{"Content-Type": {contentType}}}
	info, err := b.obs.Put(ctx, meta, cr)
	if cr.over {
		_ = b.obs.Delete(context.WithoutCancel(ctx), key)
		return schema.BlobRef{}, fmt.Errorf("%w: more than %d bytes", kernel.ErrTooLarge, limit)
	}
	if err != nil {
		return schema.BlobRef{}, kernel.Unavailable(err)
	}
	return schema.BlobRef{Bucket: streams.ObjectAttachments, Key: key, Size: int64(info.Size), Digest: info.Digest}, nil
}

// Open returns the object's bytes and content type.
func (b *Blobs) Open(ctx context.Context, key string) (io.ReadCloser, string, error) {
	res, err := b.obs.Get(ctx, key)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return nil, "", kernel.ErrNotFound
	}
	if err != nil {
		return nil, "", kernel.Unavailable(err)
	}
	info, err := res.Info()
	if err != nil {
		res.Close()
		return nil, "", err
	}
	return res, info.Headers.Get("Content-Type"), nil
}

// capReader fails once more than left bytes are read.
type capReader struct {
	r    io.Reader
	left int64
	over bool
}

var errOverCap = errors.New("over the size cap")

func (c *capReader) Read(p []byte) (int, error) {
	if c.left < 0 {
		c.over = true
		return 0, errOverCap
	}
	if int64(len(p)) > c.left+1 {
		p = p[:c.left+1]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	if c.left < 0 {
		c.over = true
		return 0, errOverCap
	}
	return n, err
}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }
