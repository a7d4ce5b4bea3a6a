package endpoint_test

// Fuzz targets for the SPEC §10 parsers of the endpoints: the client
// assertion and its parameters, the DPoP header with the forwarded host,
// the Client-Cert headers of a trusted proxy, and the Authorization header
// of the issuer's protected resources. Each drives the code as a request
// would and checks that nothing panics, nothing is answered 500, and
// nothing hostile is accepted.

import (
	"context"
	"strings"
	"testing"

	"github.com/sealedtoken/issuer/pkg/certbind"
	"github.com/sealedtoken/issuer/pkg/dpop"
	"github.com/sealedtoken/issuer/pkg/endpoint"
)

// fuzzStatus fails t for a status an endpoint must never answer hostile
// input with.
func fuzzStatus(t *testing.T, resp *endpoint.Response, allowed ...int) {
	t.Helper()
	for _, s := range allowed {
		if resp.Status == s {
			return
		}
	}
	t.Fatalf("status %d: %s", resp.Status, resp.Body)
}

// FuzzClientAssertion: any client_assertion_type and client_assertion are
// answered 401 invalid_client (or 400 for a malformed form), never
// accepted, never 500, and the assertion is never echoed.
func FuzzClientAssertion(f *testing.F) {
	b := newBindFixture(f)
	f.Add(endpoint.AssertionType, "eyJhbGciOiJub25lIn0.eyJpc3MiOiJwa2p3dCJ9.")
	f.Add(endpoint.AssertionType, "a.b.c")
	f.Add("urn:x", "")
	f.Fuzz(func(t *testing.T, typ, assertion string) {
		bodyText := form("grant_type", "client_credentials", "client_assertion_type", typ, "client_assertion", assertion)
		resp, res := b.srv.Token(context.Background(), request("/token", bodyText))
		fuzzStatus(t, resp, 400, 401)
		if res.Err == nil {
			t.Fatal("no error")
		}
		if len(assertion) > 8 && strings.Contains(string(resp.Body), assertion) {
			t.Fatalf("the assertion is echoed: %s", resp.Body)
		}
	})
}

// FuzzDPoPProof: any DPoP header, with any X-Forwarded-Host from a trusted
// proxy, is answered invalid_dpop_proof or use_dpop_nonce (400), never
// accepted (no proof made without the fuzzer holding a key can verify),
// never 500.
func FuzzDPoPProof(f *testing.F) {
	b := newBindFixture(f)
	f.Add("eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2In0.e30.AAAA", "public.example.com")
	f.Add("..", "")
	f.Add("a.b.c", "host/with/slash")
	f.Fuzz(func(t *testing.T, proof, host string) {
		opts := []reqOpt{basic("backend", backendSecret), fromAddr(proxyAddr), header(dpop.HeaderName, proof)}
		if host != "" {
			opts = append(opts, header("X-Forwarded-Host", host))
		}
		resp, _ := b.srv.Token(context.Background(), request("/token", form("grant_type", "client_credentials"), opts...))
		fuzzStatus(t, resp, 400)
		if code := errCode(t, resp); code != endpoint.InvalidDPoPProof && code != endpoint.UseDPoPNonce {
			t.Fatalf("error %q", code)
		}
	})
}

// FuzzClientCertHeader: any Client-Cert and Client-Cert-Chain values from
// a trusted proxy are answered like a missing or wrong certificate (401),
// never accepted for the tls_client_auth client, never 500.
func FuzzClientCertHeader(f *testing.F) {
	b := newBindFixture(f)
	other, _ := b.otherCA.issue(f, mtlsDNS)
	f.Add(string(certbind.AppendHeader(nil, other)), "")
	f.Add(":AAAA:", ":AAAA:, :BBBB:")
	f.Add("", ":"+strings.Repeat("A", 100)+":")
	f.Fuzz(func(t *testing.T, cert, chain string) {
		opts := []reqOpt{fromAddr(proxyAddr)}
		if cert != "" {
			opts = append(opts, header(certbind.HeaderName, cert))
		}
		if chain != "" {
			opts = append(opts, header(certbind.ChainHeaderName, chain))
		}
		resp, _ := b.srv.Token(context.Background(), request("/token", form("grant_type", "client_credentials", "client_id", "mtls"), opts...))
		fuzzStatus(t, resp, 401)
	})
}

// FuzzAccessToken: AccessToken returns a token only for one Authorization
// field of the Bearer or DPoP scheme whose credential is one b64token,
// which ends the field.
func FuzzAccessToken(f *testing.F) {
	for _, s := range []string{"Bearer abc", "DPoP a.b.c", "dpop  x==", "Basic x", "Bearer", "DPoP a b", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		r := &endpoint.Request{Header: endpoint.Headers{{Name: "Authorization", Value: v}}}
		scheme, tok, ok, e := endpoint.AccessToken(r)
		switch {
		case e != nil:
			if ok || tok != "" || e.Code != endpoint.InvalidRequest {
				t.Fatalf("error %v with ok %v token %q", e, ok, tok)
			}
		case !ok:
			if tok != "" {
				t.Fatal("token without ok")
			}
		default:
			if scheme != "Bearer" && scheme != "DPoP" {
				t.Fatalf("scheme %q", scheme)
			}
			if tok == "" || !strings.HasSuffix(v, tok) || strings.ContainsAny(tok, " ,\"") {
				t.Fatalf("AccessToken(%q) = %q", v, tok)
			}
		}
	})
}
