package endpoint_test

import (
	"context"
	"net/netip"
	"strings"
	"testing"

	"github.com/sealedtoken/issuer/pkg/endpoint"
)

// TestPresentedClientID: a failed client authentication tells the log
// which client id was presented (Result.PresentedClientID), so an operator
// can see who is failing; a successful one leaves it empty (ClientID is
// then the authenticated client), and an id that is not printable ASCII
// of at most 255 characters (RFC 6749 Appendix A.1) is never passed on.
func TestPresentedClientID(t *testing.T) {
	long := strings.Repeat("a", 256)
	tests := []struct {
		name          string
		endpoint      string
		body          string
		opts          []reqOpt
		wantStatus    int
		wantPresented string
		wantClientID  string
	}{
		{name: "RFC 6749 §5.2 wrong Basic secret: 401 names the presented id", endpoint: "token", body: form("grant_type", "client_credentials"),
			opts: []reqOpt{basic("backend", "wrong")}, wantStatus: 401, wantPresented: "backend"},
		{name: "RFC 6749 §2.3.1 wrong client_secret in the body", endpoint: "token", body: form("grant_type", "client_credentials", "client_id", "backend", "client_secret", "wrong"),
			wantStatus: 401, wantPresented: "backend"},
		{name: "unknown client id", endpoint: "token", body: form("grant_type", "client_credentials", "client_id", "nobody", "client_secret", "x"),
			wantStatus: 401, wantPresented: "nobody"},
		{name: "Basic id wins over the body's (they must agree anyway)", endpoint: "token", body: form("grant_type", "client_credentials"),
			opts: []reqOpt{basic(specialID, "wrong")}, wantStatus: 401, wantPresented: specialID},
		{name: "an id with a control character is not passed on", endpoint: "token", body: form("grant_type", "client_credentials", "client_id", "evil\nline", "client_secret", "x"),
			wantStatus: 401},
		{name: "RFC 6749 Appendix A.1 an id over 255 characters is not passed on", endpoint: "token", body: form("grant_type", "client_credentials", "client_id", long, "client_secret", "x"),
			wantStatus: 401},
		{name: "success: the authenticated ClientID, nothing presented", endpoint: "token", body: form("grant_type", "client_credentials"),
			opts: []reqOpt{basic("backend", backendSecret)}, wantStatus: 200, wantClientID: "backend"},
		{name: "RFC 7662 §2.1 introspection with a wrong secret", endpoint: "introspect", body: form("token", "x"),
			opts: []reqOpt{basic("rs", "wrong")}, wantStatus: 401, wantPresented: "rs"},
		{name: "RFC 7009 §2.1 revocation with a wrong secret", endpoint: "revoke", body: form("token", "x"),
			opts: []reqOpt{basic("backend", "wrong")}, wantStatus: 401, wantPresented: "backend"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			r := request("/"+tt.endpoint, tt.body, tt.opts...)
			var resp *endpoint.Response
			var res endpoint.Result
			switch tt.endpoint {
			case "token":
				resp, res = f.srv.Token(context.Background(), r)
			case "introspect":
				resp, res = f.srv.Introspect(context.Background(), r)
			case "revoke":
				resp, res = f.srv.Revoke(context.Background(), r)
			}
			if resp.Status != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", resp.Status, tt.wantStatus, resp.Body)
			}
			if res.PresentedClientID != tt.wantPresented || res.ClientID != tt.wantClientID {
				t.Fatalf("PresentedClientID %q, ClientID %q; want %q, %q", res.PresentedClientID, res.ClientID, tt.wantPresented, tt.wantClientID)
			}
		})
	}

	// 429: the limiter refuses before any hash; the id is still named. A
	// sha256 client is never throttled (guessing its secret is hopeless),
	// so the guesses go to the bcrypt client.
	f := newFixture(t)
	var res endpoint.Result
	for i := 0; i < 50; i++ {
		r := request("/token", form("grant_type", "client_credentials"), basic("slow", "wrong"))
		r.RemoteAddr = netip.MustParseAddr("192.0.2.7")
		if _, res = f.srv.Token(context.Background(), r); res.Err != nil && res.Err.HTTPStatus() == 429 {
			break
		}
	}
	if res.Err == nil || res.Err.HTTPStatus() != 429 || res.PresentedClientID != "slow" {
		t.Fatalf("after repeated failures: %v, PresentedClientID %q; want 429 naming slow", res.Err, res.PresentedClientID)
	}
}
