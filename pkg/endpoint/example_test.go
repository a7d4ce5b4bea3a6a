package endpoint_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log"
	"net/netip"
	"net/url"
	"time"

	"github.com/sealedtoken/issuer/pkg/endpoint"
	"github.com/sealedtoken/issuer/pkg/keys"
	"github.com/sealedtoken/issuer/pkg/secret"
	"github.com/sealedtoken/issuer/pkg/store/memory"
)

// exampleServer builds a Server the way an embedding program does: a key
// ring per audience plus the internal ring, a client list, and a store.
func exampleServer() *endpoint.Server {
	now := time.Now()
	ring := func(name string) *keys.Ring {
		k, err := keys.Generate(keys.A256KW, keys.Lifecycle{
			Created: now, Activates: now, Retires: now.Add(24 * time.Hour), Expires: now.Add(48 * time.Hour),
		})
		if err != nil {
			log.Fatal(err)
		}
		set, err := keys.NewSet(name, k)
		if err != nil {
			log.Fatal(err)
		}
		return keys.NewRing(set)
	}
	hash, err := secret.Parse(secret.NewSHA256("s3cret-from-issuer-client-new"))
	if err != nil {
		log.Fatal(err)
	}
	clients, err := endpoint.NewStaticClients(
		&endpoint.Client{
			ID: "backend", Secret: hash,
			GrantTypes: []endpoint.GrantType{endpoint.GrantClientCredentials},
			Scopes:     []string{"read", "write"}, DefaultScopes: []string{"read"},
		},
	)
	if err != nil {
		log.Fatal(err)
	}
	st, err := memory.New()
	if err != nil {
		log.Fatal(err)
	}
	srv, err := endpoint.New("https://issuer.example.com",
		endpoint.Rings{
			Internal:  ring(keys.InternalRing),
			Audiences: map[string]*keys.Ring{"https://api.example.com": ring("https://api.example.com")},
			Default:   "https://api.example.com",
		},
		clients, st, endpoint.WithScopesSupported("read", "write"),
		// A resource server of the audience: it may introspect (and
		// revoke) the audience's access tokens.
		endpoint.WithResourceServers(&endpoint.ResourceServer{
			ID: "api-gateway", Secret: hash, Audiences: []string{"https://api.example.com"},
		}))
	if err != nil {
		log.Fatal(err)
	}
	return srv
}

// exampleRequest is what an adapter builds from its HTTP request.
func exampleRequest(path, form, clientID string) *endpoint.Request {
	return &endpoint.Request{
		Method:     "POST",
		URI:        path,
		Secure:     true, // arrived over TLS
		RemoteAddr: netip.MustParseAddr("192.0.2.10"),
		Header: endpoint.Headers{
			{Name: "Content-Type", Value: "application/x-www-form-urlencoded"},
			// client_secret_basic: form-urlencoded id and secret (RFC 6749 §2.3.1).
			{Name: "Authorization", Value: "Basic " + basicCredentials(clientID, "s3cret-from-issuer-client-new")},
		},
		Body: []byte(form),
	}
}

// basicCredentials encodes client_secret_basic credentials: id and secret
// form-urlencoded, joined by a colon, then base64 (RFC 6749 §2.3.1).
func basicCredentials(id, sec string) string {
	return base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id) + ":" + url.QueryEscape(sec)))
}

// The token endpoint answers a client_credentials request (RFC 6749 §4.4)
// with an encrypted access token. The adapter writes resp.Status,
// resp.Header and resp.Body as they are, and logs res.
func ExampleServer_Token() {
	srv := exampleServer()
	resp, res := srv.Token(context.Background(), exampleRequest("/token", "grant_type=client_credentials&scope=read+write", "backend"))

	var tok struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if err := json.Unmarshal(resp.Body, &tok); err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.Status, resp.Header.Get("Cache-Control"), tok.TokenType, tok.ExpiresIn)
	fmt.Println(res.ClientID, res.GrantType, res.Audience, res.Err == nil)
	// Output:
	// 200 no-store Bearer 600
	// backend client_credentials https://api.example.com true
}

// A resource server that cannot decrypt tokens itself asks the
// introspection endpoint (RFC 7662), authenticating as a confidential
// client does; it sees the access tokens of its audiences (RFC 7662 §4).
func ExampleServer_Introspect() {
	srv := exampleServer()
	ctx := context.Background()
	resp, _ := srv.Token(ctx, exampleRequest("/token", "grant_type=client_credentials", "backend"))
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(resp.Body, &tok); err != nil {
		log.Fatal(err)
	}

	resp, _ = srv.Introspect(ctx, exampleRequest("/introspect", "token="+tok.AccessToken, "api-gateway"))
	var info struct {
		Active   bool   `json:"active"`
		ClientID string `json:"client_id"`
		Scope    string `json:"scope"`
		Aud      string `json:"aud"`
	}
	if err := json.Unmarshal(resp.Body, &info); err != nil {
		log.Fatal(err)
	}
	fmt.Println(info.Active, info.ClientID, info.Scope, info.Aud)

	resp, _ = srv.Introspect(ctx, exampleRequest("/introspect", "token=not-a-token", "api-gateway"))
	fmt.Println(string(resp.Body))
	// Output:
	// true backend read https://api.example.com
	// {"active":false}
}

// A client revokes a token it no longer needs (RFC 7009); introspection
// reports it inactive from then on.
func ExampleServer_Revoke() {
	srv := exampleServer()
	ctx := context.Background()
	resp, _ := srv.Token(ctx, exampleRequest("/token", "grant_type=client_credentials", "backend"))
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(resp.Body, &tok); err != nil {
		log.Fatal(err)
	}

	resp, _ = srv.Revoke(ctx, exampleRequest("/revoke", "token_type_hint=access_token&token="+tok.AccessToken, "backend"))
	fmt.Println(resp.Status, len(resp.Body))
	resp, _ = srv.Introspect(ctx, exampleRequest("/introspect", "token="+tok.AccessToken, "api-gateway"))
	fmt.Println(string(resp.Body))
	// Output:
	// 200 0
	// {"active":false}
}

// The metadata document (RFC 8414) is served at
// /.well-known/oauth-authorization-server.
func ExampleServer_Metadata() {
	resp := exampleServer().Metadata()
	var md struct {
		Issuer        string   `json:"issuer"`
		TokenEndpoint string   `json:"token_endpoint"`
		Scopes        []string `json:"scopes_supported"`
	}
	if err := json.Unmarshal(resp.Body, &md); err != nil {
		log.Fatal(err)
	}
	fmt.Println(md.Issuer, md.TokenEndpoint, md.Scopes)
	// Output: https://issuer.example.com https://issuer.example.com/token [read write]
}

// Errors follow RFC 6749 §5.2: a JSON body with error and
// error_description, 401 with WWW-Authenticate for a failed client
// authentication; Result.Err keeps the internal cause for the log.
func ExampleServer_Token_error() {
	srv := exampleServer()
	req := exampleRequest("/token", "grant_type=client_credentials", "backend")
	req.Header = endpoint.Headers{
		{Name: "Content-Type", Value: "application/x-www-form-urlencoded"},
		{Name: "Authorization", Value: "Basic " + basicCredentials("backend", "wrong")},
	}
	resp, res := srv.Token(context.Background(), req)
	fmt.Println(resp.Status, resp.Header.Get("WWW-Authenticate"))
	fmt.Println(string(resp.Body))
	fmt.Println(res.Err.Code)
	// Output:
	// 401 Basic realm="oauth", charset="UTF-8"
	// {"error":"invalid_client","error_description":"client authentication failed"}
	// invalid_client
}
