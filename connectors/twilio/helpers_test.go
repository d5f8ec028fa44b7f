package twilio

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"

	"github.com/switchboardhq/switchboard/configs/cfg"
	"github.com/switchboardhq/switchboard/connectors"
	"github.com/switchboardhq/switchboard/connectors/twilio/twiliotest"
	"github.com/switchboardhq/switchboard/schema"
)

// Fake credentials: Twilio's formats, alphanumeric (twilio-go refuses anything else).
const (
	testSID     = "AC0123456789abcdef0123456789abcdef"
	testToken   = "0123456789abcdef0123456789abcdef"
	testService = "MG0123456789abcdef0123456789abcdef"
	testPublic  = "https://gw.example.com"
)

// recorder is the durable store as far as the connector can tell: it keeps what it is given
// and remembers dedupe keys the way JetStream does.
type recorder struct {
	mu       sync.Mutex
	messages []*schema.Message
	statuses []*schema.StatusUpdate
	seen     map[string]bool
	fail     error
}

func (r *recorder) Publish(_ context.Context, m *schema.Message) (connectors.Receipt, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return connectors.Receipt{}, r.fail
	}
	key := schema.DedupeKey(m.Channel, m.Account, m.ExternalID)
	if r.seen == nil {
		r.seen = map[string]bool{}
	}
	if r.seen[key] {
		return connectors.Receipt{Duplicate: true}, nil
	}
	r.seen[key] = true
	r.messages = append(r.messages, m)
	return connectors.Receipt{ID: schema.MessageID(key)}, nil
}

func (r *recorder) PublishStatus(_ context.Context, s *schema.StatusUpdate) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return r.fail
	}
	r.statuses = append(r.statuses, s)
	return nil
}

func (r *recorder) counts() (int, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.messages), len(r.statuses)
}

// rejections records what the intake refused.
type rejections struct {
	mu   sync.Mutex
	list []*connectors.Rejection
}

func (r *rejections) Reject(x *connectors.Rejection) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.list = append(r.list, x)
}

// testAccount is the account "main" used by most tests.
func testAccount() *Account {
	return &Account{AccountSID: testSID, AuthToken: cfg.NewSecret(testToken),
		Numbers: []string{"+14155550100", "whatsapp:+14155238886"}, MessagingServiceSID: testService}
}

// rig is the connector behind a real intake on a loopback HTTP server.
type rig struct {
	t    *testing.T
	conn *Connector
	pub  *recorder
	rej  *rejections
	srv  *httptest.Server
}

func newRig(t *testing.T, accounts map[string]*Account, publicURL string) *rig {
	t.Helper()
	r := &rig{t: t, pub: &recorder{}, rej: &rejections{}}
	r.conn = New(Config{Accounts: accounts}, connectors.Host{Publisher: r.pub, PublicURL: publicURL})
	in := connectors.NewIntake(connectors.IntakeOptions{PublicURL: publicURL, Rejections: r.rej})
	mux := http.NewServeMux()
	in.Mount(mux, r.conn.Endpoints()...)
	r.srv = httptest.NewServer(mux)
	t.Cleanup(r.srv.Close)
	return r
}

// post sends body to path signed for the URL Twilio would have called (publicURL + path, or
// the server's own URL without a public URL).
func (r *rig) post(path string, body []byte, token string) (int, string) {
	r.t.Helper()
	public := ""
	if r.conn.accounts["main"] != nil && r.conn.accounts["main"].publicURL != "" {
		public = r.conn.accounts["main"].publicURL + path
	}
	req := twiliotest.Request(token, r.srv.URL+path, public, body)
	return r.do(req)
}

func (r *rig) do(req *http.Request) (int, string) {
	r.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
