package crypttoken

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/sealedtoken/issuer/pkg/keys"
)

var interopAlgs = []struct {
	alg  keys.Alg
	jose jose.KeyAlgorithm
}{
	{keys.A256KW, jose.A256KW},
	{keys.Direct, jose.DIRECT},
}

// rfc9068Claims are the RFC 9068 claims jwt.Claims lacks.
type rfc9068Claims struct {
	ClientID string `json:"client_id"`
	Scope    string `json:"scope"`
}

// TestGoJoseOpensOurs: SPEC §3, any conforming library given the key opens
// our tokens, with the typ header (RFC 9068 §2.1) and claims intact.
func TestGoJoseOpensOurs(t *testing.T) {
	for _, a := range interopAlgs {
		t.Run(string(a.alg), func(t *testing.T) {
			f := newFixture(t, a.alg)
			want := fullClaims()
			want.Audience = []string{testAudience}
			tok := f.seal(t, TypeAccess, want)

			parsed, err := jwt.ParseEncrypted(tok, []jose.KeyAlgorithm{a.jose}, []jose.ContentEncryption{jose.A256GCM})
			if err != nil {
				t.Fatal(err)
			}
			h := parsed.Headers[0]
			if h.KeyID != f.key.ID || h.Algorithm != string(a.jose) || h.ExtraHeaders[jose.HeaderType] != "at+jwt" {
				t.Errorf("header = %+v", h)
			}
			var std jwt.Claims
			var priv rfc9068Claims
			var all map[string]any
			if err := parsed.Claims(f.key.Material(), &std, &priv, &all); err != nil {
				t.Fatal(err)
			}
			err = std.ValidateWithLeeway(jwt.Expected{
				Issuer: testIssuer, AnyAudience: jwt.Audience{testAudience}, Time: testNow,
			}, 0)
			if err != nil {
				t.Fatal(err)
			}
			if std.Subject != want.Subject || std.ID != want.ID || !std.Expiry.Time().Equal(want.Expiry) ||
				!std.IssuedAt.Time().Equal(want.IssuedAt) || !std.NotBefore.Time().Equal(want.NotBefore) ||
				priv.ClientID != want.ClientID || priv.Scope != want.Scope {
				t.Errorf("go-jose read %+v %+v", std, priv)
			}
			if all["gen"] != float64(want.Generation) || all["redirect_uri"] != want.RedirectURI || all["fid"] != want.FamilyID {
				t.Errorf("go-jose read %v", all)
			}
			// And go-jose refuses it under another key.
			if err := parsed.Claims(testMaterial(8), &std); err == nil {
				t.Error("go-jose opened our token with the wrong key")
			}
		})
	}
}

// TestWeOpenGoJose: tokens go-jose writes (its own header member order and
// claim encoding) open here.
func TestWeOpenGoJose(t *testing.T) {
	for _, a := range interopAlgs {
		t.Run(string(a.alg), func(t *testing.T) {
			f := newFixture(t, a.alg)
			enc, err := jose.NewEncrypter(jose.A256GCM,
				jose.Recipient{Algorithm: a.jose, Key: f.key.Material(), KeyID: f.key.ID},
				(&jose.EncrypterOptions{}).WithType("at+jwt"))
			if err != nil {
				t.Fatal(err)
			}
			std := jwt.Claims{
				Issuer: testIssuer, Subject: "u-7", Audience: jwt.Audience{"https://x.example.com", testAudience},
				Expiry: jwt.NewNumericDate(testNow.Add(time.Minute)), NotBefore: jwt.NewNumericDate(testNow),
				IssuedAt: jwt.NewNumericDate(testNow), ID: "gj-1",
			}
			priv := rfc9068Claims{ClientID: "svc", Scope: "read write"}
			tok, err := jwt.Encrypted(enc).Claims(std).Claims(priv).Claims(map[string]any{"custom": []int{1, 2}}).Serialize()
			if err != nil {
				t.Fatal(err)
			}
			c, err := f.opener.Open(tok)
			if err != nil {
				t.Fatal(err)
			}
			if c.Subject != "u-7" || c.ID != "gj-1" || c.ClientID != "svc" || !c.HasScope("write") ||
				len(c.Audience) != 2 || !c.Expiry.Equal(testNow.Add(time.Minute)) || string(c.Extra["custom"]) != "[1,2]" {
				t.Errorf("opened %+v", c)
			}

			// go-jose without typ: refused as not an access token.
			plain, err := jose.NewEncrypter(jose.A256GCM, jose.Recipient{Algorithm: a.jose, Key: f.key.Material(), KeyID: f.key.ID}, nil)
			if err != nil {
				t.Fatal(err)
			}
			tok, err = jwt.Encrypted(plain).Claims(std).Serialize()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.opener.Open(tok); !errors.Is(err, ErrType) {
				t.Errorf("token without typ: %v, want ErrType", err)
			}
		})
	}
}

