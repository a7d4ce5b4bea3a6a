package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestOpenIDRoutes: the App serves the OpenID Connect endpoints (SPEC
// §11) at their paths with the methods they accept, logs them under their
// route names and counts them in /metrics.
func TestOpenIDRoutes(t *testing.T) {
	d := startDevApp(t, "")
	do := func(method, path string, hdr map[string]string) (*http.Response, string) {
		t.Helper()
		r, err := http.NewRequest(method, d.base+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range hdr {
			r.Header.Set(k, v)
		}
		resp, err := d.client.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	rows := []struct {
		name, method, path string
		hdr                map[string]string
		status             int
		check              func(t *testing.T, resp *http.Response, body string)
	}{
		{name: "Discovery §4: the provider configuration", method: "GET", path: "/.well-known/openid-configuration", status: 200,
			check: func(t *testing.T, resp *http.Response, body string) {
				var doc map[string]any
				if err := json.Unmarshal([]byte(body), &doc); err != nil || doc["issuer"] != d.base ||
					doc["userinfo_endpoint"] != d.base+"/userinfo" || doc["end_session_endpoint"] != d.base+"/end_session" ||
					doc["jwks_uri"] != d.base+"/jwks.json" {
					t.Fatalf("document %v (%v)", doc, err)
				}
				_, oauth := do("GET", "/.well-known/oauth-authorization-server", nil)
				if oauth != body {
					t.Fatalf("the RFC 8414 document differs:\n%s\n%s", oauth, body)
				}
			}},
		{name: "Discovery §4: HEAD", method: "HEAD", path: "/.well-known/openid-configuration", status: 200},
		{name: "Discovery §4: POST is 405", method: "POST", path: "/.well-known/openid-configuration", status: 405,
			check: func(t *testing.T, resp *http.Response, _ string) {
				if resp.Header.Get("Allow") != "GET, HEAD" {
					t.Fatalf("Allow %q", resp.Header.Get("Allow"))
				}
			}},
		{name: "Core §5.3.3: userinfo without a token is 401 with a Bearer challenge", method: "GET", path: "/userinfo", status: 401,
			check: func(t *testing.T, resp *http.Response, _ string) {
				if c := resp.Header.Get("WWW-Authenticate"); !strings.HasPrefix(c, `Bearer realm="`+d.base+`"`) {
					t.Fatalf("challenge %q", c)
				}
			}},
		{name: "Core §5.3.3: userinfo with a bad token is invalid_token", method: "GET", path: "/userinfo",
			hdr: map[string]string{"Authorization": "Bearer abc"}, status: 401,
			check: func(t *testing.T, resp *http.Response, body string) {
				if !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="invalid_token"`) || !strings.Contains(body, "invalid_token") {
					t.Fatalf("%q %s", resp.Header.Get("WWW-Authenticate"), body)
				}
			}},
		{name: "Core §5.3: userinfo PUT is 405", method: "PUT", path: "/userinfo", status: 405},
		{name: "RP-Initiated §2: end_session without a session shows the signed-out page", method: "GET", path: "/end_session", status: 200,
			check: func(t *testing.T, resp *http.Response, body string) {
				if !strings.Contains(body, "signed out") || resp.Header.Get("Cache-Control") != "no-store" {
					t.Fatalf("%s", body)
				}
			}},
		{name: "RP-Initiated §2: end_session DELETE is 405", method: "DELETE", path: "/end_session", status: 405},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			resp, body := do(r.method, r.path, r.hdr)
			if resp.StatusCode != r.status {
				t.Fatalf("%s %s = %d %s", r.method, r.path, resp.StatusCode, body)
			}
			if r.check != nil {
				r.check(t, resp, body)
			}
		})
	}
	_, metrics := do("GET", "/metrics", nil)
	logText, _ := d.log.snapshot()
	for _, route := range []string{"userinfo", "end_session", "openid_configuration"} {
		if !strings.Contains(metrics, `endpoint="`+route+`"`) {
			t.Errorf("/metrics has no series for %s", route)
		}
		if !strings.Contains(logText, `"endpoint":"`+route+`"`) {
			t.Errorf("the log has no line for %s", route)
		}
	}
}
