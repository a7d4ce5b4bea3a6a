package httpendpoint_test

import (
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sealedtoken/issuer/pkg/endpoint"
	"github.com/sealedtoken/issuer/pkg/endpoint/httpendpoint"
	"github.com/sealedtoken/issuer/pkg/keys"
	"github.com/sealedtoken/issuer/pkg/statuslist"
	"github.com/sealedtoken/issuer/pkg/store/memory"
)

// TestRegisterStatusListsAndKeys mounts an issuer with a path
// (https://idp.example.com/tenant-a) that publishes status lists and key
// deliveries, and reads both over net/http at the URLs its metadata and
// tokens name (SPEC §9).
func TestRegisterStatusListsAndKeys(t *testing.T) {
	const iss = "https://idp.example.com/tenant-a"
	clients, err := endpoint.NewStaticClients(&endpoint.Client{
		ID: "backend", Secret: hash(t, backendSecret),
		GrantTypes: []endpoint.GrantType{endpoint.GrantClientCredentials},
		Scopes:     []string{"read"}, DefaultScopes: []string{"read"},
	})
	require.NoError(t, err)
	st, err := memory.New(memory.WithSweepInterval(0))
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	signing, err := keys.NewSetFromPolicy(keys.SigningRing, time.Now().Add(-time.Minute),
		keys.Policy{Alg: keys.ES256, RotateEvery: 24 * time.Hour, Propagation: time.Hour, MaxTokenTTL: 25 * time.Hour})
	require.NoError(t, err)
	rsKeys, err := keys.GenerateRecipient(keys.CurveP256, false)
	require.NoError(t, err)
	paths := endpoint.DefaultPaths
	paths.StatusLists, paths.ResourceKeys = "/statuslists", "/resource-keys"
	alloc, err := endpoint.NewStatusAllocator(st, endpoint.StatusListURIPrefix(iss, paths))
	require.NoError(t, err)
	api := testRing(t, apiAud)
	srv, err := endpoint.New(iss, endpoint.Rings{
		Internal: testRing(t, keys.InternalRing), Audiences: map[string]*keys.Ring{apiAud: api}, Default: apiAud,
		Signing: keys.NewRing(signing),
	}, clients, st, endpoint.WithPaths(paths), endpoint.WithStatusLists(alloc, 30*time.Second),
		endpoint.WithResourceServers(&endpoint.ResourceServer{ID: "rs", Audiences: []string{apiAud}, Keys: rsKeys.Public()}))
	require.NoError(t, err)
	mux := http.NewServeMux()
	httpendpoint.Register(mux, srv)
	do := func(method, path string, body string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		r := httptest.NewRequest(method, "https://idp.example.com"+path, strings.NewReader(body))
		r.TLS = &tls.ConnectionState{}
		if body != "" {
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.SetBasicAuth("backend", backendSecret)
		}
		mux.ServeHTTP(rec, r)
		return rec
	}
	tok := do("POST", "/tenant-a/token", "grant_type=client_credentials")
	require.Equal(t, 200, tok.Code, tok.Body.String())
	agg := do("GET", "/tenant-a/statuslists", "")
	require.Equal(t, 200, agg.Code, agg.Body.String())
	a, err := statuslist.ParseAggregation(agg.Body.Bytes())
	require.NoError(t, err)
	require.Len(t, a.StatusLists, 1)
	require.True(t, strings.HasPrefix(a.StatusLists[0], iss+"/statuslists/"))
	list := do("GET", strings.TrimPrefix(a.StatusLists[0], "https://idp.example.com"), "")
	require.Equal(t, 200, list.Code, list.Body.String())
	require.Equal(t, statuslist.MediaType, list.Header().Get("Content-Type"))
	keysResp := do("GET", "/tenant-a/resource-keys?resource_server=rs", "")
	require.Equal(t, 200, keysResp.Code, keysResp.Body.String())
	raw, _ := io.ReadAll(keysResp.Body)
	require.Equal(t, 4, strings.Count(string(raw), "."), "a compact JWE")
	require.Equal(t, 404, do("GET", "/tenant-a/resource-keys?resource_server=nobody", "").Code)
}
