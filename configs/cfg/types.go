package cfg

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Duration is a time.Duration written as "30s", "5m", "1h30m".
type Duration time.Duration

// UnmarshalText parses a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("invalid duration %q (write e.g. 500ms, 30s, 5m, 2h)", b)
	}
	if v < 0 {
		return fmt.Errorf("duration %q must not be negative", b)
	}
	*d = Duration(v)
	return nil
}

// MarshalText renders the duration as Go does.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// Or returns the duration, or def when it is zero.
func (d Duration) Or(def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return time.Duration(d)
}

// ByteSize is a size in bytes, written as a number or with a unit: 512KiB, 10MB, 1GiB.
type ByteSize int64

var byteUnits = []struct {
	suffix string
	mult   int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30},
	{"KB", 1000}, {"MB", 1000 * 1000}, {"GB", 1000 * 1000 * 1000}, {"B", 1},
}

// UnmarshalText parses a size.
func (s *ByteSize) UnmarshalText(b []byte) error {
	txt := strings.TrimSpace(string(b))
	mult := int64(1)
	for _, u := range byteUnits {
		if strings.HasSuffix(txt, u.suffix) {
			txt, mult = strings.TrimSpace(strings.TrimSuffix(txt, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(txt, 10, 64)
	if err != nil || n < 0 {
		return fmt.Errorf("invalid size %q (write e.g. 4096, 512KiB, 10MiB)", b)
	}
	*s = ByteSize(n * mult)
	return nil
}

// Or returns the size, or def when it is zero.
func (s ByteSize) Or(def int64) int64 {
	if s == 0 {
		return def
	}
	return int64(s)
}

// Secret is a credential taken from the environment or a file, never from the YAML itself:
//
//	token: {env: SWITCHBOARD_API_TOKEN}
//	password: {file: /run/secrets/imap-password}
//
// It renders as <secret> in logs, errors and dumps.
type Secret struct {
	Env  string `yaml:"env"`
	File string `yaml:"file"`

	value string
}

// NewSecret wraps a value known in code (tests, generated config).
func NewSecret(v string) Secret { return Secret{value: v} }

// Value returns the secret itself.
func (s Secret) Value() string { return s.value }

// IsSet reports whether the secret names a source.
func (s Secret) IsSet() bool { return s.Env != "" || s.File != "" || s.value != "" }

// String hides the value.
func (s Secret) String() string { return "<secret>" }

// GoString hides the value from %#v.
func (s Secret) GoString() string { return "<secret>" }

// MarshalText hides the value from encoders.
func (s Secret) MarshalText() ([]byte, error) { return []byte("<secret>"), nil }

// Validate resolves the secret and reports a missing variable or unreadable file.
func (s *Secret) Validate(c *Checker) {
	switch {
	case s.Env != "" && s.File != "":
		c.Errorf("", "give either env or file, not both")
	case s.Env != "":
		v, ok := os.LookupEnv(s.Env)
		if !ok || v == "" {
			c.SecretErrorf("env", "environment variable %s is not set", s.Env)
			return
		}
		s.value = v
	case s.File != "":
		b, err := os.ReadFile(s.File)
		if err != nil {
			c.SecretErrorf("file", "cannot read secret file: %v", err)
			return
		}
		s.value = strings.TrimRight(string(b), "\r\n")
	}
}
