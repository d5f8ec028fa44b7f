package connectors

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// HTTPError is an error with the HTTP answer it deserves. Handlers return these (usually via
// the helpers below) and the [Intake] writes them as
// {"error": {"code": ..., "message": ..., "field": ...}}.
type HTTPError struct {
	Status  int
	Code    string // machine-readable: invalid_field, unauthorized, bad_signature, ...
	Field   string // the offending field, for 400s
	Message string
	// Reject marks a refused request worth a forensic record (bad signature, bad token).
	Reject bool
	Err    error
	// RetryAfter, when set, is sent as the Retry-After header (whole seconds, at least 1).
	RetryAfter time.Duration
}

func (e *HTTPError) Error() string {
	msg := fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message)
	if e.Field != "" {
		msg = fmt.Sprintf("%d %s: %s: %s", e.Status, e.Code, e.Field, e.Message)
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *HTTPError) Unwrap() error { return e.Err }

// BadField is a 400 naming the field that is wrong.
func BadField(field, format string, args ...any) error {
	return &HTTPError{Status: http.StatusBadRequest, Code: "invalid_field", Field: field, Message: fmt.Sprintf(format, args...)}
}

// BadRequest is a 400 about the request as a whole (malformed JSON, bad form encoding).
func BadRequest(code, format string, args ...any) error {
	return &HTTPError{Status: http.StatusBadRequest, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Unauthorized is a 401 (missing or wrong credentials); it is recorded for forensics.
func Unauthorized(format string, args ...any) error {
	return &HTTPError{Status: http.StatusUnauthorized, Code: "unauthorized", Message: fmt.Sprintf(format, args...), Reject: true}
}

// Forbidden is a 403 (a signature that does not verify); it is recorded for forensics.
func Forbidden(code, format string, args ...any) error {
	return &HTTPError{Status: http.StatusForbidden, Code: code, Message: fmt.Sprintf(format, args...), Reject: true}
}

// NotFound is a 404 (unknown account, page, bot).
func NotFound(format string, args ...any) error {
	return &HTTPError{Status: http.StatusNotFound, Code: "not_found", Message: fmt.Sprintf(format, args...), Reject: true}
}

// UnsupportedMediaType is a 415.
func UnsupportedMediaType(want string) error {
	return &HTTPError{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type", Message: "Content-Type must be " + want}
}

// TemporaryError marks a failure worth retrying, optionally after a given delay.
type TemporaryError struct {
	Err   error
	After time.Duration // 0: use the backoff schedule
}

func (e *TemporaryError) Error() string { return "temporary: " + e.Err.Error() }
func (e *TemporaryError) Unwrap() error { return e.Err }

// Temporary wraps err as retryable (a 429, a 5xx, a connection reset), to retry after the
// given delay or, when after is 0, on the backoff schedule.
func Temporary(err error, after time.Duration) error { return &TemporaryError{Err: err, After: after} }

// IsTemporary reports whether err is retryable and the delay it asks for.
func IsTemporary(err error) (time.Duration, bool) {
	var t *TemporaryError
	if errors.As(err, &t) {
		return t.After, true
	}
	return 0, false
}

// PermanentError is a provider's refusal with its error code (Twilio 21211, Meta 131047, ...).
type PermanentError struct {
	Code    string
	Message string
	Err     error
}

func (e *PermanentError) Error() string {
	if e.Code != "" {
		return e.Code + ": " + e.Message
	}
	return e.Message
}
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent reports a failure that retrying cannot fix.
func Permanent(code, format string, args ...any) error {
	return &PermanentError{Code: code, Message: fmt.Sprintf(format, args...)}
}
