package login_test

import (
	"context"
	"encoding/json"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/sealedtoken/issuer/pkg/endpoint"
)

// TestPushedRequestThroughTheLoginPage: a pushed authorization request
// (RFC 9126) goes through the real login and consent forms: the
// request_uri is spent at the first GET, the forms carry the pushed request
// sealed, and their CSRF tokens and ticket bind to it across the round
// trips (pkg/endpoint's TestPARThroughTheLoginPage shows the same after
// the request_uri has expired).
func TestPushedRequestThroughTheLoginPage(t *testing.T) {
	f := newFixture(t, fxOptions{})
	push := url.Values{"client_id": {"webapp"}, "client_secret": {fxWebappSecret}, "response_type": {"code"},
		"redirect_uri": {fxWebappCB}, "scope": {"profile read"}, "state": {"pushed"},
		"code_challenge": {fxChallenge}, "code_challenge_method": {"S256"}}
	resp, res := f.srv.PushedAuthorization(context.Background(), &endpoint.Request{Method: "POST", URI: "/par", Secure: true,
		RemoteAddr: netip.MustParseAddr("192.0.2.99"), Header: endpoint.Headers{{Name: "Content-Type", Value: "application/x-www-form-urlencoded"}},
		Body: []byte(push.Encode())})
	if resp.Status != 201 {
		t.Fatalf("push: %d %s (%v)", resp.Status, resp.Body, res.Err)
	}
	var pushed struct {
		RequestURI string `json:"request_uri"`
	}
	if err := json.Unmarshal(resp.Body, &pushed); err != nil {
		t.Fatal(err)
	}
	b := f.browser()
	page := b.get(t, url.Values{"client_id": {"webapp"}, "request_uri": {pushed.RequestURI}})
	if page.Status != 200 || !strings.Contains(string(page.Body), `id="login-form"`) {
		t.Fatalf("login page: %d\n%s", page.Status, page.Body)
	}
	v := form(t, page)
	if v.Get("request_uri") == pushed.RequestURI || v.Get("state") != "pushed" {
		t.Fatalf("the form carries %v", v)
	}
	v.Set("username", "alice")
	v.Set("password", fxAlicePassword)
	consent := b.post(t, v)
	if !strings.Contains(string(consent.Body), `id="consent-form"`) {
		t.Fatalf("consent page: %d\n%s", consent.Status, consent.Body)
	}
	c := form(t, consent)
	c.Set("login_action", "allow")
	u := location(t, b.post(t, c))
	if u.Query().Get("state") != "pushed" || u.Query().Get("code") == "" {
		t.Fatalf("redirect %s", u)
	}
	claims := f.exchange(t, "webapp", fxWebappCB, u.Query().Get("code"))
	if claims.Subject != "u-1001" || claims.Scope != "profile read" {
		t.Fatalf("claims %+v", claims)
	}
	// The request_uri was spent at the first GET.
	again := b.get(t, url.Values{"client_id": {"webapp"}, "request_uri": {pushed.RequestURI}})
	if again.Status != 400 || !strings.Contains(string(again.Body), "invalid_request_uri") {
		t.Fatalf("reuse: %d\n%s", again.Status, again.Body)
	}
}
