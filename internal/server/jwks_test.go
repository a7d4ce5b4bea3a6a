package server_test

import (
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"

	"github.com/sealedtoken/issuer/internal/server"
	"github.com/sealedtoken/issuer/pkg/endpoint"
	"github.com/sealedtoken/issuer/pkg/keys"
	"github.com/sealedtoken/issuer/pkg/store/memory"
)

// jwksFixture is a Handler serving a signing ring at /jwks.json, on a
// clock the test moves.
type jwksFixture struct {
	h      *server.Handler
	ep     *endpoint.Server
	ring   *keys.Ring
	policy keys.Policy
	clock  *atomic.Int64
}

func (f *jwksFixture) now() time.Time { return time.Unix(0, f.clock.Load()).UTC() }

func newJWKSFixture(t *testing.T, alg keys.Alg) *jwksFixture {
	t.Helper()
	f := &jwksFixture{clock: new(atomic.Int64),
		policy: keys.Policy{Alg: alg, RotateEvery: 2 * time.Hour, Propagation: 20 * time.Minute, MaxTokenTTL: 30 * time.Minute}}
	f.clock.Store(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC).UnixNano())
	set, err := keys.NewSetFromPolicy(keys.SigningRing, f.now(), f.policy)
	if err != nil {
		t.Fatal(err)
	}
	f.ring = keys.NewRing(set)
	p := keys.Policy{RotateEvery: time.Hour, Propagation: time.Minute, MaxTokenTTL: 2 * time.Hour}
	mk := func(name string) *keys.Ring {
		s, err := keys.NewSetFromPolicy(name, f.now(), p)
		if err != nil {
			t.Fatal(err)
		}
		return keys.NewRing(s)
	}
	st, err := memory.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	clients, err := endpoint.NewStaticClients()
	if err != nil {
		t.Fatal(err)
	}
	paths := endpoint.DefaultPaths
	paths.JWKS = server.PathJWKS
	f.ep, err = endpoint.New(testIssuer, endpoint.Rings{Internal: mk(keys.InternalRing),
		Audiences: map[string]*keys.Ring{testAudience: mk(testAudience)}, Default: testAudience},
		clients, st, endpoint.WithPaths(paths))
	if err != nil {
		t.Fatal(err)
	}
	f.h = server.NewHandler(f.ep, server.HandlerOptions{Log: zerolog.Nop(), JWKS: server.NewJWKS(f.ring, f.policy.Propagation, f.now)})
	return f
}

// advance moves the clock and plans the ring as the key loop would.
func (f *jwksFixture) advance(t *testing.T, d time.Duration) {
	t.Helper()
	f.clock.Add(int64(d))
	next, _, err := keys.Plan(f.ring.Load(), f.now(), f.policy)
	if err != nil {
		t.Fatal(err)
	}
	f.ring.Store(next)
}

func (f *jwksFixture) get(hdr map[string]string) *fasthttp.Response {
	return do(f.h.ServeFastHTTP, req{method: "GET", uri: server.PathJWKS, header: hdr})
}

// publishedKeys parses a JWK Set body as a relying party would and
// checks it holds public signing keys only.
func publishedKeys(t *testing.T, body []byte) []string {
	t.Helper()
	var raw struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	var kids []string
	for _, k := range raw.Keys {
		for _, m := range []string{"d", "p", "q", "dp", "dq", "qi", "k"} {
			if _, ok := k[m]; ok {
				t.Fatalf("private member %q published for %v", m, k["kid"])
			}
		}
		if k["use"] != "sig" || k["alg"] == nil || k["kid"] == nil {
			t.Fatalf("key %v lacks use sig, alg or kid", k)
		}
		kids = append(kids, k["kid"].(string))
	}
	var ks jose.JSONWebKeySet
	if err := json.Unmarshal(body, &ks); err != nil {
		t.Fatalf("go-jose does not load the set: %v", err)
	}
	for _, k := range ks.Keys {
		if !k.IsPublic() || !k.Valid() {
			t.Fatalf("key %s is not a valid public key", k.KeyID)
		}
	}
	return kids
}

