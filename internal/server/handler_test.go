package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"

	"github.com/sealedtoken/issuer/internal/server"
	"github.com/sealedtoken/issuer/pkg/endpoint"
	"github.com/sealedtoken/issuer/pkg/store"
)

func TestRoutes(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	tests := []struct {
		name       string
		req        req
		wantStatus int
		wantAllow  string
		wantBody   string // substring
		wantCT     string // prefix
	}{
		{name: "token endpoint issues a token", req: tokenReq(), wantStatus: 200, wantBody: `"access_token":"`, wantCT: "application/json"},
		{name: "unknown path is a 404 JSON body", req: req{method: "GET", uri: "/nope"}, wantStatus: 404, wantBody: `"error":"not_found"`, wantCT: "application/json"},
		{name: "trailing slash is another path", req: req{method: "POST", uri: "/token/"}, wantStatus: 404, wantBody: `"error":"not_found"`},
		{name: "RFC 6749 §3.2 token endpoint refuses GET with 405 and Allow", req: req{method: "GET", uri: "/token"}, wantStatus: 405, wantAllow: "POST", wantBody: `"error":"invalid_request"`},
		{name: "introspection refuses GET", req: req{method: "GET", uri: "/introspect"}, wantStatus: 405, wantAllow: "POST"},
		{name: "revocation refuses PUT", req: req{method: "PUT", uri: "/revoke"}, wantStatus: 405, wantAllow: "POST"},
		{name: "authorization endpoint refuses DELETE", req: req{method: "DELETE", uri: "/authorize"}, wantStatus: 405, wantAllow: "GET, POST"},
		{name: "metadata refuses POST", req: req{method: "POST", uri: "/.well-known/oauth-authorization-server"}, wantStatus: 405, wantAllow: "GET, HEAD"},
		{name: "RFC 8414 §3 metadata", req: req{method: "GET", uri: "/.well-known/oauth-authorization-server"}, wantStatus: 200, wantBody: `"issuer":"https://issuer.test"`, wantCT: "application/json"},
		{name: "healthz", req: req{method: "GET", uri: "/healthz"}, wantStatus: 200, wantBody: `"status":"ok"`},
		{name: "readyz without checks", req: req{method: "GET", uri: "/readyz"}, wantStatus: 200, wantBody: `"status":"ready"`},
		{name: "metrics", req: req{method: "GET", uri: "/metrics"}, wantStatus: 200, wantBody: "# TYPE issuer_requests_total counter", wantCT: "text/plain; version=0.0.4"},
		{name: "RFC 6749 §3.1 authorization endpoint with unknown client shows an error page", req: req{method: "GET", uri: "/authorize?response_type=code&client_id=nobody", header: map[string]string{"X-Forwarded-Proto": "https"}}, wantStatus: 400},
		{name: "authorization request without a way to log in is denied by redirect", req: req{method: "GET", uri: "/authorize?response_type=code&client_id=backend&state=xyz", header: map[string]string{"X-Forwarded-Proto": "https"}}, wantStatus: 302},
		{name: "introspection needs client authentication", req: req{method: "POST", uri: "/introspect", body: "token=abc", header: map[string]string{"Content-Type": "application/x-www-form-urlencoded", "X-Forwarded-Proto": "https"}}, wantStatus: 401, wantBody: `"error":"invalid_client"`},
		{name: "RFC 6749 §3.2 plain HTTP from an untrusted peer is refused", req: func() req { r := tokenReq(); r.remote = "10.9.9.9"; return r }(), wantStatus: 400, wantBody: "TLS is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := do(f.h.ServeFastHTTP, tt.req)
			if resp.StatusCode() != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", resp.StatusCode(), tt.wantStatus, resp.Body())
			}
			if got := string(resp.Header.Peek("Allow")); got != tt.wantAllow {
				t.Errorf("Allow = %q, want %q", got, tt.wantAllow)
			}
			if !strings.Contains(string(resp.Body()), tt.wantBody) {
				t.Errorf("body %s does not contain %s", resp.Body(), tt.wantBody)
			}
			if ct := string(resp.Header.ContentType()); !strings.HasPrefix(ct, tt.wantCT) {
				t.Errorf("Content-Type = %q, want prefix %q", ct, tt.wantCT)
			}
			if resp.StatusCode() >= 400 && strings.HasPrefix(string(resp.Header.ContentType()), "application/json") && !json.Valid(resp.Body()) {
				t.Errorf("error body is not JSON: %s", resp.Body())
			}
		})
	}
	if loc := string(do(f.h.ServeFastHTTP, tests[len(tests)-3].req).Header.Peek("Location")); !strings.Contains(loc, "error=access_denied") || !strings.Contains(loc, "state=xyz") {
		t.Errorf("denied authorization redirect = %q", loc)
	}
}

