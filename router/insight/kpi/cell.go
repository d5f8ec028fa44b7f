package kpi

import (
	"cmp"
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

	last     *Row // the row Add touched last (an event's ops mostly share their dims)
	lastDims Dims
}

// Row is the figures of one set of Dims: counters by their place in Counters, duration
// metrics by their place in Metrics (nil: no samples).
type Row struct {
	Counts [numCounters]int64
	Dists  [numMetrics]*Dist
}

// Dist is a duration metric's samples: how many, their exact sum, and a histogram of the
// quantized values ([Quantize]) for percentiles, sorted by value.
type Dist struct {
	N     int64
	SumMs int64
	Hist  []Bin
}

// Bin is one histogram value (seconds, quantized) and its samples.
type Bin struct{ Q, N int64 }

const (
	numCounters = 36
	numMetrics  = 8
)

// figures maps a counter or metric name to its place: counters 0.., metrics 100...
var figures = func() map[string]int {
	if len(Counters) != numCounters || len(Metrics) != numMetrics {
		panic("kpi: numCounters/numMetrics do not match the lists")
	}
	m := map[string]int{}
	for i, c := range Counters {
		m[c] = i
	}
	for i, d := range Metrics {
		m[d] = 100 + i
	}
	return m
}()

// NewCell returns an empty cell.
func NewCell() *Cell { return &Cell{Rows: map[Dims]*Row{}} }

func newRow() *Row { return &Row{} }

// Add applies op. A row that drops to nothing is removed.
func (c *Cell) Add(op Op) {
	r := c.last
	if r == nil || c.lastDims != op.Dims {
		if r = c.Rows[op.Dims]; r == nil {
			r = newRow()
			c.Rows[op.Dims] = r
		}
		c.last, c.lastDims = r, op.Dims
	}
	fig := op.fig
	if fig == 0 {
		fig = figureOf(op.Name)
	}
	r.add(fig-1, op.Value, op.Sign)
	if op.Sign < 0 && r.empty() {
		delete(c.Rows, op.Dims)
		c.last = nil
	}
}

// figureOf is 1 + the place of a counter or metric (see figures); 0 for an unknown name.
func figureOf(name string) int {
	if i, ok := figures[name]; ok {
		return i + 1
	}
	return 0
}

// Add applies one counter or sample to the row (unknown names are ignored).
func (r *Row) Add(name string, ms, sign int64) { r.add(figureOf(name)-1, ms, sign) }

func (r *Row) add(i int, ms, sign int64) {
	switch {
	case i < 0:
	case i < 100:
		if ms != 0 { // a counter of time: it adds its milliseconds
			r.Counts[i] += sign * ms
		} else {
			r.Counts[i] += sign
		}
	default:
		d := r.Dists[i-100]
		if d == nil {
			d = &Dist{}
			r.Dists[i-100] = d
		}
		d.N += sign
		d.SumMs += sign * ms
		d.add(Quantize(ms), sign)
		if d.N == 0 && len(d.Hist) == 0 {
			r.Dists[i-100] = nil
		}
	}
}

// add adds n samples of value q (a bin that drops to zero is removed).
func (d *Dist) add(q, n int64) {
	i, found := slices.BinarySearchFunc(d.Hist, q, func(b Bin, q int64) int { return cmp.Compare(b.Q, q) })
	switch {
	case found:
		if d.Hist[i].N += n; d.Hist[i].N == 0 {
			d.Hist = slices.Delete(d.Hist, i, i+1)
		}
	case n != 0:
		d.Hist = slices.Insert(d.Hist, i, Bin{q, n})
	}
}

func (r *Row) empty() bool {
	for _, n := range r.Counts {
		if n != 0 {
			return false
		}
	}
	for _, d := range r.Dists {
		if d != nil {
			return false
		}
	}
	return true
}

