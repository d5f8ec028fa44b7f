package connectors

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"

	"github.com/switchboardhq/switchboard/pipeline/kernel"
)

// memState is a StateStore in memory, with revisions, for unit tests of the helpers.
type memState struct {
	mu   sync.Mutex
	vals map[string][]byte
	revs map[string]uint64
	rev  uint64
}

func newMemState() *memState { return &memState{vals: map[string][]byte{}, revs: map[string]uint64{}} }

func (s *memState) Get(_ context.Context, k string) ([]byte, uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.vals[k]
	if !ok {
		return nil, 0, kernel.ErrNotFound
	}
	return v, s.revs[k], nil
}

func (s *memState) Create(ctx context.Context, k string, v []byte) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.vals[k]; ok {
		return 0, kernel.ErrExists
	}
	return s.put(k, v), nil
}

func (s *memState) Update(_ context.Context, k string, v []byte, rev uint64) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.revs[k] != rev {
		return 0, kernel.ErrConflict
	}
	return s.put(k, v), nil
}

func (s *memState) Put(_ context.Context, k string, v []byte) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.put(k, v), nil
}

func (s *memState) Delete(_ context.Context, k string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.vals, k)
	delete(s.revs, k)
	return nil
}

func (s *memState) put(k string, v []byte) uint64 {
	s.rev++
	s.vals[k], s.revs[k] = v, s.rev
	return s.rev
}

// recorder builds parts that count their sends; part fail fails once with err.
type recorder struct {
	sent []string
	fail map[int]error
}

func (r *recorder) parts(n int) []Part {
	out := make([]Part, n)
	for i := range out {
		out[i] = func(context.Context) (string, error) {
			if err := r.fail[i]; err != nil {
				delete(r.fail, i)
				return "", err
			}
			id := fmt.Sprintf("p%d", i)
			r.sent = append(r.sent, id)
			return id, nil
		}
	}
	return out
}

func TestSendPartsResumesAfterTemporaryFailure(t *testing.T) {
	state, ctx := newMemState(), context.Background()
	r := &recorder{fail: map[int]error{2: Temporary(errors.New("429"), 0)}}
	ids, err := SendParts(ctx, state, "msg_1", r.parts(3))
	if _, temp := IsTemporary(err); !temp || !reflect.DeepEqual(ids, []string{"p0", "p1"}) {
		t.Fatalf("first attempt: %v %v", ids, err)
	}
	ids, err = SendParts(ctx, state, "msg_1", r.parts(3))
	if err != nil || !reflect.DeepEqual(ids, []string{"p0", "p1", "p2"}) {
		t.Fatalf("retry: %v %v", ids, err)
	}
	if !reflect.DeepEqual(r.sent, []string{"p0", "p1", "p2"}) {
		t.Fatalf("parts sent %v: a retry repeated a part", r.sent)
	}
	if len(state.vals) != 0 {
		t.Fatalf("progress left behind: %v", state.vals)
	}
}

func TestSendPartsForgetsProgressOnPermanentFailure(t *testing.T) {
	state := newMemState()
	r := &recorder{fail: map[int]error{1: Permanent("100", "bad")}}
	if _, err := SendParts(context.Background(), state, "msg_2", r.parts(2)); err == nil {
		t.Fatal("permanent failure not returned")
	}
	if len(state.vals) != 0 {
		t.Fatalf("progress left behind: %v", state.vals)
	}
}

func TestSendPartsSinglePartKeepsNoState(t *testing.T) {
	state := newMemState()
	r := &recorder{}
	ids, err := SendParts(context.Background(), state, "msg_3", r.parts(1))
	if err != nil || !reflect.DeepEqual(ids, []string{"p0"}) || state.rev != 0 {
		t.Fatalf("%v %v rev %d", ids, err, state.rev)
	}
}