func TestTokenResponseHeaders(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	resp := do(f.h.ServeFastHTTP, tokenReq())
	for name, want := range map[string]string{"Cache-Control": "no-store", "Pragma": "no-cache"} {
		if got := string(resp.Header.Peek(name)); got != want {
			t.Errorf("%s = %q, want %q (RFC 6749 §5.1)", name, got, want)
		}
	}
	var body struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if err := json.Unmarshal(resp.Body(), &body); err != nil || body.TokenType != "Bearer" || body.ExpiresIn <= 0 || strings.Count(body.AccessToken, ".") != 4 {
		t.Fatalf("token response %s: %v", resp.Body(), err)
	}
}

func TestPanicBecomes500(t *testing.T) {
	owner := endpoint.ResourceOwnerFunc(func(context.Context, *endpoint.Request, *endpoint.AuthorizeRequest) (endpoint.Decision, error) {
		panic("boom: secret-panic-detail")
	})
	f := newFixture(t, fixtureOpts{owner: owner})
	resp := do(f.h.ServeFastHTTP, req{method: "GET", uri: "/authorize?response_type=code&client_id=backend", header: map[string]string{"X-Forwarded-Proto": "https"}})
	if resp.StatusCode() != 500 {
		t.Fatalf("status = %d, want 500", resp.StatusCode())
	}
	var body map[string]string
	if err := json.Unmarshal(resp.Body(), &body); err != nil || body["error"] != "server_error" {
		t.Fatalf("body %s is not a server_error JSON body", resp.Body())
	}
	if strings.Contains(string(resp.Body()), "boom") || strings.Contains(string(resp.Body()), "goroutine") {
		t.Fatalf("panic detail leaked to the client: %s", resp.Body())
	}
	if got := string(resp.Header.Peek("Cache-Control")); got != "no-store" {
		t.Errorf("Cache-Control = %q", got)
	}
	log := f.log.String()
	if !strings.Contains(log, "boom: secret-panic-detail") || !strings.Contains(log, "goroutine") {
		t.Errorf("the log lacks the panic and its stack:\n%s", log)
	}
	if !strings.Contains(metricsText(t, f.metrics), "issuer_panics_total 1") {
		t.Error("panic not counted")
	}
}

func TestReadyzReportsStoreOutage(t *testing.T) {
	f := newFixture(t, fixtureOpts{ready: func(context.Context) error {
		return errors.Join(store.ErrUnavailable, errors.New("dial tcp: connection refused"))
	}})
	resp := do(f.h.ServeFastHTTP, req{method: "GET", uri: "/readyz"})
	if resp.StatusCode() != 503 || !strings.Contains(string(resp.Body()), "unavailable") {
		t.Fatalf("readyz = %d %s, want 503", resp.StatusCode(), resp.Body())
	}
	if strings.Contains(string(resp.Body()), "refused") {
		t.Error("readyz leaks the cause to the client")
	}
	if !strings.Contains(metricsText(t, f.metrics), "issuer_store_errors_total 1") {
		t.Error("store error not counted")
	}
}