// jwcryptoScript opens each token given on stdin (one per line) with the
// key of the JWK Set in argv[1] that its kid names, and prints the headers
// and payloads as a JSON array. (jwcrypto 1.1, Debian 12's, takes a single
// JWK in deserialize; later versions also take the set.)
const jwcryptoScript = `
import json, sys
from jwcrypto import jwe, jwk
keyset = jwk.JWKSet.from_json(open(sys.argv[1]).read())
out = []
for line in sys.stdin.read().split():
    token = jwe.JWE()
    token.deserialize(line)
    token.decrypt(keyset.get_key(token.jose_header["kid"]))
    out.append({"header": json.loads(token.objects["protected"]), "claims": json.loads(token.payload)})
print(json.dumps(out))
`

// TestJWCryptoOpensOurs: Python jwcrypto, given the JWK Set a resource
// server would get (RFC 7517 §5, SPEC §4), opens our tokens.
func TestJWCryptoOpensOurs(t *testing.T) {
	python := jwcryptoPython(t)
	kw := newFixture(t, keys.A256KW)
	dir := testKey(t, "k-dir", keys.Direct, 11)
	ring := testRing(t, kw.key, dir)
	type jwkJSON struct {
		Kty string `json:"kty"`
		Kid string `json:"kid"`
		K   string `json:"k"`
		Alg string `json:"alg"`
		Use string `json:"use"`
	}
	var set struct {
		Keys []jwkJSON `json:"keys"`
	}
	for _, k := range ring.Load().Keys() {
		set.Keys = append(set.Keys, jwkJSON{Kty: "oct", Kid: k.ID, K: base64.RawURLEncoding.EncodeToString(k.Material()), Alg: string(k.Alg), Use: "enc"})
	}
	raw, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}

	var tokens []string
	var want []*Claims
	for _, key := range []*keys.Key{kw.key, dir} {
		s, err := NewSealer(testRing(t, key), WithClock(testClock))
		if err != nil {
			t.Fatal(err)
		}
		for _, typ := range types {
			c := fullClaims()
			c.Subject = "Zoë " + string(typ) + " \"quoted\" 😀"
			tok, err := s.Seal(typ, c)
			if err != nil {
				t.Fatal(err)
			}
			tokens = append(tokens, tok)
			want = append(want, c)
		}
	}
	out := runPython(t, python, jwcryptoScript, strings.Join(tokens, "\n"), path)
	var got []struct {
		Header map[string]any `json:"header"`
		Claims map[string]any `json:"claims"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if len(got) != len(tokens) {
		t.Fatalf("jwcrypto opened %d of %d tokens", len(got), len(tokens))
	}
	for i, g := range got {
		w := want[i]
		if g.Header["typ"] != string(types[i%numTypes]) || g.Header["enc"] != "A256GCM" {
			t.Errorf("token %d: header %v", i, g.Header)
		}
		c := g.Claims
		if c["sub"] != w.Subject || c["iss"] != w.Issuer || c["jti"] != w.ID || c["scope"] != w.Scope ||
			c["exp"] != float64(w.Expiry.Unix()) || c["code_challenge"] != w.CodeChallenge {
			t.Errorf("token %d: jwcrypto read %v", i, c)
		}
	}
}

// TestGoJoseNestedInterop: a signed access token is a standard nested JWT
// (RFC 7519 §11.2): go-jose decrypts it, verifies the inner JWS with the
// signing key's public half and reads the claims; and a nested JWT that
// go-jose builds (its own header order and encoding) opens here with the
// signature required.
func TestGoJoseNestedInterop(t *testing.T) {
	for _, a := range interopAlgs {
		t.Run(string(a.alg), func(t *testing.T) {
			f := newSignedFixture(t, a.alg, keys.ES256)
			want := accessClaims()
			tok := f.sealSigned(t, want)

			nested, err := jwt.ParseSignedAndEncrypted(tok, []jose.KeyAlgorithm{a.jose}, []jose.ContentEncryption{jose.A256GCM}, []jose.SignatureAlgorithm{jose.ES256})
			if err != nil {
				t.Fatal(err)
			}
			if cty := nested.Headers[0].ExtraHeaders[jose.HeaderContentType]; cty != "JWT" {
				t.Errorf("cty = %v", cty)
			}
			inner, err := nested.Decrypt(f.key.Material())
			if err != nil {
				t.Fatal(err)
			}
			var std jwt.Claims
			var priv rfc9068Claims
			if err := inner.Claims(f.signKey.Public(), &std, &priv); err != nil {
				t.Fatalf("go-jose verifying the inner JWS: %v", err)
			}
			if std.Subject != want.Subject || priv.Scope != want.Scope || inner.Headers[0].ExtraHeaders[jose.HeaderType] != "at+jwt" {
				t.Errorf("go-jose read %+v %+v %+v", std, priv, inner.Headers[0])
			}

			// go-jose builds one, signed by a key of the signing ring; we
			// open it.
			ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			sk, err := keys.NewSigningKey("k-gojose", keys.ES256, ecKey, testLifecycle())
			if err != nil {
				t.Fatal(err)
			}
			set, err := keys.NewSet(keys.SigningRing, f.signKey, sk)
			if err != nil {
				t.Fatal(err)
			}
			f.signRing.Store(set)
			signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: ecKey, KeyID: sk.ID}},
				(&jose.SignerOptions{}).WithType("at+jwt"))
			if err != nil {
				t.Fatal(err)
			}
			enc, err := jose.NewEncrypter(jose.A256GCM, jose.Recipient{Algorithm: a.jose, Key: f.key.Material(), KeyID: f.key.ID},
				(&jose.EncrypterOptions{}).WithType("at+jwt").WithContentType("JWT"))
			if err != nil {
				t.Fatal(err)
			}
			theirs, err := jwt.SignedAndEncrypted(signer, enc).Claims(jwt.Claims{
				Issuer: testIssuer, Subject: "u-7", Audience: jwt.Audience{testAudience},
				Expiry: jwt.NewNumericDate(testNow.Add(time.Minute)),
			}).Serialize()
			if err != nil {
				t.Fatal(err)
			}
			got, err := f.strict.Open(theirs)
			if err != nil {
				t.Fatalf("opening go-jose's nested JWT: %v", err)
			}
			if got.Subject != "u-7" {
				t.Errorf("subject %q", got.Subject)
			}
		})
	}
}

// jwcryptoNestedScript opens each token on stdin the way a Python resource
// server would open a signed access token (RFC 7519 §11.2): it decrypts the
// JWE with the key of the encryption JWK Set (argv[1]) its kid names,
// requires cty "JWT", and verifies the inner JWS with the key of the
// signing ring's public JWK Set (argv[2]) the JWS's kid names. It prints,
// per token, the inner header and claims, or the error that stopped it.
const jwcryptoNestedScript = `
import json, sys
from jwcrypto import jwe, jwk, jws
enc_keys = jwk.JWKSet.from_json(open(sys.argv[1]).read())
sig_keys = jwk.JWKSet.from_json(open(sys.argv[2]).read())
out = []
for line in sys.stdin.read().split():
    try:
        outer = jwe.JWE()
        outer.deserialize(line)
        outer.decrypt(enc_keys.get_key(outer.jose_header["kid"]))
        if outer.jose_header.get("cty") != "JWT":
            raise ValueError("cty %r" % outer.jose_header.get("cty"))
        inner = jws.JWS()
        inner.deserialize(outer.payload.decode())
        key = sig_keys.get_key(inner.jose_header["kid"])
        if key is None:
            raise ValueError("no signing key %r" % inner.jose_header["kid"])
        inner.verify(key)
        out.append({"header": inner.jose_header, "claims": json.loads(inner.payload)})
    except Exception as e:
        out.append({"error": "%s: %s" % (type(e).__name__, e)})
print(json.dumps(out))
`

// TestJWCryptoOpensSigned: Python jwcrypto, given the audience's JWK Set
// and the issuer's published signing keys (jwks_uri), opens a signed
// access token and verifies its inner signature, for each content-key
// algorithm and signing algorithm. Then it plays an attacker who holds the
// audience's encryption key (any resource server of that audience) and
// re-encrypts the token with one signature byte changed: jwcrypto must
// refuse it, as the Opener with WithSignedTokens does.
func TestJWCryptoOpensSigned(t *testing.T) {
	python := jwcryptoPython(t)
	for _, a := range interopAlgs {
		for _, sigAlg := range []keys.Alg{keys.ES256, keys.EdDSA, keys.RS256} {
			t.Run(string(a.alg)+"/"+string(sigAlg), func(t *testing.T) {
				f := newSignedFixture(t, a.alg, sigAlg)
				want := accessClaims()
				tok := f.sealSigned(t, want)

				// The attacker's token: the same header and JWS with the
				// signature's first byte changed, encrypted anew.
				jwsParts := strings.Split(f.plaintext(t, tok), ".")
				sig, err := base64.RawURLEncoding.DecodeString(jwsParts[2])
				if err != nil {
					t.Fatal(err)
				}
				sig[0] ^= 0x01
				jwsParts[2] = base64.RawURLEncoding.EncodeToString(sig)
				hdr, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
				if err != nil {
					t.Fatal(err)
				}
				forged := forge(t, f.key, string(hdr), strings.Join(jwsParts, "."))
				if _, err := f.strict.Open(forged); err == nil {
					t.Fatal("our Opener accepted the re-signed token")
				}

				dir := t.TempDir()
				encSet, err := keys.ExportJWKS(f.ring.Load(), testNow)
				if err != nil {
					t.Fatal(err)
				}
				sigSet, err := keys.ExportJWKS(f.signRing.Load(), testNow)
				if err != nil {
					t.Fatal(err)
				}
				encPath, sigPath := filepath.Join(dir, "enc.json"), filepath.Join(dir, "sig.json")
				if err := os.WriteFile(encPath, encSet, 0o600); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(sigPath, sigSet, 0o600); err != nil {
					t.Fatal(err)
				}
				out := runPython(t, python, jwcryptoNestedScript, tok+"\n"+forged, encPath, sigPath)
				var got []struct {
					Header map[string]any `json:"header"`
					Claims map[string]any `json:"claims"`
					Error  string         `json:"error"`
				}
				if err := json.Unmarshal(out, &got); err != nil || len(got) != 2 {
					t.Fatalf("jwcrypto output %s: %v", out, err)
				}
				g := got[0]
				if g.Error != "" {
					t.Fatalf("jwcrypto could not open and verify our signed token: %s", g.Error)
				}
				if g.Header["alg"] != string(sigAlg) || g.Header["kid"] != f.signKey.ID || g.Header["typ"] != string(TypeAccess) {
					t.Errorf("inner header as jwcrypto read it: %v", g.Header)
				}
				if c := g.Claims; c["sub"] != want.Subject || c["iss"] != want.Issuer || c["jti"] != want.ID ||
					c["scope"] != want.Scope || c["client_id"] != want.ClientID || c["exp"] != float64(want.Expiry.Unix()) {
					t.Errorf("claims as jwcrypto read them: %v", c)
				}
				if got[1].Error == "" {
					t.Fatalf("jwcrypto verified the token whose signature the attacker changed: %v", got[1].Claims)
				}
			})
		}
	}
}

// jwcryptoPython returns the python3 that has jwcrypto. Without it the
// test is skipped with how to install it, except under CI, which installs
// it and where the test must run.
func jwcryptoPython(t *testing.T) string {
	t.Helper()
	const python = "/usr/bin/python3"
	if err := exec.Command(python, "-c", "import jwcrypto").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("python3 with jwcrypto is required under CI: %v", err)
		}
		t.Skipf("python3-jwcrypto not available (apt-get install python3-jwcrypto): %v", err)
	}
	return python
}

// runPython runs script with args, stdin on its standard input, and
// returns its standard output; a failure reports its standard error.
func runPython(t *testing.T, python, script, stdin string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(python, append([]string{"-c", script}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("jwcrypto: %v\n%s", err, ee.Stderr)
		}
		t.Fatal(err)
	}
	return out
}
