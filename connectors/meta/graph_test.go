package meta

import (
	"net/http"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/connectors"
)

func TestGraphFailureClassification(t *testing.T) {
	for _, c := range []struct {
		status int
		body   string
		temp   bool
		code   string
	}{
		{429, `{}`, true, ""},
		{503, `{"error":{"message":"Service unavailable","code":2}}`, true, ""},
		{400, `{"error":{"message":"(#130429) Rate limit hit","code":130429}}`, true, ""},
		{400, `{"error":{"message":"Application request limit reached","code":4,"is_transient":true}}`, true, ""},
		{400, `{"error":{"message":"whatever","code":100,"is_transient":true}}`, true, ""},
		{400, `{"error":{"message":"This message is sent outside of allowed window.","code":10,"error_subcode":2018278}}`, false, "10.2018278"},
		{400, `{"error":{"message":"(#131047) Re-engagement message","code":131047,"error_data":{"details":"24 hours passed"}}}`, false, "131047"},
		{401, `{"error":{"message":"Invalid OAuth access token.","type":"OAuthException","code":190}}`, false, "190"},
		{403, `not json`, false, "http_403"},
	} {
		err := graphFailure(&http.Response{StatusCode: c.status, Header: http.Header{}}, []byte(c.body))
		_, temp := connectors.IsTemporary(err)
		if temp != c.temp || permanentCode(err) != c.code {
			t.Errorf("%d %s: %v (temporary %v), want temporary %v code %q", c.status, c.body, err, temp, c.temp, c.code)
		}
	}
	err := graphFailure(&http.Response{StatusCode: 429, Header: http.Header{"Retry-After": {"7"}}}, nil)
	if after, _ := connectors.IsTemporary(err); after != 7*time.Second {
		t.Fatalf("Retry-After not honoured: %v", after)
	}
}
