package bench

// Side-by-side benchmarks of pkg/crypttoken against go-jose v4 (SPEC §8:
// open+validate and seal each at least 5x faster than go-jose, for A256KW
// and dir). Both implementations work on the same claims with the same key
// bytes, and both open the very same token (sealed by crypttoken: the
// tokens are standard compact JWE, so go-jose opens them as they are).
// Figures and the exact command are in RESULTS-crypto.md.
//
// BenchmarkOpen also measures the floor of SPEC §8 in the same run
// (impl=floor): what opening the same token cannot go below — base64url
// decoding of its parts and one AES-256-GCM open of its ciphertext with
// its header as additional data, with the content key known in advance
// (for A256KW it is unwrapped once, outside the loop) and every buffer
// reused. The gap between impl=crypttoken and impl=floor is what key
// unwrapping (A256KW), header checks, claim parsing and validation cost.

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	josecipher "github.com/go-jose/go-jose/v4/cipher"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/sealedtoken/issuer/pkg/crypttoken"
	"github.com/sealedtoken/issuer/pkg/keys"
)

const (
	benchIssuer   = "https://issuer.example.com"
	benchAudience = "https://api.example.com"
)

// benchMaterial is the key both implementations use.
var benchMaterial = []byte("0123456789abcdef0123456789abcdef")

// benchAlgs pairs our key algorithms with go-jose's names for them.
var benchAlgs = []struct {
	alg  keys.Alg
	jose jose.KeyAlgorithm
}{
	{keys.A256KW, jose.A256KW},
	{keys.Direct, jose.DIRECT},
}

// privateClaims are the RFC 9068 claims that jwt.Claims does not cover.
type privateClaims struct {
	ClientID string `json:"client_id"`
	Scope    string `json:"scope"`
}

// benchClaims returns a realistic RFC 9068 access token's claims in both
// libraries' types. The jti and iat are fixed so that neither
// implementation spends time generating them.
func benchClaims(now time.Time) (*crypttoken.Claims, *jwt.Claims, *privateClaims) {
	iat := now.Truncate(time.Second)
	exp := iat.Add(10 * time.Minute)
	const (
		sub      = "u-1001"
		jti      = "4sG1nqPXbLu9vW6QyGd1Xw"
		clientID = "webapp"
		scope    = "openid profile read write"
	)
	ours := &crypttoken.Claims{
		Issuer: benchIssuer, Subject: sub, Audience: []string{benchAudience},
		Expiry: exp, IssuedAt: iat, ID: jti, ClientID: clientID, Scope: scope,
	}
	std := &jwt.Claims{
		Issuer: benchIssuer, Subject: sub, Audience: jwt.Audience{benchAudience},
		Expiry: jwt.NewNumericDate(exp), IssuedAt: jwt.NewNumericDate(iat), ID: jti,
	}
	return ours, std, &privateClaims{ClientID: clientID, Scope: scope}
}

// benchRing returns a ring holding one active key with benchMaterial.
func benchRing(b *testing.B, alg keys.Alg, now time.Time) (*keys.Ring, *keys.Key) {
	b.Helper()
	k, err := keys.NewKey("bench-"+string(alg), alg, benchMaterial, keys.Lifecycle{
		Created: now.Add(-time.Hour), Activates: now.Add(-time.Hour),
		Retires: now.Add(24 * time.Hour), Expires: now.Add(48 * time.Hour),
	})
	if err != nil {
		b.Fatal(err)
	}
	set, err := keys.NewSet(benchAudience, k)
	if err != nil {
		b.Fatal(err)
	}
	return keys.NewRing(set), k
}

