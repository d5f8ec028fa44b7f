package webchat

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/connectors"
	"github.com/switchboardhq/switchboard/pipeline/kernel"
)

// uploadAnswer is the body of a successful upload.
type uploadAnswer struct {
	Attachment  string `json:"attachment"` // token to put in a message frame's attachments
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
}

// serveUpload stores one file: POST /webchat/{site}/uploads?name=<file name>, body = the file,
// Content-Type = its type, Authorization: Bearer <session token>. The answer's attachment
// token is valid only for that visitor.
func (c *Connector) serveUpload(w http.ResponseWriter, r *http.Request) {
	st := c.sites[r.PathValue("site")]
	if st == nil || !c.cors(w, r, st) {
		connectors.WriteError(w, connectors.NotFound("no webchat site here"))
		return
	}
	rt, err := c.runtime(r.Context())
	if err != nil {
		connectors.WriteError(w, &connectors.HTTPError{Status: 503, Code: "unavailable", Message: "chat is unavailable, retry"})
		return
	}
	sess, ok := rt.signer.parseSession(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "), st.name, c.lim.tokenTTL, nowFunc())
	if !ok {
		c.metrics.refused.WithLabelValues("token").Inc()
		connectors.WriteError(w, connectors.Unauthorized("missing or invalid session token"))
		return
	}
	a, err := c.store(r, st, sess)
	if err != nil {
		connectors.WriteError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(uploadAnswer{Attachment: rt.signer.attachmentToken(a), Name: a.Name, ContentType: a.ContentType, Size: a.Size})
}

func (c *Connector) store(r *http.Request, st *site, sess session) (attachment, error) {
	up := st.cfg.Uploads
	limit := int64(up.MaxBytes)
	if up.Disabled {
		return attachment{}, &connectors.HTTPError{Status: http.StatusForbidden, Code: "uploads_disabled", Message: "this site takes no attachments"}
	}
	ctype, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || !st.types[ctype] {
		return attachment{}, &connectors.HTTPError{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type",
			Message: fmt.Sprintf("%q is not accepted here", r.Header.Get("Content-Type"))}
	}
	if r.ContentLength > limit {
		return attachment{}, tooLarge(limit)
	}
	name := cleanName(r.URL.Query().Get("name"))
	head := make([]byte, 512)
	n, err := io.ReadFull(r.Body, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return attachment{}, connectors.BadRequest("truncated_body", "could not read the file")
	}
	head = head[:n]
	if n == 0 || !sniffOK(ctype, head) {
		return attachment{}, &connectors.HTTPError{Status: http.StatusUnsupportedMediaType, Code: "content_mismatch",
			Message: "the file's content does not match its type " + ctype}
	}
	key := "webchat/" + st.name + "/" + sess.Visitor + "/" + newVisitor()[1:]
	ref, err := c.host.Blobs.Put(r.Context(), key, ctype, io.MultiReader(bytes.NewReader(head), r.Body), limit)
	switch {
	case errors.Is(err, kernel.ErrTooLarge):
		return attachment{}, tooLarge(limit)
	case err != nil:
		return attachment{}, &connectors.HTTPError{Status: 503, Code: "unavailable", Message: "could not store the file, retry", Err: err}
	}
	return attachment{Site: st.name, Visitor: sess.Visitor, Bucket: ref.Bucket, Key: ref.Key, Name: name, ContentType: ctype,
		Size: ref.Size, Digest: ref.Digest}, nil
}

func tooLarge(limit int64) error {
	return &connectors.HTTPError{Status: http.StatusRequestEntityTooLarge, Code: "too_large",
		Message: "files may have at most " + strconv.FormatInt(limit, 10) + " bytes"}
}

// sniffOK refuses a file whose bytes say it is something else (HTML posing as an image).
func sniffOK(declared string, head []byte) bool {
	got, _, _ := mime.ParseMediaType(http.DetectContentType(head))
	switch {
	case strings.HasPrefix(declared, "image/"), declared == "application/pdf":
		return got == declared
	case strings.HasPrefix(declared, "text/"):
		return strings.HasPrefix(got, "text/plain")
	}
	return got != "text/html" && got != "text/xml"
}

func cleanName(n string) string {
	n = strings.Map(func(r rune) rune {
		if r < 0x20 || r == '/' || r == '\\' || r == 0x7f {
			return -1
		}
		return r
	}, n)
	if len(n) > 200 {
		n = n[:200]
	}
	return strings.TrimSpace(n)
}

// servePreflight answers the browser's CORS preflight for uploads.
func (c *Connector) servePreflight(w http.ResponseWriter, r *http.Request) {
	st := c.sites[r.PathValue("site")]
	if st == nil || !c.cors(w, r, st) {
		w.WriteHeader(http.StatusForbidden)
		return
	}
	w.Header().Set("Access-Control-Allow-Methods", "POST")
	w.Header().Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
	w.Header().Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
}

// cors allows the site's origins (and same-origin requests); false refuses the request.
func (c *Connector) cors(w http.ResponseWriter, r *http.Request, st *site) bool {
	if r.Header.Get("Origin") == "" {
		return true // not a browser's cross-origin request; the token still decides
	}
	if !st.allowsOrigin(r) {
		c.metrics.refused.WithLabelValues("origin").Inc()
		return false
	}
	w.Header().Set("Access-Control-Allow-Origin", r.Header.Get("Origin"))
	w.Header().Add("Vary", "Origin")
	return true
}

// serveFile answers a signed download link from an event frame.
func (c *Connector) serveFile(w http.ResponseWriter, r *http.Request) {
	st := c.sites[r.PathValue("site")]
	rt, err := c.runtime(r.Context())
	if st == nil || err != nil {
		connectors.WriteError(w, connectors.NotFound("no such file"))
		return
	}
	key := r.PathValue("key")
	exp, _ := strconv.ParseInt(r.URL.Query().Get("e"), 10, 64)
	want := rt.signer.fileSig(st.name, key, exp)
	if subtle.ConstantTimeCompare([]byte(r.URL.Query().Get("s")), []byte(want)) != 1 || time.Unix(exp, 0).Before(nowFunc()) {
		c.metrics.refused.WithLabelValues("file_link").Inc()
		connectors.WriteError(w, &connectors.HTTPError{Status: http.StatusForbidden, Code: "bad_link", Message: "the link is invalid or expired"})
		return
	}
	rc, ctype, err := c.host.Blobs.Open(r.Context(), key)
	if err != nil {
		connectors.WriteError(w, connectors.NotFound("no such file"))
		return
	}
	defer rc.Close()
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Security-Policy", "sandbox; default-src 'none'")
	w.Header().Set("Cache-Control", "private, max-age=3600")
	if !st.types[ctype] || !strings.HasPrefix(ctype, "image/") {
		w.Header().Set("Content-Disposition", "attachment")
	}
	_, _ = io.Copy(w, rc)
}
