package rest

import (
	"fmt"
	"io"
)

// copyLimited copies at most limit bytes and fails if src has more.
func copyLimited(dst io.Writer, src io.Reader, limit int64) (int64, error) {
	n, err := io.Copy(dst, io.LimitReader(src, limit+1))
	if err == nil && n > limit {
		return n, fmt.Errorf("larger than %d bytes", limit)
	}
	return n, err
}