// TestRequestLog checks the one structured line per request and its
// allow-list: no secret, token or raw parameter.
func TestRequestLog(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	resp := do(f.h.ServeFastHTTP, tokenReq())
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.Unmarshal(resp.Body(), &tok)
	bad := tokenReq()
	bad.body = "grant_type=made-up-" + testSecret + "&scope=read"
	do(f.h.ServeFastHTTP, bad)

	lines := nonEmptyLines(f.log.String())
	if len(lines) != 2 {
		t.Fatalf("want 2 log lines, got %d:\n%s", len(lines), f.log)
	}
	var first map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{"endpoint": "token", "method": "POST", "status": float64(200), "client_id": testClientID, "grant_type": "client_credentials", "outcome": "ok", "audience": testAudience, "remote": "127.0.0.1"} {
		if first[k] != want {
			t.Errorf("log field %s = %v, want %v", k, first[k], want)
		}
	}
	if jti, _ := first["jti"].(string); jti == "" {
		t.Error("no jti in the log line")
	}
	if _, ok := first["latency_us"].(float64); !ok {
		t.Error("no latency_us in the log line")
	}
	var second map[string]any
	_ = json.Unmarshal([]byte(lines[1]), &second)
	if second["grant_type"] != "other" || second["error"] != "unsupported_grant_type" {
		t.Errorf("unknown grant type not normalized: %v", second)
	}
	for _, s := range []string{testSecret, tok.AccessToken} {
		if s != "" && strings.Contains(f.log.String(), s) {
			t.Fatalf("the log contains a secret or token: %q", s)
		}
	}
}

// TestRequestLogLevels plays an attacker guessing two clients' secrets
// while one of them gets its tokens, with the log kept at warn as an
// operator cutting its volume would: every guess is in the log at warn
// (401; for the client with a slow hash, 429 once it is throttled), the
// client's successful requests are not, and at info they are too.
func TestRequestLogLevels(t *testing.T) {
	for _, level := range []zerolog.Level{zerolog.InfoLevel, zerolog.WarnLevel} {
		t.Run(level.String(), func(t *testing.T) {
			f := newFixture(t, fixtureOpts{})
			var buf bytes.Buffer
			// As issuer serve builds it: successful requests' lines by the
			// request-line encoder, which must follow the level too.
			h := server.NewHandler(f.ep, server.HandlerOptions{Log: zerolog.New(&buf).Level(level), RequestLines: &buf, Metrics: f.metrics})
			guess := tokenReq()
			guess.header["Authorization"] = "Basic " + base64.StdEncoding.EncodeToString([]byte(testClientID+":not-the-secret"))
			const guesses = 3
			for i := 0; i < guesses; i++ {
				if got := do(h.ServeFastHTTP, guess).StatusCode(); got != 401 {
					t.Fatalf("guess %d answered %d", i, got)
				}
				if resp := do(h.ServeFastHTTP, tokenReq()); resp.StatusCode() != 200 {
					t.Fatalf("the client, between guesses: %d %s", resp.StatusCode(), resp.Body())
				}
			}
			slow := tokenReq()
			slow.header["Authorization"] = "Basic " + base64.StdEncoding.EncodeToString([]byte(slowClientID+":not-the-secret"))
			slowGuesses := 0
			for got := 0; got != 429; slowGuesses++ {
				if got = do(h.ServeFastHTTP, slow).StatusCode(); got != 401 && got != 429 || slowGuesses == 30 {
					t.Fatalf("slow-hash guess %d answered %d, want 401s then 429", slowGuesses, got)
				}
			}
			var warned, ok int
			for _, line := range nonEmptyLines(buf.String()) {
				var m map[string]any
				if err := json.Unmarshal([]byte(line), &m); err != nil {
					t.Fatal(err)
				}
				switch {
				case m["status"] == float64(200) && m["level"] == "info":
					ok++
				case (m["status"] == float64(401) || m["status"] == float64(429)) && m["level"] == "warn" &&
					(m["client_id"] == testClientID || m["client_id"] == slowClientID):
					warned++
				default:
					t.Errorf("unexpected line: %s", line)
				}
			}
			if warned != guesses+slowGuesses {
				t.Errorf("%d of %d guesses logged at warn:\n%s", warned, guesses+slowGuesses, buf.String())
			}
			if want := map[zerolog.Level]int{zerolog.InfoLevel: guesses, zerolog.WarnLevel: 0}[level]; ok != want {
				t.Errorf("%d successful requests logged at level %s, want %d", ok, level, want)
			}
		})
	}
}

// TestRequestLinesAsZerolog serves the same requests through a handler
// whose successful request lines are written by the request-line encoder
// (HandlerOptions.RequestLines) and one that leaves every line to zerolog,
// and finds the two logs the same but for each line's latency and time.
func TestRequestLinesAsZerolog(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	// The encoder's lines go to a buffer of their own, to count them.
	var fastZ, fastL, slow bytes.Buffer
	hFast := server.NewHandler(f.ep, server.HandlerOptions{Log: zerolog.New(&fastZ).Hook(server.Timestamp), RequestLines: &fastL, Metrics: f.metrics})
	hSlow := server.NewHandler(f.ep, server.HandlerOptions{Log: zerolog.New(&slow).Hook(server.Timestamp), Metrics: f.metrics})
	wrong := tokenReq()
	wrong.header["Authorization"] = "Basic " + base64.StdEncoding.EncodeToString([]byte(testClientID+":not-the-secret"))
	proxied := tokenReq()
	proxied.header["X-Forwarded-For"] = "203.0.113.9"
	requests := []struct {
		r       req
		encoder bool // the line is the encoder's, not zerolog's
	}{
		{tokenReq(), true}, {proxied, true}, {wrong, false},
		{req{method: "GET", uri: "/.well-known/oauth-authorization-server"}, true},
		{req{method: "GET", uri: "/nope"}, true},
		{req{method: "GET", uri: "/token"}, true},
	}
	varying := regexp.MustCompile(`"(latency_us":-?[0-9]+|time":"[^"]*"|jti":"[^"]*")`)
	for i, rq := range requests {
		z, l, w := fastZ.Len(), fastL.Len(), slow.Len()
		do(hFast.ServeFastHTTP, rq.r)
		do(hSlow.ServeFastHTTP, rq.r)
		got := fastZ.String()[z:] + fastL.String()[l:]
		if byEncoder := fastL.Len() > l; byEncoder != rq.encoder || (fastZ.Len() > z) == rq.encoder {
			t.Errorf("request %d: written by the encoder %v, want %v: %s", i, byEncoder, rq.encoder, got)
		}
		want := slow.String()[w:]
		if varying.ReplaceAllString(got, "$$varies") != varying.ReplaceAllString(want, "$$varies") {
			t.Errorf("request %d: line\n got %s\nwant %s", i, got, want)
		}
	}
	if !strings.Contains(fastL.String(), `"jti":"`) || !strings.Contains(fastL.String(), `"remote":"203.0.113.9"`) {
		t.Errorf("the lines lack a jti or the forwarded address:\n%s", fastL.String())
	}
}

func nonEmptyLines(s string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) != "" {
			out = append(out, sc.Text())
		}
	}
	return out
}

