package schema_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/switchboardhq/switchboard/pipeline/kernel"
	"github.com/switchboardhq/switchboard/schema"
)

// The gateway decodes and encodes what it stored itself (stream payloads, KV records) with
// kernel.Unmarshal and kernel.Marshal, which use goccy/go-json and fall back to
// encoding/json. encoding/json is the oracle: on every input both must give the same
// answer, the same error text, and the same bytes.

// contractTypes are the documents the gateway stores, plus a free-form one.
var contractTypes = []func() any{
	func() any { return &schema.Event{} },
	func() any { return &schema.Message{} },
	func() any { return &schema.Conversation{} },
	func() any { return &schema.Customer{} },
	func() any { return &schema.StatusUpdate{} },
	func() any { return &map[string]any{} },
}

func agreeSeeds(f *testing.F) {
	for _, ex := range examples {
		data, err := json.Marshal(ex.v)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		`{"id":"a","ID":"b","Id":"c"}`, // case-insensitive names, the last wins
		`{"seq":1e2}`, `{"seq":-1}`, `{"seq":18446744073709551616}`, `{"seq":"7"}`,
		`{"at":"2026-13-01T00:00:00Z"}`, `{"at":null,"message":null}`,
		`{"message":{"raw":{"a":[1,2,{"b":null}]},"text":"\ud800 \u00e9 <&>"}}`,
		"{\"message\":{\"text\":\"\xff\xfe\"}}",
		`{"message":{"metadata":{"b":"1","a":"2"}}}`,
		`{"message":{"location":{"latitude":1e-7,"longitude":123456789012345678901234567890}}}`,
		`{"type":"message"} {"type":"opened"}`, `{"type":"message"`, ` {} `, `[]`, `null`, ``,
		`{"message":{"attachments":[{"size":1.5}]}}`,
	} {
		f.Add([]byte(s))
	}
}

func FuzzUnmarshalAgrees(f *testing.F) {
	agreeSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, mk := range contractTypes {
			want, got := mk(), mk()
			wantErr := json.Unmarshal(data, want)
			gotErr := kernel.Unmarshal(data, got)
			if (wantErr == nil) != (gotErr == nil) || wantErr != nil && wantErr.Error() != gotErr.Error() {
				t.Fatalf("%T from %q: encoding/json says %v, kernel.Unmarshal %v", want, data, wantErr, gotErr)
			}
			if wantErr == nil && !reflect.DeepEqual(want, got) {
				t.Fatalf("%T from %q:\nencoding/json   %+v\nkernel.Unmarshal %+v", want, data, want, got)
			}
		}
	})
}

func FuzzMarshalAgrees(f *testing.F) {
	agreeSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, mk := range contractTypes {
			v := mk()
			if json.Unmarshal(data, v) != nil {
				continue
			}
			want, wantErr := json.Marshal(v)
			got, gotErr := kernel.Marshal(v)
			if (wantErr == nil) != (gotErr == nil) || !bytes.Equal(want, got) {
				t.Fatalf("%T from %q:\nencoding/json %s (%v)\nkernel.Marshal %s (%v)", v, data, want, wantErr, got, gotErr)
			}
		}
	})
}

// The examples, every field set, come out of kernel.Marshal as encoding/json writes them and
// back in through kernel.Unmarshal whole.
func TestKernelJSONRoundTripsTheExamples(t *testing.T) {
	for _, ex := range examples {
		want, _ := json.Marshal(ex.v)
		got, err := kernel.Marshal(ex.v)
		if err != nil || !bytes.Equal(want, got) {
			t.Fatalf("%s: kernel.Marshal %s (%v), want %s", ex.file, got, err, want)
		}
		back := reflect.New(reflect.TypeOf(ex.v).Elem()).Interface()
		if err := kernel.Unmarshal(got, back); err != nil || !reflect.DeepEqual(back, ex.v) {
			t.Fatalf("%s: kernel.Unmarshal gave %+v (%v)", ex.file, back, err)
		}
	}
}

// go test ./schema -run XXX -bench JSON -benchmem: a conversation event each way.
func BenchmarkJSON(b *testing.B) {
	ev := fullEvent()
	ev.Message = fullMessage()
	data, _ := json.Marshal(ev)
	b.Run("decode/encoding-json", func(b *testing.B) {
		for b.Loop() {
			var e schema.Event
			if err := json.Unmarshal(data, &e); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode/kernel", func(b *testing.B) {
		for b.Loop() {
			var e schema.Event
			if err := kernel.Unmarshal(data, &e); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encode/encoding-json", func(b *testing.B) {
		for b.Loop() {
			if _, err := json.Marshal(ev); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encode/kernel", func(b *testing.B) {
		for b.Loop() {
			if _, err := kernel.Marshal(ev); err != nil {
				b.Fatal(err)
			}
		}
	})
}