func TestJWKSEndpoint(t *testing.T) {
	for _, alg := range []keys.Alg{keys.ES256, keys.EdDSA, keys.RS256} {
		t.Run(string(alg), func(t *testing.T) {
			f := newJWKSFixture(t, alg)
			resp := f.get(nil)
			if resp.StatusCode() != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode(), resp.Body())
			}
			if ct := string(resp.Header.ContentType()); ct != server.ContentTypeJWKSet {
				t.Errorf("Content-Type %q", ct)
			}
			// A quarter of the propagation time (20m): 300 s.
			if cc := string(resp.Header.Peek("Cache-Control")); cc != "public, max-age=300" {
				t.Errorf("Cache-Control %q", cc)
			}
			etag := string(resp.Header.Peek("ETag"))
			if len(etag) < 3 || etag[0] != '"' || strings.HasPrefix(etag, "W/") {
				t.Errorf("ETag %q is not a strong entity tag", etag)
			}
			signer, err := f.ring.Load().Sealing(f.now())
			if err != nil {
				t.Fatal(err)
			}
			kids := publishedKeys(t, resp.Body())
			if len(kids) != 1 || kids[0] != signer.KeyID() {
				t.Fatalf("published %v, want the signing key %s", kids, signer.KeyID())
			}
			// A signature by the ring verifies with the published key (go-jose).
			hdr := `{"alg":"` + signer.Algorithm() + `","kid":"` + signer.KeyID() + `"}`
			input := b64(hdr) + "." + b64(`{"sub":"alice"}`)
			sig, err := signer.Sign([]byte(input))
			if err != nil {
				t.Fatal(err)
			}
			obj, err := jose.ParseSigned(input+"."+b64(string(sig)), []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)})
			if err != nil {
				t.Fatal(err)
			}
			var ks jose.JSONWebKeySet
			_ = json.Unmarshal(resp.Body(), &ks)
			if _, err := obj.Verify(ks.Key(signer.KeyID())[0]); err != nil {
				t.Fatalf("signature does not verify with the published key: %v", err)
			}
		})
	}
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// TestJWKSConditional: RFC 9110 §13.1.2 If-None-Match and §15.4.5 304,
// one row per rule.
func TestJWKSConditional(t *testing.T) {
	f := newJWKSFixture(t, keys.ES256)
	etag := string(f.get(nil).Header.Peek("ETag"))
	opaque := strings.Trim(etag, `"`)
	tests := []struct {
		name   string
		inm    string
		status int
	}{
		{"RFC 9110 §13.1.2 no If-None-Match: 200", "", 200},
		{"RFC 9110 §13.1.2 the current entity tag: 304", etag, 304},
		{"RFC 9110 §8.8.3.2 weak comparison: W/ prefix matches", "W/" + etag, 304},
		{"RFC 9110 §13.1.2 a list with the current tag: 304", `"other", ` + etag + `, "more"`, 304},
		{"RFC 9110 §13.1.2 list members without spaces", `"x",` + etag, 304},
		{"RFC 9110 §13.1.2 \"*\" matches any current representation", "*", 304},
		{"RFC 9110 §13.1.2 another tag: 200", `"not-it"`, 200},
		{"RFC 9110 §8.8.3 an unquoted tag is no entity tag: 200", opaque, 200},
		{"RFC 9110 §8.8.3 a tag with a different case: 200", strings.ToUpper(etag), 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hdr map[string]string
			if tt.inm != "" {
				hdr = map[string]string{"If-None-Match": tt.inm}
			}
			resp := f.get(hdr)
			if resp.StatusCode() != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode(), tt.status)
			}
			if got := string(resp.Header.Peek("ETag")); got != etag {
				t.Errorf("ETag %q, want %q", got, etag)
			}
			if cc := string(resp.Header.Peek("Cache-Control")); !strings.HasPrefix(cc, "public, max-age=") {
				t.Errorf("RFC 9110 §15.4.5: Cache-Control %q", cc)
			}
			if tt.status == 304 && len(resp.Body()) != 0 {
				t.Errorf("304 with a body: %s", resp.Body())
			}
		})
	}
	// Two If-None-Match fields are one list (RFC 9110 §5.3).
	var fr fasthttp.Request
	fr.Header.SetMethod("GET")
	fr.SetRequestURI(server.PathJWKS)
	fr.Header.Add("If-None-Match", `"a"`)
	fr.Header.Add("If-None-Match", etag)
	var ctx fasthttp.RequestCtx
	ctx.Init(&fr, nil, nil)
	f.h.ServeFastHTTP(&ctx)
	if ctx.Response.StatusCode() != 304 {
		t.Errorf("two If-None-Match fields: status %d, want 304", ctx.Response.StatusCode())
	}
}

