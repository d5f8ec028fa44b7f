package connectors

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strings"
)

// SignWebhook computes a Standard Webhooks signature header value: "v1," + base64 of
// HMAC-SHA256(key, id + "." + timestamp + "." + body). A secret "whsec_<base64>" is decoded
// to its key bytes; any other secret is used as it is.
func SignWebhook(secret, id, timestamp string, body []byte) string {
	key := []byte(secret)
	if s, ok := strings.CutPrefix(secret, "whsec_"); ok {
		if k, err := base64.StdEncoding.DecodeString(s); err == nil {
			key = k
		}
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + timestamp + "."))
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}
