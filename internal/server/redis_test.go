package server_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/sealedtoken/issuer/pkg/store/redis/redistest"
)

// TestRedisOutageAndRecovery runs the App on a real Redis, stops it, and
// starts it again: grants needing the store fail with 503 only while it is
// down.
func TestRedisOutageAndRecovery(t *testing.T) {
	rs := redistest.Start(t)
	base, c, _, _ := devApp(t, rs.URL)
	token := func() string {
		code, body := post(t, c, base+"/token", url.Values{"grant_type": {"client_credentials"}}, true)
		if code != 200 {
			t.Fatalf("token: %d %s", code, body)
		}
		return between(body, `"access_token":"`, `"`)
	}
	if code, body := post(t, c, base+"/revoke", url.Values{"token": {token()}}, true); code != 200 {
		t.Fatalf("revoke with redis up: %d %s", code, body)
	}
	if code, _ := get(t, c, base+"/readyz"); code != 200 {
		t.Fatalf("readyz with redis up = %d", code)
	}
	rs.Stop()
	tok := token() // client_credentials needs no store
	if code, body := post(t, c, base+"/revoke", url.Values{"token": {tok}}, true); code != 503 || !strings.Contains(body, "temporarily_unavailable") {
		t.Fatalf("revoke with redis down: %d %s", code, body)
	}
	if code, _ := get(t, c, base+"/readyz"); code != 503 {
		t.Fatalf("readyz with redis down = %d", code)
	}
	rs.Restart()
	if code, body := post(t, c, base+"/revoke", url.Values{"token": {tok}}, true); code != 200 {
		t.Fatalf("revoke after redis came back: %d %s", code, body)
	}
}
