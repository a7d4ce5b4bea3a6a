package fasthttpmw_test

import (
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"

	"github.com/sealedtoken/issuer/pkg/crypttoken"
	"github.com/sealedtoken/issuer/pkg/crypttoken/fasthttpmw"
	"github.com/sealedtoken/issuer/pkg/keys"
)

var testNow = time.Unix(1_700_000_000, 0)

const (
	testIssuer   = "https://issuer.example.com"
	testAudience = "https://api.example.com"
)

func setup(t testing.TB) (*crypttoken.Sealer, *crypttoken.Opener) {
	t.Helper()
	k, err := keys.NewKey("k1", keys.Direct, []byte("0123456789abcdef0123456789abcdef"), keys.Lifecycle{
		Created: testNow.Add(-time.Hour), Activates: testNow.Add(-time.Hour),
		Retires: testNow.Add(time.Hour), Expires: testNow.Add(2 * time.Hour),
	})
	if err != nil {
		t.Fatal(err)
	}
	set, err := keys.NewSet(testAudience, k)
	if err != nil {
		t.Fatal(err)
	}
	ring := keys.NewRing(set)
	clock := func() time.Time { return testNow }
	s, err := crypttoken.NewSealer(ring, crypttoken.WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	o, err := crypttoken.NewOpener(ring, crypttoken.Expected{Issuer: testIssuer, Audience: testAudience, Time: clock})
	if err != nil {
		t.Fatal(err)
	}
	return s, o
}

func seal(t testing.TB, s *crypttoken.Sealer, typ crypttoken.Type, exp time.Time, scope string) string {
	t.Helper()
	tok, err := s.Seal(typ, &crypttoken.Claims{
		Issuer: testIssuer, Subject: "u-1", Audience: []string{testAudience},
		Expiry: exp, ClientID: "webapp", Scope: scope,
	})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func tamper(tok string) string {
	b := []byte(tok)
	i := strings.LastIndexByte(tok, '.') - 10
	if b[i] == 'x' {
		b[i] = 'y'
	} else {
		b[i] = 'x'
	}
	return string(b)
}

// kept collects the claims handlers keep after returning, to check that
// they outlive fasthttp's reuse of the request.
var (
	keptMu sync.Mutex
	kept   []*crypttoken.Claims
)

func echo(ctx *fasthttp.RequestCtx) {
	c, ok := fasthttpmw.FromRequest(ctx)
	if !ok {
		ctx.Error("no claims", fasthttp.StatusInternalServerError)
		return
	}
	keptMu.Lock()
	kept = append(kept, c)
	keptMu.Unlock()
	ctx.SetBodyString(c.Subject + " " + c.Scope)
}

// serve runs h on an in-memory listener and returns a client for it.
func serve(t *testing.T, h fasthttp.RequestHandler) *fasthttp.HostClient {
	t.Helper()
	ln := fasthttputil.NewInmemoryListener()
	srv := &fasthttp.Server{Handler: h}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		if err := srv.Shutdown(); err != nil {
			t.Error(err)
		}
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return &fasthttp.HostClient{Addr: "api.test", Dial: func(string) (net.Conn, error) { return ln.Dial() }}
}

func TestRequire(t *testing.T) {
	s, o := setup(t)
	valid := seal(t, s, crypttoken.TypeAccess, testNow.Add(time.Minute), "read write")
	expired := seal(t, s, crypttoken.TypeAccess, testNow.Add(-time.Minute), "read")
	code := seal(t, s, crypttoken.TypeCode, testNow.Add(time.Minute), "read")
	tampered := tamper(valid)

	var (
		hookMu  sync.Mutex
		hookErr error
		hooked  int
	)
	mw := fasthttpmw.Require(o, fasthttpmw.WithRealm("api"), fasthttpmw.WithErrorHook(func(ctx *fasthttp.RequestCtx, err error) {
		hookMu.Lock()
		defer hookMu.Unlock()
		hooked++
		hookErr = err
	}))
	client := serve(t, func(ctx *fasthttp.RequestCtx) {
		switch string(ctx.Path()) {
		case "/write":
			mw(fasthttpmw.RequireScope("write")(echo))(ctx)
		case "/admin":
			mw(fasthttpmw.RequireScope("read", "admin")(echo))(ctx)
		case "/noauth-scope":
			fasthttpmw.RequireScope("read")(echo)(ctx)
		default:
			mw(echo)(ctx)
		}
	})

	tests := []struct {
		name      string
		path      string
		auth      []string
		status    int
		challenge string
		body      string
		hookErr   error
	}{
		{name: "valid token (RFC 6750 §2.1)", auth: []string{"Bearer " + valid}, status: 200, body: "u-1 read write"},
		{name: "scheme in lower case", auth: []string{"bearer " + valid}, status: 200, body: "u-1 read write"},
		{name: "several spaces", auth: []string{"Bearer    " + valid}, status: 200, body: "u-1 read write"},
		{name: "no Authorization (RFC 6750 §3.1)", status: 401, challenge: `Bearer realm="api"`, hookErr: fasthttpmw.ErrNoToken},
		{name: "Basic scheme", auth: []string{"Basic d2ViYXBwOnNlY3JldA=="}, status: 401, challenge: `Bearer realm="api"`, hookErr: fasthttpmw.ErrNoToken},
		{name: "Bearer without token", auth: []string{"Bearer"}, status: 400, challenge: `Bearer realm="api", error="invalid_request", error_description="malformed bearer credentials"`, hookErr: fasthttpmw.ErrBadRequest},
		{name: "two tokens", auth: []string{"Bearer " + valid + " " + valid}, status: 400, hookErr: fasthttpmw.ErrBadRequest},
		{name: "not a b64token", auth: []string{"Bearer " + valid[:20] + "," + valid[21:]}, status: 400, hookErr: fasthttpmw.ErrBadRequest},
		{name: "two Authorization fields", auth: []string{"Bearer " + valid, "Bearer " + valid}, status: 400, hookErr: fasthttpmw.ErrBadRequest},
		{name: "token in the query (RFC 6750 §2.3)", path: "/r?access_token=" + valid, status: 400, challenge: `Bearer realm="api", error="invalid_request", error_description="bearer tokens are accepted in the Authorization header only"`, hookErr: fasthttpmw.ErrBadRequest},
		{name: "expired", auth: []string{"Bearer " + expired}, status: 401, challenge: `Bearer realm="api", error="invalid_token", error_description="the access token expired"`, hookErr: crypttoken.ErrExpired},
		{name: "tampered", auth: []string{"Bearer " + tampered}, status: 401, challenge: `Bearer realm="api", error="invalid_token", error_description="the access token is invalid"`, hookErr: crypttoken.ErrDecrypt},
		{name: "authorization code is not an access token", auth: []string{"Bearer " + code}, status: 401, hookErr: crypttoken.ErrType},
		{name: "scope held", path: "/write", auth: []string{"Bearer " + valid}, status: 200, body: "u-1 read write"},
		{name: "scope missing (RFC 6750 §3.1)", path: "/admin", auth: []string{"Bearer " + valid}, status: 403,
			challenge: `Bearer realm="api", error="insufficient_scope", error_description="the access token lacks a required scope", scope="read admin"`, hookErr: fasthttpmw.ErrInsufficientScope},
		{name: "RequireScope alone fails closed", path: "/noauth-scope", auth: []string{"Bearer " + valid}, status: 401, challenge: `Bearer`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hookMu.Lock()
			hooked, hookErr = 0, nil
			hookMu.Unlock()
			req, res := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(res)
			path := tt.path
			if path == "" {
				path = "/r"
			}
			req.SetRequestURI("http://api.test" + path)
			for _, a := range tt.auth {
				req.Header.Add("Authorization", a)
			}
			if err := client.Do(req, res); err != nil {
				t.Fatal(err)
			}
			body := string(res.Body())
			if res.StatusCode() != tt.status {
				t.Fatalf("status = %d, want %d (body %q)", res.StatusCode(), tt.status, body)
			}
			hookMu.Lock()
			gotHooked, gotErr := hooked, hookErr
			hookMu.Unlock()
			if tt.status == 200 {
				if body != tt.body || gotHooked != 0 {
					t.Errorf("body = %q, hook called %d times", body, gotHooked)
				}
				return
			}
			challenge := string(res.Header.Peek("WWW-Authenticate"))
			if tt.challenge != "" && challenge != tt.challenge {
				t.Errorf("WWW-Authenticate = %q\nwant %q", challenge, tt.challenge)
			}
			if string(res.Header.Peek("Cache-Control")) != "no-store" {
				t.Errorf("Cache-Control = %q", res.Header.Peek("Cache-Control"))
			}
			if strings.Contains(challenge, "error=") != (body != "") {
				t.Errorf("challenge %q with body %q", challenge, body)
			}
			if body != "" && (!strings.HasPrefix(body, `{"error":"`) || string(res.Header.ContentType()) != "application/json") {
				t.Errorf("body = %q, Content-Type %q", body, res.Header.ContentType())
			}
			if tt.hookErr != nil && (gotHooked != 1 || !errors.Is(gotErr, tt.hookErr)) {
				t.Errorf("hook called %d times with %v, want %v", gotHooked, gotErr, tt.hookErr)
			}
			for _, tok := range []string{valid, expired, code, tampered} {
				for _, p := range strings.Split(tok, ".") {
					if len(p) > 8 && (strings.Contains(body, p) || strings.Contains(challenge, p)) {
						t.Fatal("response echoes the token")
					}
				}
			}
		})
	}
	// Claims kept by handlers are intact after fasthttp reused its buffers.
	keptMu.Lock()
	defer keptMu.Unlock()
	if len(kept) == 0 {
		t.Fatal("no claims kept")
	}
	for _, c := range kept {
		if c.Subject != "u-1" || c.Scope != "read write" || c.Audience[0] != testAudience {
			t.Fatalf("kept claims changed: %+v", c)
		}
	}
}

func TestSetClaims(t *testing.T) {
	var ctx fasthttp.RequestCtx
	if _, ok := fasthttpmw.FromRequest(&ctx); ok {
		t.Fatal("claims in a fresh request")
	}
	c := &crypttoken.Claims{Subject: "u-9", Scope: "read"}
	fasthttpmw.SetClaims(&ctx, c)
	fasthttpmw.RequireScope("read")(echo)(&ctx)
	if ctx.Response.StatusCode() != 200 || string(ctx.Response.Body()) != "u-9 read" {
		t.Fatalf("status %d body %q", ctx.Response.StatusCode(), ctx.Response.Body())
	}
}

func TestConstructionPanics(t *testing.T) {
	_, o := setup(t)
	tests := []struct {
		name string
		do   func()
	}{
		{name: "nil opener", do: func() { fasthttpmw.Require(nil) }},
		{name: "nil option", do: func() { fasthttpmw.Require(o, nil) }},
		{name: "realm with a backslash", do: func() { fasthttpmw.WithRealm(`a\b`) }},
		{name: "no scopes", do: func() { fasthttpmw.RequireScope() }},
		{name: "scope with a quote", do: func() { fasthttpmw.RequireScope(`a"`) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			tt.do()
		})
	}
}
