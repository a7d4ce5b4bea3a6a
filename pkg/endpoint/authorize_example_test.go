package endpoint_test

import (
	"context"
	"fmt"
	"html"
	"log"
	"net/netip"
	"net/url"
	"time"

	"github.com/sealedtoken/issuer/pkg/endpoint"
	"github.com/sealedtoken/issuer/pkg/keys"
	"github.com/sealedtoken/issuer/pkg/store/memory"
)

// trustedHeaderOwner is an embedding server's ResourceOwner: it believes the
// user named by a header that an authenticating proxy at a known address
// sets, and otherwise shows a login page that posts back to /authorize with
// the request's parameters.
type trustedHeaderOwner struct {
	proxy netip.Prefix
}

func (o trustedHeaderOwner) Decide(_ context.Context, r *endpoint.Request, ar *endpoint.AuthorizeRequest) (endpoint.Decision, error) {
	if user := r.Header.Get("X-Remote-User"); user != "" && o.proxy.Contains(r.RemoteAddr) {
		if !ar.Client.SkipConsent {
			// A consent page would list ar.Scopes for ar.ClientID() and
			// ar.RedirectHost() here; this example approves a subset.
			return endpoint.Approve(endpoint.Grant{Subject: user, Scopes: ar.Scopes[:1], AuthTime: time.Now()}), nil
		}
		return endpoint.Approve(endpoint.Grant{Subject: user, AuthTime: time.Now()}), nil
	}
	page := "<!DOCTYPE html><title>Sign in</title><form method=post action=/authorize>" +
		"<p>Sign in to continue to " + html.EscapeString(ar.RedirectHost()) + "</p>" // hidden fields, CSRF token, ...
	return endpoint.Interact(&endpoint.Response{Status: 200, Header: endpoint.Headers{
		{Name: "Content-Type", Value: "text/html; charset=utf-8"},
		{Name: "Cache-Control", Value: "no-store"},
		{Name: "X-Frame-Options", Value: "DENY"},
	}, Body: []byte(page)}), nil
}

// ExampleServer_HandleAuthorize shows an embedding server handling the
// authorization endpoint in one call, with its own ResourceOwner.
func ExampleServer_HandleAuthorize() {
	ring := func(name string) *keys.Ring {
		now := time.Now()
		k, err := keys.Generate(keys.A256KW, keys.Lifecycle{Created: now, Activates: now, Retires: now.Add(24 * time.Hour), Expires: now.Add(48 * time.Hour)})
		if err != nil {
			log.Fatal(err)
		}
		set, err := keys.NewSet(name, k)
		if err != nil {
			log.Fatal(err)
		}
		return keys.NewRing(set)
	}
	clients, err := endpoint.NewStaticClients(&endpoint.Client{
		ID:            "spa",
		Public:        true,
		RedirectURIs:  []string{"https://app.example.com/cb"},
		GrantTypes:    []endpoint.GrantType{endpoint.GrantAuthorizationCode, endpoint.GrantRefreshToken},
		Scopes:        []string{"read", "write"},
		DefaultScopes: []string{"read"},
	})
	if err != nil {
		log.Fatal(err)
	}
	st, err := memory.New()
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	srv, err := endpoint.New("https://issuer.example.com", endpoint.Rings{
		Internal:  ring("internal"),
		Audiences: map[string]*keys.Ring{"https://api.example.com": ring("api")},
		Default:   "https://api.example.com",
	}, clients, st)
	if err != nil {
		log.Fatal(err)
	}
	owner := trustedHeaderOwner{proxy: netip.MustParsePrefix("10.0.0.0/8")}

	// The adapter builds an endpoint.Request from its HTTP request.
	query := "response_type=code&client_id=spa&state=af0ifjsldkj&scope=read+write" +
		"&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256"
	req := &endpoint.Request{Method: "GET", URI: "/authorize?" + query, Secure: true,
		RemoteAddr: netip.MustParseAddr("10.0.0.7"), Header: endpoint.Headers{}}

	// Not logged in: the login page.
	resp, res := srv.HandleAuthorize(context.Background(), req, owner)
	fmt.Println(resp.Status, res.ClientID, res.Err)

	// Logged in at the proxy: a redirect with a code.
	req.Header = endpoint.Headers{{Name: "X-Remote-User", Value: "u-1001"}}
	resp, res = srv.HandleAuthorize(context.Background(), req, owner)
	for _, h := range resp.Header {
		if h.Name == "Location" {
			u, _ := url.Parse(h.Value)
			q := u.Query()
			fmt.Println(resp.Status, u.Host+u.Path, "state="+q.Get("state"), "code?", q.Get("code") != "")
		}
	}
	fmt.Println(res.ClientID, res.GrantType, res.Audience, res.Err)

	// An unregistered redirect_uri: an error page, never a redirect.
	req.URI = "/authorize?" + query + "&redirect_uri=https%3A%2F%2Fevil.example.com%2F"
	resp, res = srv.HandleAuthorize(context.Background(), req, owner)
	fmt.Println(resp.Status, res.Err.Code)
	// Output:
	// 200 spa <nil>
	// 302 app.example.com/cb state=af0ifjsldkj code? true
	// spa authorization_code https://api.example.com <nil>
	// 400 invalid_request
}
