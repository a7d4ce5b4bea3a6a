package server_test

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzHandler sends arbitrary methods, paths, headers and bodies through
// the handler: it must never panic, never answer 500 (SPEC §5: "never 500
// for bad input"), and every JSON error body must be valid JSON.
func FuzzHandler(f *testing.F) {
	f.Add("POST", "/token", "application/x-www-form-urlencoded", "Basic YmFja2VuZDp4", "grant_type=client_credentials")
	f.Add("POST", "/token", "application/x-www-form-urlencoded", "", "grant_type=authorization_code&code=a.b.c.d.e&client_id=backend")
	f.Add("GET", "/authorize?response_type=code&client_id=backend&redirect_uri=https%3A%2F%2Fapp.test%2Fcb", "", "", "")
	f.Add("POST", "/introspect", "application/x-www-form-urlencoded; charset=utf-8", "Basic %%%", "token=x&token=y")
	f.Add("POST", "/revoke", "text/plain", "Bearer abc", "\x00\xff")
	f.Add("GET", "/.well-known/oauth-authorization-server", "", "", "")
	f.Add("BREW", "/token#frag", "", "", "")
	f.Fuzz(func(t *testing.T, method, uri, contentType, authz, body string) {
		if method == "" || strings.ContainsAny(method, " \r\n") {
			method = "POST"
		}
		fx := fuzzFixture(t)
		resp := do(fx.h.ServeFastHTTP, req{method: method, uri: "/" + strings.TrimPrefix(uri, "/"), body: body, header: map[string]string{
			"Content-Type": contentType, "Authorization": authz, "X-Forwarded-Proto": "https",
		}})
		if resp.StatusCode() >= 500 && resp.StatusCode() != 503 {
			t.Fatalf("status %d for %s %q: %s", resp.StatusCode(), method, uri, resp.Body())
		}
		if strings.HasPrefix(string(resp.Header.ContentType()), "application/json") && len(resp.Body()) > 0 && !json.Valid(resp.Body()) {
			t.Fatalf("invalid JSON body %q", resp.Body())
		}
	})
}

var sharedFuzz *fixture

// fuzzFixture shares one fixture across fuzz iterations: building key
// rings per input would dominate the run.
func fuzzFixture(t *testing.T) *fixture {
	if sharedFuzz == nil {
		sharedFuzz = newFixture(t, fixtureOpts{})
	}
	sharedFuzz.log.Reset()
	return sharedFuzz
}
