package bench

// In-process benchmarks of the token, introspection endpoints (SPEC §8):
// Server.Token and Server.Introspect called on a prepared endpoint.Request,
// with no HTTP in between, so the figures are the endpoint's own cost per
// token. Figures and the exact command are in RESULTS-endpoint.md.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/netip"
	"net/url"
	"testing"
	"time"

	"github.com/sealedtoken/issuer/pkg/endpoint"
	"github.com/sealedtoken/issuer/pkg/keys"
	"github.com/sealedtoken/issuer/pkg/secret"
	"github.com/sealedtoken/issuer/pkg/store/memory"
)

const (
	epSecret   = "bench-secret-0123456789abcdefghij"
	epRedirect = "https://app.example.com/cb"
)

// epServer builds an endpoint.Server with a sha256 client ("sha"), a
// bcrypt (cost 10) client ("bcrypt") allowed client_credentials, and a web
// client ("web") allowed refresh tokens and the password grant. With
// status, every token carries a Token Status List entry (SPEC §9) from a
// LocalStatusAllocator of 2^20-entry lists, as cmd/issuer issues them.
func epServer(b *testing.B, status ...bool) *endpoint.Server {
	b.Helper()
	now := time.Now()
	ring := func(name string) *keys.Ring {
		m := sha256.Sum256([]byte("bench " + name))
		k, err := keys.NewKey("k-"+base64.RawURLEncoding.EncodeToString(m[:6]), keys.A256KW, m[:], keys.Lifecycle{
			Created: now.Add(-time.Hour), Activates: now.Add(-time.Hour), Retires: now.Add(24 * time.Hour), Expires: now.Add(48 * time.Hour),
		})
		if err != nil {
			b.Fatal(err)
		}
		set, err := keys.NewSet(name, k)
		if err != nil {
			b.Fatal(err)
		}
		return keys.NewRing(set)
	}
	parse := func(enc string, err error) secret.Hash {
		if err != nil {
			b.Fatal(err)
		}
		h, err := secret.Parse(enc)
		if err != nil {
			b.Fatal(err)
		}
		return h
	}
	sha := parse(secret.NewSHA256(epSecret), nil)
	bc := parse(secret.NewBcrypt(epSecret, 10))
	cc := []endpoint.GrantType{endpoint.GrantClientCredentials}
	clients, err := endpoint.NewStaticClients(
		&endpoint.Client{ID: "sha", Secret: sha, GrantTypes: cc, Scopes: []string{"read", "write"}, DefaultScopes: []string{"read"}},
		&endpoint.Client{ID: "bcrypt", Secret: bc, GrantTypes: cc, Scopes: []string{"read", "write"}, DefaultScopes: []string{"read"}},
		&endpoint.Client{
			ID: "web", Secret: sha, RedirectURIs: []string{epRedirect},
			GrantTypes: []endpoint.GrantType{endpoint.GrantPassword, endpoint.GrantRefreshToken},
			Scopes:     []string{"read"}, DefaultScopes: []string{"read"},
		},
	)
	if err != nil {
		b.Fatal(err)
	}
	st, err := memory.New()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = st.Close() })
	rings := endpoint.Rings{
		Internal:  ring(keys.InternalRing),
		Audiences: map[string]*keys.Ring{benchAudience: ring(benchAudience)},
		Default:   benchAudience,
	}
	opts := []endpoint.Option{endpoint.WithUsers(epUsers{})}
	if len(status) > 0 && status[0] {
		set, err := keys.NewSetFromPolicy(keys.SigningRing, now.Add(-time.Minute),
			keys.Policy{Alg: keys.ES256, RotateEvery: 24 * time.Hour, Propagation: time.Hour, MaxTokenTTL: 25 * time.Hour})
		if err != nil {
			b.Fatal(err)
		}
		rings.Signing = keys.NewRing(set)
		paths := endpoint.DefaultPaths
		paths.StatusLists = "/statuslists"
		alloc, err := endpoint.NewStatusAllocator(st, endpoint.StatusListURIPrefix(benchIssuer, paths))
		if err != nil {
			b.Fatal(err)
		}
		opts = append(opts, endpoint.WithPaths(paths), endpoint.WithStatusLists(alloc, endpoint.DefaultStatusListTTL))
	}
	srv, err := endpoint.New(benchIssuer, rings, clients, st, opts...)
	if err != nil {
		b.Fatal(err)
	}
	return srv
}

// epUsers knows one user, for the password grant that starts a refresh
// family.
type epUsers struct{}

