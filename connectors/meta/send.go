package meta

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"

	"github.com/switchboardhq/switchboard/connectors"
	"github.com/switchboardhq/switchboard/pipeline/kernel"
	"github.com/switchboardhq/switchboard/schema"
)

// sender sends replies for one account.
type sender struct {
	c    *Connector
	acct *account
}

var _ connectors.Sender = (*sender)(nil)

// maxUpload caps an attachment uploaded from the object store (Messenger's limit is 25MB).
const maxUpload = 25 << 20

// Send implements [connectors.Sender]. A reply goes out as one provider message per text
// chunk and attachment; progress is kept so a retry resends nothing already delivered.
func (s *sender) Send(ctx context.Context, m *schema.Message) (connectors.SendResult, error) {
	if s.acct.channel == schema.ChannelWhatsApp {
		return s.sendWhatsApp(ctx, m)
	}
	return s.sendMessaging(ctx, m)
}

func result(ids []string, st schema.DeliveryStatus) connectors.SendResult {
	return connectors.SendResult{ExternalID: ids[0], OtherExternalIDs: ids[1:], Status: st}
}

// recipient is the customer's id on this account, from the reply's address.
func (s *sender) recipient(m *schema.Message, kind string) (string, error) {
	if len(m.To) == 0 || m.To[0].Kind != kind {
		return "", connectors.Permanent("bad_recipient", "%s replies need a %s address", s.acct.channel, kind)
	}
	v := m.To[0].Value
	if kind == "phone" {
		return strings.TrimPrefix(v, "+"), nil
	}
	owner, id, ok := strings.Cut(v, ":")
	if !ok || owner != s.acct.id || id == "" {
		return "", connectors.Permanent("bad_recipient", "%s %q does not belong to %s %s", kind, v, s.acct.channel, s.acct.id)
	}
	return id, nil
}

// openBlob opens a stored attachment for upload.
func (s *sender) openBlob(ctx context.Context, a *schema.Attachment) (io.ReadCloser, string, error) {
	rc, ctype, err := s.c.host.Blobs.Open(ctx, a.Key)
	if errors.Is(err, kernel.ErrNotFound) {
		return nil, "", connectors.Permanent("attachment_missing", "attachment %s is not in the object store", a.Key)
	}
	if err != nil {
		return nil, "", connectors.Temporary(err, 0)
	}
	if a.ContentType != "" {
		ctype = a.ContentType
	}
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	return rc, ctype, nil
}

// mediaKind maps a content type onto the platforms' attachment kinds.
func mediaKind(ctype, other string) string {
	switch {
	case strings.HasPrefix(ctype, "image/"):
		return "image"
	case strings.HasPrefix(ctype, "video/"):
		return "video"
	case strings.HasPrefix(ctype, "audio/"):
		return "audio"
	}
	return other
}

func attachmentName(a *schema.Attachment) string {
	if a.Name != "" {
		return a.Name
	}
	return "attachment"
}

// checkAttachment refuses attachments that reference nothing.
func checkAttachment(i int, a *schema.Attachment) error {
	if a.Key == "" && !isHTTPURL(a.URL) {
		return connectors.Permanent("bad_attachment", "attachment %d needs an http(s) url or a stored key", i)
	}
	return nil
}

func cutPrefix(s, prefix string) (string, bool) { return strings.CutPrefix(s, prefix) }

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }
