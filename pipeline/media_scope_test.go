package pipeline

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/switchboardhq/switchboard/connectors"
	"github.com/switchboardhq/switchboard/schema"
)

// labelFetcher returns its own label as the media bytes, so the test sees which one ran.
type labelFetcher struct {
	label    string
	accounts []string // nil: no MediaScope
}

func (f *labelFetcher) MediaChannels() []schema.Channel {
	return []schema.Channel{schema.ChannelWhatsApp}
}
func (f *labelFetcher) FetchMedia(_ context.Context, _ string, _ *schema.Attachment) (io.ReadCloser, string, error) {
	return io.NopCloser(strings.NewReader(f.label)), "text/plain", nil
}

type scopedFetcher struct{ labelFetcher }

func (f *scopedFetcher) MediaAccounts(schema.Channel) []string { return f.accounts }

func testBlobs(t *testing.T) *Blobs {
	t.Helper()
	b, err := NewBlobs(context.Background(), startJS(t, Config{Partitions: 1}))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Two connectors serve WhatsApp (Twilio for every account, Meta for its own): each message's
// media must be fetched by the fetcher of its account, never the other's.
func TestMediaFetcherIsChosenByAccount(t *testing.T) {
	blobs := testBlobs(t)
	anyAccount := &labelFetcher{label: "twilio"}
	meta := &scopedFetcher{labelFetcher{label: "meta", accounts: []string{"acme-wa"}}}
	stage := NewMedia(blobs, []connectors.MediaFetcher{anyAccount, meta}, Config{}.WithDefaults().Attachments)
	for account, want := range map[string]string{"acme-wa": "meta", "twilio-main": "twilio"} {
		m := &schema.Message{ID: "msg_" + strings.ReplaceAll(account, "-", ""), Channel: schema.ChannelWhatsApp, Account: account,
			Attachments: []schema.Attachment{{URL: "ref:1"}}}
		if err := stage.Process(context.Background(), m); err != nil {
			t.Fatal(err)
		}
		rc, _, err := blobs.Open(context.Background(), m.Attachments[0].Key)
		if err != nil {
			t.Fatalf("%s: attachment not stored: %v (%+v)", account, err, m.Attachments[0])
		}
		got, _ := io.ReadAll(rc)
		rc.Close()
		if string(got) != want {
			t.Fatalf("account %s fetched by %q, want %q", account, got, want)
		}
	}
}

func TestMediaWithoutFetcherForAccountKeepsReference(t *testing.T) {
	blobs := testBlobs(t)
	meta := &scopedFetcher{labelFetcher{label: "meta", accounts: []string{"acme-wa"}}}
	stage := NewMedia(blobs, []connectors.MediaFetcher{meta}, Config{}.WithDefaults().Attachments)
	m := &schema.Message{ID: "msg_other", Channel: schema.ChannelWhatsApp, Account: "other",
		Attachments: []schema.Attachment{{URL: "ref:1"}}}
	if err := stage.Process(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if m.Attachments[0].Key != "" || m.Attachments[0].URL != "ref:1" {
		t.Fatalf("another account's fetcher ran: %+v", m.Attachments[0])
	}
}

func TestIndexSendersRefusesDuplicateAccounts(t *testing.T) {
	specs := []connectors.SenderSpec{
		{Channel: schema.ChannelWhatsApp, Account: "*"},
		{Channel: schema.ChannelWhatsApp, Account: "acme-wa"},
		{Channel: schema.ChannelMessenger, Account: "acme-wa"}, // another channel: fine
	}
	idx, err := IndexSenders(specs)
	if err != nil || len(idx[schema.ChannelWhatsApp]) != 2 || len(idx[schema.ChannelMessenger]) != 1 {
		t.Fatalf("distinct pairs: %v %v", idx, err)
	}
	_, err = IndexSenders(append(specs, connectors.SenderSpec{Channel: schema.ChannelWhatsApp, Account: "acme-wa"}))
	if !errors.Is(err, ErrDuplicateSender) || !strings.Contains(err.Error(), `account "acme-wa"`) {
		t.Fatalf("duplicate pair: %v", err)
	}
}
