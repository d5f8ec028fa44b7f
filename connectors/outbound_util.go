package connectors

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/textproto"
	"strings"
	"unicode/utf8"

	"github.com/switchboardhq/switchboard/pipeline/kernel"
)

// SplitText cuts text into pieces of at most max characters for providers that cap a
// message's length, preferring to cut at a blank line, then a line end, then a space.
func SplitText(text string, max int) []string {
	text = strings.TrimSpace(text)
	if text == "" {
		return nil
	}
	var out []string
	for utf8.RuneCountInString(text) > max {
		cut := byteOffset(text, max)
		at := -1
		for _, sep := range []string{"\n\n", "\n", " "} {
			if i := strings.LastIndex(text[:cut], sep); i > cut/2 {
				at = i
				break
			}
		}
		if at < 0 {
			at = cut
		}
		out = append(out, strings.TrimSpace(text[:at]))
		text = strings.TrimSpace(text[at:])
	}
	return append(out, text)
}

// byteOffset is the byte index of the n-th character of s.
func byteOffset(s string, n int) int {
	i := 0
	for range n {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return i
}

// FilePart is the file of a multipart upload.
type FilePart struct {
	Field, Name, ContentType string
	Body                     io.Reader
	Max                      int64 // larger files are refused with kernel.ErrTooLarge
}

// Multipart builds a multipart/form-data body from fields and one file (provider upload
// APIs: Messenger attachments, WhatsApp media, Telegram documents). It returns the body and
// its Content-Type.
func Multipart(fields [][2]string, f FilePart) ([]byte, string, error) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for _, kv := range fields {
		if err := w.WriteField(kv[0], kv[1]); err != nil {
			return nil, "", err
		}
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q; filename=%q`, f.Field, f.Name))
	h.Set("Content-Type", f.ContentType)
	part, err := w.CreatePart(h)
	if err != nil {
		return nil, "", err
	}
	n, err := io.Copy(part, io.LimitReader(f.Body, f.Max+1))
	switch {
	case err != nil:
		return nil, "", err
	case n > f.Max:
		return nil, "", fmt.Errorf("%w: the file is larger than %d bytes", kernel.ErrTooLarge, f.Max)
	}
	if err := w.Close(); err != nil {
		return nil, "", errors.Join(errors.New("multipart"), err)
	}
	return buf.Bytes(), w.FormDataContentType(), nil
}
