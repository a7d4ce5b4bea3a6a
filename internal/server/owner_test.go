package server_test

import (
	"encoding/json"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/sealedtoken/issuer/internal/server"
	"github.com/sealedtoken/issuer/pkg/crypttoken"
)

// verifier is a PKCE code_verifier whose S256 challenge is
// WuYLu9dZlvpRi1QPQ7SjbNzFXP1u16cDzk9P91Y-c8M (RFC 7636 §4.2).
const verifier = "dBjftJeZ4CVP-mJ92K0pQ6WAOgNtI4QJw1MXHNEDdq0"

func TestTrustedHeader(t *testing.T) {
	owner, err := server.NewTrustedHeader("X-Remote-User", []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
		map[string]string{"alice": "u-1001"}, []string{testClientID}, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, fixtureOpts{owner: owner})
	opener, err := crypttoken.NewOpener(f.ring, crypttoken.Expected{Issuer: testIssuer, Audience: testAudience})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		remote  string
		user    string
		wantLoc string // substring of Location
		wantSub string
	}{
		{name: "known user from the proxy gets a code", remote: "127.0.0.1", user: "alice", wantLoc: "code=", wantSub: "u-1001"},
		{name: "unknown user from the proxy is its own subject", remote: "127.0.0.1", user: "bob", wantLoc: "code=", wantSub: "bob"},
		{name: "header from an untrusted address is ignored", remote: "10.0.0.7", user: "alice", wantLoc: "error=access_denied"},
		{name: "missing header is access_denied", remote: "127.0.0.1", user: "", wantLoc: "error=access_denied"},
		{name: "user name with a space is refused", remote: "127.0.0.1", user: "a b", wantLoc: "error=access_denied"},
		{name: "user name equal to a client id is refused (RFC 9068 §5)", remote: "127.0.0.1", user: testClientID, wantLoc: "error=access_denied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := map[string]string{}
			if tt.user != "" {
				h["X-Remote-User"] = tt.user
			}
			// The peer must be a trusted proxy for X-Forwarded-Proto too;
			// from elsewhere, the request is TLS-checked by the endpoint.
			if tt.remote == "127.0.0.1" {
				h["X-Forwarded-Proto"] = "https"
			}
			r := req{method: "GET", uri: "/authorize?response_type=code&client_id=backend&state=s1&code_challenge=WuYLu9dZlvpRi1QPQ7SjbNzFXP1u16cDzk9P91Y-c8M&code_challenge_method=S256", header: h, remote: tt.remote}
			resp := do(f.h.ServeFastHTTP, r)
			loc := string(resp.Header.Peek("Location"))
			if tt.remote != "127.0.0.1" {
				// No TLS evidence from an untrusted peer: refused before
				// the owner is asked, with an error page.
				if resp.StatusCode() == 302 && strings.Contains(loc, "code=") {
					t.Fatalf("untrusted peer got a code: %s", loc)
				}
				return
			}
			if resp.StatusCode() != 302 || !strings.Contains(loc, tt.wantLoc) {
				t.Fatalf("status %d Location %q, want 302 with %q; body %s", resp.StatusCode(), loc, tt.wantLoc, resp.Body())
			}
			if !strings.Contains(loc, "state=s1") {
				t.Errorf("state not echoed: %s", loc)
			}
			if tt.wantSub == "" {
				return
			}
			u, err := url.Parse(loc)
			if err != nil {
				t.Fatal(err)
			}
			tr := tokenReq()
			tr.body = url.Values{"grant_type": {"authorization_code"}, "code": {u.Query().Get("code")},
				"code_verifier": {verifier}}.Encode()
			tresp := do(f.h.ServeFastHTTP, tr)
			var body struct {
				AccessToken string `json:"access_token"`
			}
			if err := json.Unmarshal(tresp.Body(), &body); err != nil || body.AccessToken == "" {
				t.Fatalf("code exchange: %d %s", tresp.StatusCode(), tresp.Body())
			}
			c, err := opener.Open(body.AccessToken)
			if err != nil {
				t.Fatal(err)
			}
			if c.Subject != tt.wantSub || c.AuthTime.IsZero() {
				t.Fatalf("sub = %q auth_time %v, want %q with auth_time", c.Subject, c.AuthTime, tt.wantSub)
			}
		})
	}
}

func TestNewTrustedHeaderRefuses(t *testing.T) {
	tests := []struct {
		name    string
		header  string
		proxies []netip.Prefix
	}{
		{name: "no header name", header: "", proxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}},
		{name: "no proxies: the header would be believed from nobody", header: "X-Remote-User"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := server.NewTrustedHeader(tt.header, tt.proxies, nil, nil, nil); err == nil {
				t.Fatal("no error")
			}
		})
	}
}