func (epUsers) AuthenticateUser(_ context.Context, u, p string) (string, error) {
	if u == "alice" && p == "wonderland" {
		return "u-1", nil
	}
	return "", endpoint.ErrBadCredentials
}

// epRequest is a form POST over TLS, authenticated with client_secret_basic.
func epRequest(path, form, client string) *endpoint.Request {
	return &endpoint.Request{
		Method: "POST", URI: path, Secure: true,
		RemoteAddr: netip.MustParseAddr("192.0.2.1"),
		Header: endpoint.Headers{
			{Name: "Content-Type", Value: "application/x-www-form-urlencoded"},
			{Name: "Authorization", Value: "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(client)+":"+url.QueryEscape(epSecret)))},
		},
		Body: []byte(form),
	}
}

// jsonMember returns the string member name of a flat JSON object written
// by the endpoint (no escapes in tokens).
func jsonMember(body []byte, name string) string {
	key := []byte(`"` + name + `":"`)
	i := bytes.Index(body, key)
	if i < 0 {
		return ""
	}
	rest := body[i+len(key):]
	return string(rest[:bytes.IndexByte(rest, '"')])
}

// BenchmarkTokenEndpoint measures Server.Token per grant, without and with
// Token Status List entries in the tokens (status=off|on, SPEC §9: an
// index from an atomic counter, the status claim in the sealed payload;
// a refresh also keeps its family's list registered). For
// client_credentials, secret=sha256 is the high-entropy secret "issuer
// client new" makes; secret=bcrypt is a bcrypt cost-10 secret answered from
// the verifier's cache after the first request (SPEC §6). refresh_token
// rotates one family, each iteration presenting the token the previous one
// got, so it includes the store's RotateRefresh and sealing two tokens.
func BenchmarkTokenEndpoint(b *testing.B) {
	for _, status := range []bool{false, true} {
		name := "status=off"
		if status {
			name = "status=on"
		}
		b.Run(name, func(b *testing.B) { benchTokenEndpoint(b, status) })
	}
}

func benchTokenEndpoint(b *testing.B, status bool) {
	ctx := context.Background()
	for _, tc := range []struct{ name, client string }{
		{"grant=client_credentials/secret=sha256", "sha"},
		{"grant=client_credentials/secret=bcrypt", "bcrypt"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			srv := epServer(b, status)
			req := epRequest("/token", "grant_type=client_credentials&scope=read+write", tc.client)
			cpuLoop(b, func() error {
				resp, _ := srv.Token(ctx, req)
				if resp.Status != 200 {
					return fmt.Errorf("status %d: %s", resp.Status, resp.Body)
				}
				return nil
			})
		})
	}
	b.Run("grant=refresh_token/secret=sha256", func(b *testing.B) {
		srv := epServer(b, status)
		resp, _ := srv.Token(ctx, epRequest("/token", "grant_type=password&username=alice&password=wonderland", "web"))
		rt := jsonMember(resp.Body, "refresh_token")
		if rt == "" {
			b.Fatalf("no refresh token: %s", resp.Body)
		}
		req := epRequest("/token", "", "web")
		cpuLoop(b, func() error {
			req.Body = append(append(req.Body[:0], "grant_type=refresh_token&refresh_token="...), rt...)
			resp, _ := srv.Token(ctx, req)
			if resp.Status != 200 {
				return fmt.Errorf("status %d: %s", resp.Status, resp.Body)
			}
			rt = jsonMember(resp.Body, "refresh_token")
			return nil
		})
	})
}

// BenchmarkIntrospect measures Server.Introspect on an active access token
// (open, two store lookups, the JSON answer) and on garbage (the cheap
// inactive path).
func BenchmarkIntrospect(b *testing.B) {
	ctx := context.Background()
	srv := epServer(b)
	resp, _ := srv.Token(ctx, epRequest("/token", "grant_type=client_credentials", "sha"))
	at := jsonMember(resp.Body, "access_token")
	for _, tc := range []struct{ name, token string }{
		{"token=access", at},
		{"token=garbage", "eyJraWQiOiJub3BlIn0.a.b.c.d"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			req := epRequest("/introspect", "token="+tc.token, "sha")
			b.ReportAllocs()
			for b.Loop() {
				resp, _ := srv.Introspect(ctx, req)
				if resp.Status != 200 {
					b.Fatalf("status %d: %s", resp.Status, resp.Body)
				}
			}
		})
	}
}
