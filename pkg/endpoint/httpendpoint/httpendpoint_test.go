package httpendpoint_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sealedtoken/issuer/pkg/endpoint"
	"github.com/sealedtoken/issuer/pkg/endpoint/httpendpoint"
)

const issuer = "https://issuer.example.com"

func TestReadRequest(t *testing.T) {
	tests := []struct {
		name   string
		req    func() *http.Request
		max    int64
		status int // of the error; 0 for success
		check  func(t *testing.T, er *endpoint.Request)
	}{
		{
			name: "TLS, address, header and body",
			req: func() *http.Request {
				r := httptest.NewRequest("POST", "https://issuer.example.com/token?tenant=a", strings.NewReader("grant_type=client_credentials"))
				r.RemoteAddr = "[::ffff:192.0.2.1]:4431"
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				return r
			},
			check: func(t *testing.T, er *endpoint.Request) {
				assert.Equal(t, "POST", er.Method)
				assert.Equal(t, "https://issuer.example.com/token?tenant=a", er.URI, "the request-target as received (here absolute-form)")
				assert.True(t, er.Secure)
				assert.Equal(t, netip.MustParseAddr("192.0.2.1"), er.RemoteAddr, "IPv4-mapped addresses are unmapped")
				assert.Equal(t, "application/x-www-form-urlencoded", er.Header.Get("content-type"))
				assert.Equal(t, "grant_type=client_credentials", string(er.Body))
			},
		},
		{
			name: "plain HTTP is not Secure; an unparsable RemoteAddr is the zero address",
			req: func() *http.Request {
				r := httptest.NewRequest("GET", "http://issuer.example.com/token", nil)
				r.RemoteAddr = "pipe"
				return r
			},
			check: func(t *testing.T, er *endpoint.Request) {
				assert.False(t, er.Secure)
				assert.False(t, er.RemoteAddr.IsValid())
				assert.Empty(t, er.Body)
			},
		},
		{
			name: "a fragment sent in the request-target is kept for the endpoint to refuse",
			req: func() *http.Request {
				r := httptest.NewRequest("POST", "https://issuer.example.com/token", nil)
				r.RequestURI = "/token#x"
				return r
			},
			check: func(t *testing.T, er *endpoint.Request) { assert.Equal(t, "/token#x", er.URI) },
		},
		{
			name: "body over the limit is 413 (declared length)",
			req: func() *http.Request {
				return httptest.NewRequest("POST", "https://issuer.example.com/token", strings.NewReader(strings.Repeat("a", 101)))
			},
			max: 100, status: 413,
		},
		{
			name: "body over the limit is 413 (unknown length)",
			req: func() *http.Request {
				r := httptest.NewRequest("POST", "https://issuer.example.com/token", io.NopCloser(strings.NewReader(strings.Repeat("a", 101))))
				r.ContentLength = -1
				return r
			},
			max: 100, status: 413,
		},
		{
			name: "body shorter than Content-Length is 400",
			req: func() *http.Request {
				r := httptest.NewRequest("POST", "https://issuer.example.com/token", io.NopCloser(strings.NewReader("abc")))
				r.ContentLength = 10
				return r
			},
			status: 400,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			er, e := httpendpoint.ReadRequest(httptest.NewRecorder(), tc.req(), tc.max)
			if tc.status != 0 {
				require.NotNil(t, e)
				assert.Equal(t, tc.status, e.HTTPStatus())
				assert.ErrorIs(t, e, endpoint.InvalidRequest)
				return
			}
			require.Nil(t, e)
			tc.check(t, er)
		})
	}
}

