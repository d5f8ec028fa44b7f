package kpi

import (
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"
)

// Cell adds up the ops of one interval, by Dims. Through is the last stream sequence whose
// ops it holds: the projection applies an event's ops to a cell only when the event comes
// after Through, so an event applied twice changes nothing.
type Cell struct {
	Through uint64
	Rows    map[Dims]*Row
}

// Row is the figures of one set of Dims.
type Row struct {
	Counts map[string]int64
	Dists  map[string]*Dist
}

// Dist is a duration metric's samples: how many, their exact sum, and a histogram of the
// quantized values ([Quantize]) for percentiles.
type Dist struct {
	N     int64
	SumMs int64
	Hist  map[int64]int64
}

// NewCell returns an empty cell.
func NewCell() *Cell { return &Cell{Rows: map[Dims]*Row{}} }

func newRow() *Row { return &Row{Counts: map[string]int64{}, Dists: map[string]*Dist{}} }

// Add applies op. A row, count or histogram entry that drops to zero is removed.
func (c *Cell) Add(op Op) {
	r := c.Rows[op.Dims]
	if r == nil {
		r = newRow()
		c.Rows[op.Dims] = r
	}
	r.Add(op.Name, op.Value, op.Sign, IsMetric(op.Name))
	if r.empty() {
		delete(c.Rows, op.Dims)
	}
}

// Add applies one counter or sample to the row.
func (r *Row) Add(name string, ms, sign int64, metric bool) {
	if !metric {
		if r.Counts[name] += sign; r.Counts[name] == 0 {
			delete(r.Counts, name)
		}
		return
	}
	d := r.Dists[name]
	if d == nil {
		d = &Dist{Hist: map[int64]int64{}}
		r.Dists[name] = d
	}
	d.N += sign
	d.SumMs += sign * ms
	q := Quantize(ms)
	if d.Hist[q] += sign; d.Hist[q] == 0 {
		delete(d.Hist, q)
	}
	if d.N == 0 && len(d.Hist) == 0 {
		delete(r.Dists, name)
	}
}

func (r *Row) empty() bool { return len(r.Counts) == 0 && len(r.Dists) == 0 }

// Merge adds o's figures to r.
func (r *Row) Merge(o *Row) {
	for k, v := range o.Counts {
		if r.Counts[k] += v; r.Counts[k] == 0 {
			delete(r.Counts, k)
		}
	}
	for k, od := range o.Dists {
		d := r.Dists[k]
		if d == nil {
			d = &Dist{Hist: map[int64]int64{}}
			r.Dists[k] = d
		}
		d.N += od.N
		d.SumMs += od.SumMs
		for q, n := range od.Hist {
			if d.Hist[q] += n; d.Hist[q] == 0 {
				delete(d.Hist, q)
			}
		}
	}
}

// Percentile is the nearest-rank p-th percentile (0 < p <= 100) of the quantized samples in
// seconds: the smallest value with at least p% of the samples at or below it. ok is false
// without samples.
func (d *Dist) Percentile(p float64) (int64, bool) {
	if d == nil || d.N <= 0 {
		return 0, false
	}
	rank := int64(p / 100 * float64(d.N))
	if float64(rank) < p/100*float64(d.N) {
		rank++
	}
	rank = max(rank, 1)
	var seen int64
	for _, q := range slices.Sorted(maps.Keys(d.Hist)) {
		if seen += d.Hist[q]; seen >= rank {
			return q, true
		}
	}
	return 0, false
}

// cellVersion starts an encoded cell.
const cellVersion = 1

// Encode writes the cell compactly (varints; rows and names sorted, so equal cells encode
// equally).
func (c *Cell) Encode() []byte {
	b := []byte{cellVersion}
	b = binary.AppendUvarint(b, c.Through)
	keys := slices.SortedFunc(maps.Keys(c.Rows), compareDims)
	b = binary.AppendUvarint(b, uint64(len(keys)))
	for _, d := range keys {
		r := c.Rows[d]
		for _, s := range []string{d.Channel, d.Account, d.Queue, d.Agent} {
			b = appendString(b, s)
		}
		b = binary.AppendVarint(b, int64(d.Priority))
		b = binary.AppendUvarint(b, uint64(len(r.Counts)))
		for _, k := range slices.Sorted(maps.Keys(r.Counts)) {
			b = appendString(b, k)
			b = binary.AppendVarint(b, r.Counts[k])
		}
		b = binary.AppendUvarint(b, uint64(len(r.Dists)))
		for _, k := range slices.Sorted(maps.Keys(r.Dists)) {
			dd := r.Dists[k]
			b = appendString(b, k)
			b = binary.AppendVarint(b, dd.N)
			b = binary.AppendVarint(b, dd.SumMs)
			b = binary.AppendUvarint(b, uint64(len(dd.Hist)))
			for _, q := range slices.Sorted(maps.Keys(dd.Hist)) {
				b = binary.AppendVarint(b, q)
				b = binary.AppendVarint(b, dd.Hist[q])
			}
		}
	}
	return b
}

func compareDims(a, b Dims) int {
	for _, p := range [][2]string{{a.Channel, b.Channel}, {a.Account, b.Account}, {a.Queue, b.Queue}, {a.Agent, b.Agent}} {
		if p[0] != p[1] {
			if p[0] < p[1] {
				return -1
			}
			return 1
		}
	}
	return a.Priority - b.Priority
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// ErrBadCell reports a stored cell that does not decode.
var ErrBadCell = errors.New("bad insight cell")

// DecodeCell reads a cell written by Encode.
func DecodeCell(data []byte) (*Cell, error) {
	r := &reader{b: data}
	if v := r.byte(); v != cellVersion {
		return nil, fmt.Errorf("%w: version %d", ErrBadCell, v)
	}
	c := NewCell()
	c.Through = r.uvarint()
	rows := r.count()
	for range rows {
		var d Dims
		d.Channel, d.Account, d.Queue, d.Agent = r.string(), r.string(), r.string(), r.string()
		d.Priority = int(r.varint())
		row := newRow()
		for range r.count() {
			k := r.string()
			row.Counts[k] = r.varint()
		}
		for range r.count() {
			k := r.string()
			dd := &Dist{N: r.varint(), SumMs: r.varint(), Hist: map[int64]int64{}}
			for range r.count() {
				q := r.varint()
				dd.Hist[q] = r.varint()
			}
			row.Dists[k] = dd
		}
		if r.err != nil {
			break
		}
		c.Rows[d] = row
	}
	if r.err != nil {
		return nil, r.err
	}
	if len(r.b) != 0 {
		return nil, fmt.Errorf("%w: %d bytes left over", ErrBadCell, len(r.b))
	}
	return c, nil
}

type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: truncated %s", ErrBadCell, what)
	}
	r.b = nil
}

func (r *reader) byte() byte {
	if len(r.b) == 0 {
		r.fail("header")
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *reader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail("number")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail("number")
		return 0
	}
	r.b = r.b[n:]
	return v
}

// count reads a length, bounded by what is left (a corrupt length cannot allocate much).
func (r *reader) count() int {
	v := r.uvarint()
	if v > uint64(len(r.b)) {
		r.fail("length")
		return 0
	}
	return int(v)
}

func (r *reader) string() string {
	n := r.count()
	if r.err != nil {
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}