func BenchmarkSeal(b *testing.B) {
	for _, a := range benchAlgs {
		b.Run("impl=crypttoken/alg="+string(a.alg), func(b *testing.B) {
			now := time.Now()
			ring, _ := benchRing(b, a.alg, now)
			s, err := crypttoken.NewSealer(ring)
			if err != nil {
				b.Fatal(err)
			}
			c, _, _ := benchClaims(now)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Seal(crypttoken.TypeAccess, c); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("impl=gojose/alg="+string(a.alg), func(b *testing.B) {
			now := time.Now()
			_, k := benchRing(b, a.alg, now)
			// One encrypter for the whole run, as a server would keep it.
			enc, err := jose.NewEncrypter(jose.A256GCM,
				jose.Recipient{Algorithm: a.jose, Key: benchMaterial, KeyID: k.ID},
				(&jose.EncrypterOptions{}).WithType("at+jwt"))
			if err != nil {
				b.Fatal(err)
			}
			_, std, priv := benchClaims(now)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := jwt.Encrypted(enc).Claims(std).Claims(priv).Serialize(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkOpen(b *testing.B) {
	for _, a := range benchAlgs {
		now := time.Now()
		ring, _ := benchRing(b, a.alg, now)
		s, err := crypttoken.NewSealer(ring)
		if err != nil {
			b.Fatal(err)
		}
		c, _, _ := benchClaims(now)
		token, err := s.Seal(crypttoken.TypeAccess, c)
		if err != nil {
			b.Fatal(err)
		}

		b.Run("impl=crypttoken/alg="+string(a.alg), func(b *testing.B) {
			o, err := crypttoken.NewOpener(ring, crypttoken.Expected{Issuer: benchIssuer, Audience: benchAudience})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				c, err := o.Open(token)
				if err != nil || c.ClientID != "webapp" {
					b.Fatal(err)
				}
			}
		})
		b.Run("impl=floor/alg="+string(a.alg), func(b *testing.B) {
			parts := strings.Split(token, ".")
			if len(parts) != 5 {
				b.Fatalf("token has %d parts", len(parts))
			}
			key := benchMaterial
			if a.alg == keys.A256KW {
				// The content key, unwrapped once: the floor opens with it.
				wrapped, err := base64.RawURLEncoding.DecodeString(parts[1])
				if err != nil {
					b.Fatal(err)
				}
				blk, err := aes.NewCipher(benchMaterial)
				if err != nil {
					b.Fatal(err)
				}
				if key, err = josecipher.KeyUnwrap(blk, wrapped); err != nil {
					b.Fatal(err)
				}
			}
			blk, err := aes.NewCipher(key)
			if err != nil {
				b.Fatal(err)
			}
			gcm, err := cipher.NewGCM(blk)
			if err != nil {
				b.Fatal(err)
			}
			enc := base64.RawURLEncoding
			iv := make([]byte, enc.DecodedLen(len(parts[2])))
			sealed := make([]byte, enc.DecodedLen(len(parts[3]))+enc.DecodedLen(len(parts[4])))
			aad := []byte(parts[0]) // RFC 7516 §5.1 step 14: the encoded header, as sent
			var plain []byte
			b.ReportAllocs()
			for b.Loop() {
				if _, err := enc.Decode(iv, []byte(parts[2])); err != nil {
					b.Fatal(err)
				}
				n, err := enc.Decode(sealed, []byte(parts[3]))
				if err != nil {
					b.Fatal(err)
				}
				if _, err := enc.Decode(sealed[n:], []byte(parts[4])); err != nil {
					b.Fatal(err)
				}
				if plain, err = gcm.Open(sealed[:0], iv, sealed, aad); err != nil {
					b.Fatal(err)
				}
			}
			if !strings.Contains(string(plain), `"client_id":"webapp"`) {
				b.Fatalf("the floor opened something else: %q", plain)
			}
		})
		b.Run("impl=gojose/alg="+string(a.alg), func(b *testing.B) {
			keyAlgs := []jose.KeyAlgorithm{a.jose}
			encs := []jose.ContentEncryption{jose.A256GCM}
			b.ReportAllocs()
			for b.Loop() {
				tok, err := jwt.ParseEncrypted(token, keyAlgs, encs)
				if err != nil {
					b.Fatal(err)
				}
				if typ, _ := tok.Headers[0].ExtraHeaders[jose.HeaderType].(string); typ != "at+jwt" {
					b.Fatalf("typ %q", typ)
				}
				var std jwt.Claims
				var priv privateClaims
				if err := tok.Claims(benchMaterial, &std, &priv); err != nil {
					b.Fatal(err)
				}
				err = std.ValidateWithLeeway(jwt.Expected{
					Issuer: benchIssuer, AnyAudience: jwt.Audience{benchAudience},
				}, 0)
				if err != nil || priv.ClientID != "webapp" {
					b.Fatal(err)
				}
			}
		})
	}
}