func TestHandlers(t *testing.T) {
	srv := newServer(t, issuer)
	var mu sync.Mutex
	var results []endpoint.Result
	ts := newTLS(t, srv, httpendpoint.WithMaxBodyBytes(1024), httpendpoint.WithResultFunc(func(_ *http.Request, res endpoint.Result) {
		mu.Lock()
		results = append(results, res)
		mu.Unlock()
	}))
	client := ts.Client()
	post := func(path, body string, auth ...string) *http.Response {
		req, err := http.NewRequest("POST", ts.URL+path, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if len(auth) == 2 {
			req.SetBasicAuth(url.QueryEscape(auth[0]), url.QueryEscape(auth[1]))
		}
		resp, err := client.Do(req)
		require.NoError(t, err)
		t.Cleanup(func() { _ = resp.Body.Close() })
		return resp
	}
	readJSON := func(resp *http.Response) map[string]any {
		var m map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&m))
		return m
	}

	t.Run("RFC 6749 §5.1 token response over HTTP", func(t *testing.T) {
		resp := post("/token", "grant_type=client_credentials", "backend", backendSecret)
		require.Equal(t, 200, resp.StatusCode)
		assert.Equal(t, "application/json;charset=UTF-8", resp.Header.Get("Content-Type"))
		assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
		assert.Equal(t, "no-cache", resp.Header.Get("Pragma"))
		assert.Equal(t, "Bearer", readJSON(resp)["token_type"])
	})
	t.Run("RFC 6749 §5.2 invalid_client is 401 with WWW-Authenticate", func(t *testing.T) {
		resp := post("/token", "grant_type=client_credentials", "backend", "wrong")
		assert.Equal(t, 401, resp.StatusCode)
		assert.Contains(t, resp.Header.Get("WWW-Authenticate"), "Basic")
		assert.Equal(t, "invalid_client", readJSON(resp)["error"])
	})
	t.Run("RFC 6749 §3.2 GET is 405 with Allow", func(t *testing.T) {
		resp, err := client.Get(ts.URL + "/token")
		require.NoError(t, err)
		defer resp.Body.Close()
		assert.Equal(t, 405, resp.StatusCode)
		assert.Equal(t, "POST", resp.Header.Get("Allow"))
	})
	t.Run("body over WithMaxBodyBytes is 413 invalid_request", func(t *testing.T) {
		resp := post("/token", "grant_type=client_credentials&pad="+strings.Repeat("x", 2000), "backend", backendSecret)
		assert.Equal(t, 413, resp.StatusCode)
		assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
		assert.Equal(t, "invalid_request", readJSON(resp)["error"])
	})
	t.Run("RFC 7662 introspection and RFC 7009 revocation over HTTP", func(t *testing.T) {
		var tok struct {
			AccessToken string `json:"access_token"`
		}
		resp := post("/token", "grant_type=client_credentials", "backend", backendSecret)
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&tok))
		m := readJSON(post("/introspect", "token="+tok.AccessToken, "rs", rsSecret))
		assert.Equal(t, true, m["active"])
		resp = post("/revoke", "token="+tok.AccessToken, "backend", backendSecret)
		assert.Equal(t, 200, resp.StatusCode)
		assert.Equal(t, "0", resp.Header.Get("Content-Length"))
		assert.Equal(t, map[string]any{"active": false}, readJSON(post("/introspect", "token="+tok.AccessToken, "rs", rsSecret)))
	})
	t.Run("RFC 8414 §3 metadata at the well-known URI", func(t *testing.T) {
		resp, err := client.Get(ts.URL + "/.well-known/oauth-authorization-server")
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, 200, resp.StatusCode)
		assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
		assert.Equal(t, issuer+"/token", readJSON(resp)["token_endpoint"])
		resp, err = client.Post(ts.URL+"/.well-known/oauth-authorization-server", "text/plain", nil)
		require.NoError(t, err)
		defer resp.Body.Close()
		assert.Equal(t, 405, resp.StatusCode)
		assert.Equal(t, "GET, HEAD", resp.Header.Get("Allow"))
	})

	mu.Lock()
	defer mu.Unlock()
	require.NotEmpty(t, results)
	assert.Equal(t, "backend", results[0].ClientID)
	assert.Equal(t, endpoint.GrantClientCredentials, results[0].GrantType)
	assert.NotEmpty(t, results[0].JTI)
	last413 := false
	for _, r := range results {
		last413 = last413 || (r.Err != nil && r.Err.HTTPStatus() == 413)
	}
	assert.True(t, last413, "the adapter's own 413 is reported too")
}

// TestPlainHTTPRefused: a handler on a plain listener refuses every token
// request (RFC 6749 §3.2), and trusts X-Forwarded-Proto only from the
// configured proxy.
func TestPlainHTTPRefused(t *testing.T) {
	tests := []struct {
		name   string
		opts   []endpoint.Option
		status int
	}{
		{name: "RFC 6749 §3.2 no TLS, no trusted proxy", status: 400},
		{name: "RFC 6749 §3.2 X-Forwarded-Proto from the trusted loopback proxy", opts: []endpoint.Option{endpoint.WithTrustedProxies(netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128"))}, status: 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, issuer, tc.opts...)
			ts := httptest.NewServer(httpendpoint.Token(srv))
			defer ts.Close()
			req, err := http.NewRequest("POST", ts.URL, strings.NewReader("grant_type=client_credentials"))
			require.NoError(t, err)
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("X-Forwarded-Proto", "https")
			req.SetBasicAuth("backend", backendSecret)
			resp, err := ts.Client().Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			assert.Equal(t, tc.status, resp.StatusCode)
		})
	}
}

// TestRegisterIssuerWithPath: RFC 8414 §3.1 puts the issuer's path after
// the well-known prefix, and the endpoints under the issuer's path.
func TestRegisterIssuerWithPath(t *testing.T) {
	srv := newServer(t, "https://idp.example.com/tenant-a/")
	mux := http.NewServeMux()
	httpendpoint.Register(mux, srv)
	for path, want := range map[string]int{
		"/.well-known/oauth-authorization-server/tenant-a": 200,
		"/.well-known/oauth-authorization-server":          404,
		"/tenant-a/token":     405, // GET on the token endpoint
		"/tenant-a/authorize": 404, // no ResourceOwner given
	} {
		rec := httptest.NewRecorder()
		r := httptest.NewRequest("GET", "https://idp.example.com"+path, nil)
		r.TLS = &tls.ConnectionState{}
		mux.ServeHTTP(rec, r)
		assert.Equal(t, want, rec.Code, path)
	}
}

// TestCredentialsReachHooks: WithCredentials feeds Request.Credentials,
// which the endpoint hands to its hooks.
func TestCredentialsReachHooks(t *testing.T) {
	var seen any
	srv := newServer(t, issuer, endpoint.WithHooks(endpoint.Hooks{ValidateTokenRequest: func(_ context.Context, tr *endpoint.TokenRequest) error {
		seen = tr.Credentials["host"]
		return nil
	}}))
	h := httpendpoint.Token(srv, httpendpoint.WithCredentials(func(r *http.Request) map[string]any {
		return map[string]any{"host": r.Host}
	}))
	r := httptest.NewRequest("POST", "https://tenant7.example.com/token", strings.NewReader("grant_type=client_credentials"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.SetBasicAuth("backend", backendSecret)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	require.Equal(t, 200, rec.Code, rec.Body.String())
	assert.Equal(t, "tenant7.example.com", seen)
}
