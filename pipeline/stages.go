package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/microcosm-cc/bluemonday"

	"github.com/switchboardhq/switchboard/connectors"
	"github.com/switchboardhq/switchboard/pipeline/kernel"
	"github.com/switchboardhq/switchboard/schema"
)

// Sanitize makes text safe to show and store: valid UTF-8, no control characters but tab
// and newline, \n line ends; HTML cleaned of scripts and handlers (bluemonday's UGC policy);
// a text version derived from HTML when the channel gave none; attachment names safe to save
// under (SafeFileName; the name as sent is kept in original_name).
type Sanitize struct {
	policy *bluemonday.Policy
}

// NewSanitize returns the sanitize stage.
func NewSanitize() *Sanitize { return &Sanitize{policy: bluemonday.UGCPolicy()} }

// Name implements [Stage].
func (s *Sanitize) Name() string { return "sanitize" }

// Process implements [Stage].
func (s *Sanitize) Process(_ context.Context, m *schema.Message) error {
	m.Subject = strings.TrimSpace(CleanText(m.Subject))
	m.Text = CleanText(m.Text)
	m.StrippedText = CleanText(m.StrippedText)
	m.From.Name = strings.TrimSpace(CleanText(m.From.Name))
	for i := range m.Attachments {
		a := &m.Attachments[i]
		if safe := SafeFileName(a.Name); a.Name != "" && safe != a.Name {
			a.OriginalName, a.Name = strings.ToValidUTF8(a.Name, "\uFFFD"), safe
		}
	}
	if m.HTML != "" {
		m.HTML = s.policy.Sanitize(strings.ToValidUTF8(m.HTML, "\uFFFD"))
		if strings.TrimSpace(m.Text) == "" {
			m.Text = HTMLToText(m.HTML)
		}
	}
	return nil
}

// CleanText returns s as valid UTF-8 with \n line ends and without control characters other
// than tab and newline.
func CleanText(s string) string {
	if s == "" {
		return s
	}
	s = strings.ReplaceAll(s, "\r\n", "\n")
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || (unicode.IsControl(r) && r != '\n' && r != '\t') {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		switch {
		case r == '\r':
			b.WriteByte('\n')
		case unicode.IsControl(r) && r != '\n' && r != '\t':
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Media fetches attachments that providers only referenced (by URL or file id) into the object
// store, through the channel's [connectors.MediaFetcher]. A fetch that keeps failing leaves the
// reference and records the problem: the message is never held back or lost for its media.
type Media struct {
	blobs    connectors.BlobStore
	fetchers map[schema.Channel]map[string]connectors.MediaFetcher // channel → account ("*": any)
	limits   AttachmentLimits
	backoff  kernel.Backoff
}

// NewMedia returns the media stage. A fetcher serves the accounts its [connectors.MediaScope]
// names, or every account of its channels ("*") when it has none.
func NewMedia(blobs connectors.BlobStore, fetchers []connectors.MediaFetcher, l AttachmentLimits) *Media {
	m := &Media{blobs: blobs, fetchers: map[schema.Channel]map[string]connectors.MediaFetcher{}, limits: l,
		backoff: kernel.Backoff{Min: 200 * time.Millisecond, Max: 2 * time.Second}}
	for _, f := range fetchers {
		for _, ch := range f.MediaChannels() {
			if m.fetchers[ch] == nil {
				m.fetchers[ch] = map[string]connectors.MediaFetcher{}
			}
			accounts := []string{"*"}
			if sc, ok := f.(connectors.MediaScope); ok {
				accounts = sc.MediaAccounts(ch)
			}
			for _, a := range accounts {
				m.fetchers[ch][a] = f
			}
		}
	}
	return m
}

// fetcher returns the fetcher for a message's channel and account.
func (s *Media) fetcher(ch schema.Channel, account string) connectors.MediaFetcher {
	if f, ok := s.fetchers[ch][account]; ok {
		return f
	}
	return s.fetchers[ch]["*"]
}

// Name implements [Stage].
func (s *Media) Name() string { return "media" }

// Process implements [Stage].
func (s *Media) Process(ctx context.Context, m *schema.Message) error {
	f := s.fetcher(m.Channel, m.Account)
	for i := range m.Attachments {
		a := &m.Attachments[i]
		if a.Key != "" || a.URL == "" || f == nil {
			continue
		}
		if i >= s.limits.MaxPerMsg {
			a.Problem = fmt.Sprintf("not fetched: more than %d attachments", s.limits.MaxPerMsg)
			continue
		}
		if err := s.fetch(ctx, f, m, i); err != nil {
			a.Problem = err.Error()
			m.Problems = append(m.Problems, fmt.Sprintf("attachment %d: %v", i, err))
		}
	}
	return nil
}

func (s *Media) fetch(ctx context.Context, f connectors.MediaFetcher, m *schema.Message, i int) error {
	var err error
	for try := 0; try < s.limits.FetchTries; try++ {
		if try > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(s.backoff.Delay(try - 1)):
			}
		}
		err = s.fetchOnce(ctx, f, m, i)
		if err == nil || errors.Is(err, kernel.ErrTooLarge) {
			return err
		}
		if _, temp := connectors.IsTemporary(err); !temp {
			return err
		}
	}
	return err
}

func (s *Media) fetchOnce(ctx context.Context, f connectors.MediaFetcher, m *schema.Message, i int) error {
	a := &m.Attachments[i]
	fctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	body, ctype, err := f.FetchMedia(fctx, m.Account, a)
	if err != nil {
		return err
	}
	defer body.Close()
	if a.ContentType == "" {
		a.ContentType = ctype
	}
	ref, err := s.blobs.Put(fctx, fmt.Sprintf("att/%s/%d", m.ID, i), a.ContentType, body, int64(s.limits.MaxBytes))
	if err != nil {
		return err
	}
	a.Bucket, a.Key, a.Size, a.Digest = ref.Bucket, ref.Key, ref.Size, ref.Digest
	return nil
}
