package httpendpoint_test

import (
	"encoding/json"
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
)

// TestRegisterOpenID mounts the OpenID Provider on net/http under an
// issuer with a path (Discovery 1.0 §4 appends the well-known path).
func TestRegisterOpenID(t *testing.T) {
	now := time.Now()
	sk, err := keys.Generate(keys.EdDSA, keys.Lifecycle{Created: now.Add(-time.Hour), Activates: now.Add(-time.Hour),
		Retires: now.Add(time.Hour), Expires: now.Add(2 * time.Hour)})
	require.NoError(t, err)
	set, err := keys.NewSet(keys.SigningRing, sk)
	require.NoError(t, err)
	ts := httptest.NewUnstartedServer(nil)
	ts.StartTLS()
	defer ts.Close()
	issuer := ts.URL + "/tenant"
	srv := newServer(t, issuer, endpoint.WithOpenID(endpoint.OpenID{Signing: keys.NewRing(set)}))
	mux := http.NewServeMux()
	httpendpoint.Register(mux, srv)
	httpendpoint.RegisterOpenID(mux, srv, nil)
	ts.Config.Handler = mux
	c := ts.Client()

	resp, err := c.Get(issuer + "/.well-known/openid-configuration")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode, "%s", body)
	var doc map[string]any
	require.NoError(t, json.Unmarshal(body, &doc))
	require.Equal(t, issuer, doc["issuer"])
	require.Equal(t, issuer+"/userinfo", doc["userinfo_endpoint"])

	resp, err = c.Get(issuer + "/userinfo")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 401, resp.StatusCode)
	require.True(t, strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer "))

	resp, err = c.Get(issuer + "/end_session?post_logout_redirect_uri=https%3A%2F%2Fevil.example.com")
	require.NoError(t, err)
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	require.Contains(t, string(body), "Signed out")

	resp, err = c.Post(issuer+"/.well-known/openid-configuration", "text/plain", nil)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 405, resp.StatusCode)

	plain := http.NewServeMux()
	httpendpoint.RegisterOpenID(plain, newServer(t, issuer), nil)
	rec := httptest.NewRecorder()
	plain.ServeHTTP(rec, httptest.NewRequest("GET", "/tenant/.well-known/openid-configuration", nil))
	require.Equal(t, 404, rec.Code, "nothing mounted without WithOpenID")
}
