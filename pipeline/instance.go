package pipeline

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// InstanceFile keeps this data directory's instance id across restarts; InstanceLock is held
// (flock) by the one live process using the directory.
const (
	InstanceFile = "instance-id"
	InstanceLock = "instance.lock"
)

// Instance is this process's name in leases. Stable is true when the name belongs to the data
// directory and this process holds the directory's lock: then no other live process can have
// it, and leases it held in an earlier run (killed before it could release them) are taken
// back at once instead of waiting for them to expire.
type Instance struct {
	ID     string
	Stable bool
	lock   *os.File
}

// ClaimInstance takes the data directory's lock and its stable id (made on first use). When
// another live process holds the lock (two gateways sharing a directory), it returns a
// fresh id that is not stable, so the two never pass for one another.
func ClaimInstance(dataDir, fallback string) (*Instance, error) {
	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dataDir, InstanceLock), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return &Instance{ID: fallback}, nil
		}
		return nil, fmt.Errorf("lock %s: %w", InstanceLock, err)
	}
	path := filepath.Join(dataDir, InstanceFile)
	data, err := os.ReadFile(path)
	id := strings.TrimSpace(string(data))
	if errors.Is(err, os.ErrNotExist) || id == "" {
		host, _ := os.Hostname()
		b := make([]byte, 6)
		_, _ = rand.Read(b)
		id = tokenize(host) + "-" + hex.EncodeToString(b)
		if err := os.WriteFile(path, []byte(id+"\n"), 0o600); err != nil {
			f.Close()
			return nil, fmt.Errorf("write %s: %w", InstanceFile, err)
		}
	} else if err != nil {
		f.Close()
		return nil, err
	}
	return &Instance{ID: id, Stable: true, lock: f}, nil
}

// Release lets the data directory go (the lock also goes with the process).
func (i *Instance) Release() {
	if i.lock != nil {
		_ = i.lock.Close()
		i.lock = nil
	}
}

// tokenize keeps letters, digits, - and _ (a host name's dots become -).
func tokenize(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			return r
		}
		return '-'
	}, s)
}
