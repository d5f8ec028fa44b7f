package connectors

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestFetchMediaURL(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			w.Header().Set("Content-Type", "image/png")
			_, _ = io.WriteString(w, "png")
		case "/busy":
			w.Header().Set("Retry-After", "3")
			w.WriteHeader(429)
		case "/down":
			w.WriteHeader(502)
		default:
			w.WriteHeader(404)
		}
	}))
	defer srv.Close()
	get := func(url string) (string, string, error) {
		req, _ := http.NewRequest("GET", url, nil)
		rc, ctype, err := FetchMediaURL(srv.Client(), req)
		if err != nil {
			return "", "", err
		}
		defer rc.Close()
		b, _ := io.ReadAll(rc)
		return string(b), ctype, nil
	}
	if body, ctype, err := get(srv.URL + "/ok"); body != "png" || ctype != "image/png" || err != nil {
		t.Fatalf("ok: %q %q %v", body, ctype, err)
	}
	if _, _, err := get(srv.URL + "/busy"); !isTemp(err, 3*time.Second) {
		t.Fatalf("429: %v", err)
	}
	if _, _, err := get(srv.URL + "/down"); !isTemp(err, 0) {
		t.Fatalf("502: %v", err)
	}
	if _, _, err := get(srv.URL + "/gone"); err == nil || err.(*PermanentError).Code != "media_http_404" {
		t.Fatalf("404: %v", err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	_, _, err := get("http://" + addr + "/secret-token-in-path/x")
	if !isTemp(err, 0) || strings.Contains(err.Error(), "secret-token-in-path") {
		t.Fatalf("unreachable: %v", err)
	}
}

func isTemp(err error, after time.Duration) bool {
	d, ok := IsTemporary(err)
	return ok && d == after
}