func TestMetricsCountRequests(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	for i := 0; i < 3; i++ {
		do(f.h.ServeFastHTTP, tokenReq())
	}
	do(f.h.ServeFastHTTP, req{method: "GET", uri: "/nope"})
	do(f.h.ServeFastHTTP, req{method: "GET", uri: "/token"})
	text := string(do(f.h.ServeFastHTTP, req{method: "GET", uri: "/metrics"}).Body())
	for _, want := range []string{
		`issuer_requests_total{endpoint="token",grant_type="client_credentials",outcome="ok"} 3`,
		`issuer_requests_total{endpoint="not_found",grant_type="none",outcome="not_found"} 1`,
		`issuer_requests_total{endpoint="token",grant_type="none",outcome="method_not_allowed"} 1`,
		`issuer_tokens_issued_total{type="access"} 3`,
		`issuer_request_duration_seconds_count{endpoint="token"} 4`,
		`issuer_token_request_duration_seconds_count{grant_type="client_credentials"} 3`,
		`issuer_token_request_duration_seconds_bucket{grant_type="client_credentials",le="+Inf"} 3`,
		`issuer_build_info{goversion="go`,
		"go_goroutines ",
		"go_gc_duration_seconds",
		"go_memstats_heap_alloc_bytes ",
		"go_gc_completed_cycles_total ",
		"process_cpu_seconds_total ",
		"process_resident_memory_bytes ",
		"process_start_time_seconds ",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	// A 404 is not a success (it was counted as outcome="ok" once).
	if strings.Contains(text, `endpoint="not_found",grant_type="none",outcome="ok"`) {
		t.Error("a 404 is counted with outcome ok")
	}
}

func TestHeaderWrapper(t *testing.T) {
	var h fasthttp.RequestHeader
	h.Set("Authorization", "Basic abc")
	h.Set("x-custom-thing", "v1")
	h.Add("X-Custom-Thing", "v2")
	h.SetContentType("application/x-www-form-urlencoded")
	w := server.NewHeader(&h)
	tests := []struct{ name, field, want string }{
		{name: "exact case", field: "Authorization", want: "Basic abc"},
		{name: "lower case", field: "authorization", want: "Basic abc"},
		{name: "upper case", field: "AUTHORIZATION", want: "Basic abc"},
		{name: "first of repeated values", field: "X-Custom-Thing", want: "v1"},
		{name: "special-cased Content-Type", field: "content-type", want: "application/x-www-form-urlencoded"},
		{name: "absent field", field: "X-Missing", want: ""},
		{name: "special-cased Content-Type, normalized name", field: "Content-Type", want: "application/x-www-form-urlencoded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := w.Get(tt.field); got != tt.want {
				t.Fatalf("Get(%q) = %q, want %q", tt.field, got, tt.want)
			}
		})
	}
	if got := (server.Header{}).Get("Authorization"); got != "" {
		t.Fatalf("zero Header Get = %q", got)
	}
	// Names as a client sends them on the wire, in any case, looked up
	// by the names the endpoints use: normalized (X-Forwarded-For) or
	// not (DPoP, WWW-style capitals).
	var parsed fasthttp.Request
	raw := "POST /token HTTP/1.1\r\nHost: a\r\nx-forwarded-for: 203.0.113.9\r\ndpop: proof\r\nCLIENT-CERT: :Zm9v:\r\nContent-Length: 0\r\n\r\n"
	if err := parsed.Read(bufio.NewReader(strings.NewReader(raw))); err != nil {
		t.Fatal(err)
	}
	pw := server.NewHeader(&parsed.Header)
	for field, want := range map[string]string{"X-Forwarded-For": "203.0.113.9", "DPoP": "proof", "Client-Cert": ":Zm9v:", "Host": "a"} {
		if got := pw.Get(field); got != want {
			t.Errorf("parsed request: Get(%q) = %q, want %q", field, got, want)
		}
	}
	// A lookup leaves normalization on: a field set after it is still
	// stored and found under its normalized name.
	parsed.Header.Set("x-set-later", "v")
	if got := pw.Get("X-Set-Later"); got != "v" {
		t.Errorf("after a lookup, Get(X-Set-Later) = %q", got)
	}
	if got := string(parsed.Header.Peek("x-set-later")); got != "v" {
		t.Errorf("after a lookup, fasthttp's own Peek(x-set-later) = %q", got)
	}
}