// TestJWKSFollowsRotation: SPEC §4 seen by a relying party polling
// /jwks.json with If-None-Match: a new key appears (new ETag) while it is
// still pending, at least propagation before it signs; a retired key stays
// until its signatures have expired, then goes.
func TestJWKSFollowsRotation(t *testing.T) {
	f := newJWKSFixture(t, keys.EdDSA)
	first, err := f.ring.Load().Sealing(f.now())
	if err != nil {
		t.Fatal(err)
	}
	etag := string(f.get(nil).Header.Peek("ETag"))
	var newKid string
	var seenAt, signsAt, goneAt time.Time
	for i := 0; i < 60 && goneAt.IsZero(); i++ {
		f.advance(t, 5*time.Minute)
		resp := f.get(map[string]string{"If-None-Match": etag})
		switch resp.StatusCode() {
		case 304:
		case 200:
			etag = string(resp.Header.Peek("ETag"))
			kids := publishedKeys(t, resp.Body())
			if newKid == "" && len(kids) == 2 {
				newKid, seenAt = kids[1], f.now()
			}
			if newKid != "" && len(kids) == 1 && kids[0] == newKid {
				goneAt = f.now()
			}
		default:
			t.Fatalf("status %d", resp.StatusCode())
		}
		if k, _ := f.ring.Load().Sealing(f.now()); newKid != "" && signsAt.IsZero() && k.KeyID() == newKid {
			signsAt = f.now()
		}
	}
	if newKid == "" || signsAt.IsZero() || goneAt.IsZero() {
		t.Fatalf("no full rotation seen: new %q signs %v gone %v", newKid, signsAt, goneAt)
	}
	if d := signsAt.Sub(seenAt); d < f.policy.Propagation {
		t.Errorf("the new key signed %s after it was published, want at least %s", d, f.policy.Propagation)
	}
	if d := goneAt.Sub(first.Retires); d < f.policy.MaxTokenTTL {
		t.Errorf("the old key left the set %s after it retired, want at least %s", d, f.policy.MaxTokenTTL)
	}
}

func TestJWKSMethodsAndMetadata(t *testing.T) {
	f := newJWKSFixture(t, keys.ES256)
	resp := do(f.h.ServeFastHTTP, req{method: "POST", uri: server.PathJWKS})
	if resp.StatusCode() != 405 || string(resp.Header.Peek("Allow")) != "GET, HEAD" {
		t.Errorf("POST: %d Allow %q", resp.StatusCode(), resp.Header.Peek("Allow"))
	}
	var md map[string]any
	if err := json.Unmarshal(do(f.h.ServeFastHTTP, req{method: "GET", uri: server.PathMetadata}).Body(), &md); err != nil {
		t.Fatal(err)
	}
	if md["jwks_uri"] != testIssuer+server.PathJWKS {
		t.Errorf("RFC 8414 §2 jwks_uri = %v", md["jwks_uri"])
	}
	// Without a JWKS the path is unknown.
	h := server.NewHandler(f.ep, server.HandlerOptions{Log: zerolog.Nop()})
	if resp := do(h.ServeFastHTTP, req{method: "GET", uri: server.PathJWKS}); resp.StatusCode() != 404 {
		t.Errorf("no JWKS configured: %d", resp.StatusCode())
	}
	if got := server.JWKSMaxAge(time.Hour); got != 900 {
		t.Errorf("max-age for 1h = %d", got)
	}
	if got := server.JWKSMaxAge(2 * time.Second); got != 1 {
		t.Errorf("max-age for 2s = %s", strconv.Itoa(got))
	}
}

var sharedJWKS *jwksFixture

// FuzzJWKSIfNoneMatch sends arbitrary If-None-Match values to /jwks.json:
// never a panic, only 200 or 304, and 304 only for a value that holds the
// current entity tag or "*".
func FuzzJWKSIfNoneMatch(f *testing.F) {
	for _, s := range []string{"", "*", `"abc"`, `W/"abc"`, `"a", "b" ,W/"c"`, `"`, `W/`, ",,,", "\"\x00\""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, inm string) {
		if sharedJWKS == nil {
			sharedJWKS = newJWKSFixture(t, keys.ES256)
		}
		fx := sharedJWKS
		resp := fx.get(map[string]string{"If-None-Match": inm})
		etag := string(resp.Header.Peek("ETag"))
		switch resp.StatusCode() {
		case 200:
			if len(resp.Body()) == 0 {
				t.Fatal("200 without the JWK Set")
			}
		case 304:
			if !strings.Contains(inm, etag) && !strings.Contains(inm, "*") {
				t.Fatalf("304 for If-None-Match %q, ETag %s", inm, etag)
			}
		default:
			t.Fatalf("status %d for If-None-Match %q", resp.StatusCode(), inm)
		}
	})
}
