package endpoint_test

import (
	"context"
	"testing"

	"github.com/sealedtoken/issuer/pkg/endpoint"
)

// TestUnavailableCarriesRetryAfter: every 503 temporarily_unavailable that
// an unreachable store causes says when to retry (RFC 9110 §10.2.3,
// §15.6.4), at the token, introspection and revocation endpoints alike.
func TestUnavailableCarriesRetryAfter(t *testing.T) {
	tests := []struct {
		name string
		call func(f *fixture) *endpoint.Response
	}{
		{name: "RFC 6749 §5.2 token endpoint, refresh grant, store down", call: func(f *fixture) *endpoint.Response {
			tk := f.webTokens()
			f.store.down.Store(true)
			return f.token(form("grant_type", "refresh_token", "refresh_token", tk.Refresh), basic("webapp", webappSecret))
		}},
		{name: "RFC 7662 §2.3 introspection, store down", call: func(f *fixture) *endpoint.Response {
			tok := f.backendToken()
			f.store.down.Store(true)
			return f.introspect(form("token", tok), asRS())
		}},
		{name: "RFC 7009 §2.2.1 revocation, store down", call: func(f *fixture) *endpoint.Response {
			tok := f.backendToken()
			f.store.down.Store(true)
			return f.revoke(form("token", tok), basic("backend", backendSecret))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := tt.call(newFixture(t))
			if resp.Status != 503 || errCode(t, resp) != endpoint.TemporarilyUnavailable {
				t.Fatalf("status %d %s, want 503 temporarily_unavailable", resp.Status, resp.Body)
			}
			if got := hdr(resp, "Retry-After"); got != "1" {
				t.Fatalf("Retry-After = %q, want 1", got)
			}
		})
	}
	// AsError itself, for embedders that map their own errors.
	if e := endpoint.AsError(context.DeadlineExceeded); e.HTTPStatus() != 503 || e.RetryAfter <= 0 {
		t.Fatalf("AsError(deadline) = %d, RetryAfter %v", e.HTTPStatus(), e.RetryAfter)
	}
}
