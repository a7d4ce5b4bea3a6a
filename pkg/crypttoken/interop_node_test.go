package crypttoken

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sealedtoken/issuer/pkg/keys"
)

// nodeDir holds open.mjs and the package.json and package-lock.json that pin
// npm jose. Its node_modules is installed by `npm ci` (.ci/run does it) and
// is not committed; `go test` never installs anything.
const nodeDir = "testdata/node"

// nodeInstallHint is how a developer gets what TestNodeJoseOpensOurs needs.
const nodeInstallHint = "npm jose not installed: run (cd pkg/crypttoken/testdata/node && npm ci)"

// requireNodeJose returns the node binary and the installed npm jose
// version, or skips the test with the install hint (fails it under CI=true)
// when node is missing or older than 20, or node_modules/jose is absent or
// not the version package.json pins: a stale install would test another library than the
// one the lock file names.
func requireNodeJose(t *testing.T) (node, version string) {
	t.Helper()
	missing := func(why string, err error) {
		t.Helper()
		if os.Getenv("CI") == "true" {
			t.Fatalf("node and npm jose are required under CI: %s: %v", why, err)
		}
		t.Skipf("%s (%s: %v)", nodeInstallHint, why, err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node not found", err)
	}
	// jose 6 runs on the Web Crypto API globals, which Node has without a
	// flag from version 20 (package.json's engines); Debian 12's nodejs is 18.
	v, err := exec.Command(node, "--version").Output()
	if err != nil {
		missing("node --version", err)
	}
	major, _, _ := strings.Cut(strings.TrimPrefix(strings.TrimSpace(string(v)), "v"), ".")
	if n, err := strconv.Atoi(major); err != nil || n < 20 {
		missing("node too old", fmt.Errorf("node %s, jose 6 needs >= 20", bytes.TrimSpace(v)))
	}
	var pkg struct {
		Dependencies map[string]string `json:"dependencies"`
	}
	raw, err := os.ReadFile(filepath.Join(nodeDir, "package.json"))
	if err != nil {
		t.Fatal(err) // committed: its absence is a broken checkout, not a missing tool
	}
	if err := json.Unmarshal(raw, &pkg); err != nil || pkg.Dependencies["jose"] == "" {
		t.Fatalf("%s/package.json does not pin jose: %v", nodeDir, err)
	}
	var installed struct {
		Version string `json:"version"`
	}
	raw, err = os.ReadFile(filepath.Join(nodeDir, "node_modules", "jose", "package.json"))
	if err == nil {
		err = json.Unmarshal(raw, &installed)
	}
	if err != nil {
		missing("reading node_modules/jose/package.json", err)
	}
	if installed.Version != pkg.Dependencies["jose"] {
		missing("stale install", fmt.Errorf("node_modules has jose %s, package.json pins %s", installed.Version, pkg.Dependencies["jose"]))
	}
	return node, installed.Version
}

// nodeAccessClaims are access-token claims that exercise the encoder: two
// audiences (an array), every RFC 9068 §2.2 claim plus nbf and auth_time,
// a subject that needs JSON escapes and non-ASCII, and extra claims of each
// JSON kind. Generation is left out: a uint64 beyond 2^53 is not a
// JavaScript number, and access tokens do not carry it.
func nodeAccessClaims() *Claims {
	c := accessClaims()
	c.Subject = "Zoë \"quoted\" \\ \u2028 😀"
	c.Audience = []string{"https://other.example.com", testAudience}
	c.NotBefore = testNow.Add(-time.Second)
	c.AuthTime = testNow.Add(-time.Hour)
	c.Extra = map[string]json.RawMessage{
		"acr":   json.RawMessage(`"urn:mace:incommon:iap:silver"`),
		"roles": json.RawMessage(`["a","b"]`),
		"n":     json.RawMessage(`-1.5e3`), "ok": json.RawMessage(`true`), "nil": json.RawMessage(`null`),
	}
	c.Confirmation = Confirmation{X5TS256: "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"}
	c.Status = StatusRef{Index: 42, URI: "https://issuer.example.com/statuslists/1"}
	return c
}

// claimsAsJSON is c as a JSON decoder sees the claims set, built field by
// field from c (not through the encoder under test): strings and dates are
// present when set, dates are NumericDate seconds (RFC 7519 §2), aud is a
// string when it holds one value (RFC 7519 §4.1.3), extras as they decode.
func claimsAsJSON(t *testing.T, c *Claims) map[string]any {
	t.Helper()
	m := map[string]any{}
	for name, v := range map[string]string{
		"iss": c.Issuer, "sub": c.Subject, "jti": c.ID, "client_id": c.ClientID, "scope": c.Scope,
		"fid": c.FamilyID, "resource": c.Resource, "redirect_uri": c.RedirectURI,
		"code_challenge": c.CodeChallenge, "code_challenge_method": c.CodeChallengeMethod,
	} {
		if v != "" {
			m[name] = v
		}
	}
	for name, v := range map[string]time.Time{"exp": c.Expiry, "nbf": c.NotBefore, "iat": c.IssuedAt, "auth_time": c.AuthTime} {
		if !v.IsZero() {
			m[name] = float64(v.Unix())
		}
	}
	switch len(c.Audience) {
	case 0:
	case 1:
		m["aud"] = c.Audience[0]
	default:
		aud := make([]any, len(c.Audience))
		for i, a := range c.Audience {
			aud[i] = a
		}
		m["aud"] = aud
	}
	if c.Generation != 0 {
		m["gen"] = float64(c.Generation)
	}
	if !c.Confirmation.IsZero() {
		cnf := map[string]any{}
		if c.Confirmation.JKT != "" {
			cnf["jkt"] = c.Confirmation.JKT
		}
		if c.Confirmation.X5TS256 != "" {
			cnf["x5t#S256"] = c.Confirmation.X5TS256
		}
		m["cnf"] = cnf
	}
	if !c.Status.IsZero() {
		m["status"] = map[string]any{"status_list": map[string]any{"idx": float64(c.Status.Index), "uri": c.Status.URI}}
	}
	for name, raw := range c.Extra {
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			t.Fatal(err)
		}
		m[name] = v
	}
	return m
}

// tamperSegment returns tok with the first character of its compact JWE
// segment i (RFC 7516 §7.1: 0 header, 1 encrypted key, 2 IV, 3 ciphertext,
// 4 tag) changed. The first character carries the segment's top six bits,
// never padding bits, so the decoded bytes always change.
func tamperSegment(t *testing.T, tok string, i int) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 5 || parts[i] == "" {
		t.Fatalf("cannot tamper with segment %d of a %d-part token", i, len(parts))
	}
	b := []byte(parts[i])
	if b[0] == 'A' {
		b[0] = 'B'
	} else {
		b[0] = 'A'
	}
	parts[i] = string(b)
	return strings.Join(parts, ".")
}

// TestNodeJoseOpensOurs: SPEC §3, npm jose, given the JWK Set a resource
// server gets (keys.ExportJWKS, RFC 7517 §5, SPEC §4), opens our access
// tokens under both algorithms with its own iss/aud/typ/exp/nbf checks and
// reads every claim as sealed; and it refuses tampered tokens, a wrong key,
// an unknown kid, and tokens its checks reject.
func TestNodeJoseOpensOurs(t *testing.T) {
	node, version := requireNodeJose(t)
	t.Logf("npm jose %s", version)

	kw := testKey(t, "k-A256KW", keys.A256KW, 7)
	dir := testKey(t, "k-dir", keys.Direct, 11)
	set, err := keys.NewSet(testAudience, kw, dir)
	if err != nil {
		t.Fatal(err)
	}
	jwks, err := keys.ExportJWKS(set, testNow)
	if err != nil {
		t.Fatal(err)
	}
	sealWith := func(key *keys.Key, typ Type, c *Claims) string {
		t.Helper()
		s, err := NewSealer(testRing(t, key), WithClock(testClock))
		if err != nil {
			t.Fatal(err)
		}
		tok, err := s.Seal(typ, c)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	// Keys that are not in the exported set: one under a kid the set lacks,
	// one under the set's kid with other material.
	stranger := testKey(t, "k-stranger", keys.A256KW, 9)
	impostor := testKey(t, kw.ID, keys.A256KW, 8)

	full := nodeAccessClaims()
	one := accessClaims()
	kwTok := sealWith(kw, TypeAccess, full)
	dirTok := sealWith(dir, TypeAccess, full)
	// A header with a member added: still valid JSON naming the same key,
	// but no longer the additional authenticated data (RFC 7516 §5.1 step 14).
	hdr := headerJSON(kw, TypeAccess)
	addedMember := base64.RawURLEncoding.EncodeToString([]byte(hdr[:len(hdr)-1]+`,"x":1}`)) +
		kwTok[strings.IndexByte(kwTok, '.'):]

	const (
		decryptFailed = "ERR_JWE_DECRYPTION_FAILED"
		claimFailed   = "ERR_JWT_CLAIM_VALIDATION_FAILED"
	)
	tests := []struct {
		name     string
		token    string
		key      *keys.Key // the key that sealed it, for the header check
		want     *Claims   // nil: node must refuse it
		issuer   string    // default testIssuer
		audience string    // default testAudience
		now      time.Time // default testNow
		code     string    // the jose error code when refused
		claim    string    // the claim a validation failure names
	}{
		{name: "A256KW, every claim", token: kwTok, key: kw, want: full},
		{name: "dir, every claim", token: dirTok, key: dir, want: full},
		{name: "A256KW, one audience as a string", token: sealWith(kw, TypeAccess, one), key: kw, want: one},
		{name: "dir, one audience as a string", token: sealWith(dir, TypeAccess, one), key: dir, want: one},
		{name: "A256KW, at the last second before exp (RFC 7519 §4.1.4)", token: kwTok, key: kw, want: full,
			now: full.Expiry.Add(-time.Second)},

		{name: "A256KW, tampered ciphertext", token: tamperSegment(t, kwTok, 3), code: decryptFailed},
		{name: "dir, tampered ciphertext", token: tamperSegment(t, dirTok, 3), code: decryptFailed},
		{name: "A256KW, tampered tag", token: tamperSegment(t, kwTok, 4), code: decryptFailed},
		{name: "dir, tampered IV", token: tamperSegment(t, dirTok, 2), code: decryptFailed},
		{name: "A256KW, tampered encrypted key", token: tamperSegment(t, kwTok, 1), code: decryptFailed},
		{name: "A256KW, header member added (AAD)", token: addedMember, code: decryptFailed},
		{name: "A256KW, same kid, other key", token: sealWith(impostor, TypeAccess, full), code: decryptFailed},
		{name: "kid not in the JWK Set", token: sealWith(stranger, TypeAccess, full), code: "ERR_UNKNOWN_KID"},
		{name: "refresh token where an access token is expected (RFC 9068 §4 typ)",
			token: sealWith(kw, TypeRefresh, full), code: claimFailed, claim: "typ"},
		{name: "other audience (RFC 7519 §4.1.3)", token: kwTok, audience: "https://elsewhere.example.com",
			code: claimFailed, claim: "aud"},
		{name: "other issuer (RFC 7519 §4.1.1)", token: dirTok, issuer: "https://evil.example.com",
			code: claimFailed, claim: "iss"},
		{name: "expired (RFC 7519 §4.1.4)", token: dirTok, now: full.Expiry, code: "ERR_JWT_EXPIRED", claim: "exp"},
		{name: "before nbf (RFC 7519 §4.1.5)", token: kwTok, now: full.NotBefore.Add(-time.Second),
			code: claimFailed, claim: "nbf"},
	}

	type nodeCase struct {
		Name     string `json:"name"`
		Token    string `json:"token"`
		Issuer   string `json:"issuer"`
		Audience string `json:"audience"`
		Typ      string `json:"typ"`
		Now      int64  `json:"now"`
	}
	var in struct {
		Cases []nodeCase `json:"cases"`
	}
	for _, tt := range tests {
		c := nodeCase{Name: tt.name, Token: tt.token, Issuer: tt.issuer, Audience: tt.audience,
			Typ: string(TypeAccess), Now: tt.now.Unix()}
		if c.Issuer == "" {
			c.Issuer = testIssuer
		}
		if c.Audience == "" {
			c.Audience = testAudience
		}
		if tt.now.IsZero() {
			c.Now = testNow.Unix()
		}
		in.Cases = append(in.Cases, c)
	}
	casesJSON, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	jwksPath, casesPath := filepath.Join(tmp, "jwks.json"), filepath.Join(tmp, "tokens.json")
	if err := os.WriteFile(jwksPath, jwks, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(casesPath, casesJSON, 0o600); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, node, filepath.Join(nodeDir, "open.mjs"), jwksPath, casesPath).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("node open.mjs: %v\n%s", err, ee.Stderr)
		}
		t.Fatal(err)
	}
	var got []struct {
		Name   string         `json:"name"`
		Header map[string]any `json:"header"`
		Claims map[string]any `json:"claims"`
		Error  *struct {
			Code    string `json:"code"`
			Claim   string `json:"claim"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if len(got) != len(tests) {
		t.Fatalf("node answered %d of %d cases", len(got), len(tests))
	}

	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := got[i]
			if g.Name != tt.name {
				t.Fatalf("answer %d is for %q", i, g.Name)
			}
			if tt.want == nil {
				if g.Error == nil {
					t.Fatalf("npm jose opened it: %v", g.Claims)
				}
				if g.Error.Code != tt.code || g.Error.Claim != tt.claim {
					t.Errorf("npm jose refused it with %s (claim %q): %s; want %s (claim %q)",
						g.Error.Code, g.Error.Claim, g.Error.Message, tt.code, tt.claim)
				}
				return
			}
			if g.Error != nil {
				t.Fatalf("npm jose refused it: %s (claim %q): %s", g.Error.Code, g.Error.Claim, g.Error.Message)
			}
			wantHeader := map[string]any{"alg": string(tt.key.Alg), "enc": "A256GCM", "kid": tt.key.ID, "typ": string(TypeAccess)}
			if !reflect.DeepEqual(g.Header, wantHeader) {
				t.Errorf("header = %v, want %v", g.Header, wantHeader)
			}
			want := claimsAsJSON(t, tt.want)
			names := make([]string, 0, len(want)+len(g.Claims))
			for name := range want {
				names = append(names, name)
			}
			for name := range g.Claims {
				if _, ok := want[name]; !ok {
					names = append(names, name)
				}
			}
			slices.Sort(names)
			for _, name := range names {
				w, inWant := want[name]
				v, inGot := g.Claims[name]
				if inWant != inGot || !reflect.DeepEqual(v, w) {
					t.Errorf("claim %q: npm jose read %#v (present %t), want %#v (present %t)", name, v, inGot, w, inWant)
				}
			}
		})
	}
}
