package connectors

import "testing"

// The Standard Webhooks specification's published example (github.com/standard-webhooks,
// spec/standard-webhooks.md and the reference libraries' tests): secret, id, timestamp and
// payload give exactly this signature.
func TestSignWebhookPublishedVector(t *testing.T) {
	got := SignWebhook("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", []byte(`{"test": 2432232314}`))
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Fatalf("signature %s, want %s", got, want)
	}
}