// Count is the counter called name.
func (r *Row) Count(name string) int64 {
	if i, ok := figures[name]; ok && i < 100 {
		return r.Counts[i]
	}
	return 0
}

// Dist is the metric called name (nil without samples).
func (r *Row) Dist(name string) *Dist {
	if i, ok := figures[name]; ok && i >= 100 {
		return r.Dists[i-100]
	}
	return nil
}

// Merge adds o's figures to r.
func (r *Row) Merge(o *Row) {
	for i, v := range o.Counts {
		r.Counts[i] += v
	}
	for i, od := range o.Dists {
		if od == nil {
			continue
		}
		d := r.Dists[i]
		if d == nil {
			d = &Dist{}
			r.Dists[i] = d
		}
		d.N += od.N
		d.SumMs += od.SumMs
		d.Hist = mergeBins(d.Hist, od.Hist)
	}
}

// mergeBins adds two sorted histograms.
func mergeBins(a, b []Bin) []Bin {
	if len(a) == 0 {
		return append([]Bin(nil), b...)
	}
	out := make([]Bin, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || (i < len(a) && a[i].Q < b[j].Q):
			out = append(out, a[i])
			i++
		case i == len(a) || b[j].Q < a[i].Q:
			out = append(out, b[j])
			j++
		default:
			if n := a[i].N + b[j].N; n != 0 {
				out = append(out, Bin{a[i].Q, n})
			}
			i, j = i+1, j+1
		}
	}
	return out
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
	for _, b := range d.Hist {
		if seen += b.N; seen >= rank {
			return b.Q, true
		}
	}
	return 0, false
}

// cellVersion starts an encoded cell.
const cellVersion = 2

// Encode writes the cell compactly: varints, figures by their place in Counters and Metrics
// (a byte each), rows sorted, so equal cells encode equally.
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
		n := 0
		for _, v := range r.Counts {
			if v != 0 {
				n++
			}
		}
		b = binary.AppendUvarint(b, uint64(n))
		for i, v := range r.Counts {
			if v != 0 {
				b = append(b, byte(i))
				b = binary.AppendVarint(b, v)
			}
		}
		n = 0
		for _, dd := range r.Dists {
			if dd != nil {
				n++
			}
		}
		b = binary.AppendUvarint(b, uint64(n))
		for i, dd := range r.Dists {
			if dd == nil {
				continue
			}
			b = append(b, byte(i))
			b = binary.AppendVarint(b, dd.N)
			b = binary.AppendVarint(b, dd.SumMs)
			b = binary.AppendUvarint(b, uint64(len(dd.Hist)))
			prev := int64(0)
			for _, bin := range dd.Hist {
				b = binary.AppendVarint(b, bin.Q-prev) // ascending: small deltas
				b = binary.AppendVarint(b, bin.N)
				prev = bin.Q
			}
		}
	}
	return b
}

func compareDims(a, b Dims) int {
	for _, p := range [][2]string{{a.Channel, b.Channel}, {a.Account, b.Account}, {a.Queue, b.Queue}, {a.Team, b.Team}, {a.Agent, b.Agent}} {
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
			i := int(r.byte())
			v := r.varint()
			if i >= numCounters {
				r.fail("counter")
				break
			}
			row.Counts[i] = v
		}
		for range r.count() {
			i := int(r.byte())
			if i >= numMetrics {
				r.fail("metric")
				break
			}
			dd := &Dist{N: r.varint(), SumMs: r.varint()}
			q := int64(0)
			for range r.count() {
				q += r.varint()
				dd.Hist = append(dd.Hist, Bin{q, r.varint()})
			}
			row.Dists[i] = dd
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

// AtMost counts the samples whose quantized value is at most sec seconds.
func (d *Dist) AtMost(sec int64) int64 {
	if d == nil {
		return 0
	}
	var n int64
	for _, b := range d.Hist {
		if b.Q > sec {
			break
		}
		n += b.N
	}
	return n
}
