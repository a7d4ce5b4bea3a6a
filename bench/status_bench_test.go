package bench

// The resource server's side of SPEC §9, measured beside plain Open and
// beside go-jose doing the same work:
//
//   - BenchmarkOpenStatus: Open with the Token Status List check
//     (crypttoken.WithStatus: a map lookup by the list's URI and a bit
//     test) beside plain Open of the same token (target: at most 100 ns
//     more), and go-jose opening and validating it, then reading the
//     status claim and doing the same lookup in the same statuslist.Lists.
//   - BenchmarkSealSigned and BenchmarkOpenSigned: signed access tokens
//     (audiences[].sign, a JWS nested in the JWE) beside unsigned ones,
//     per signing algorithm, and go-jose building and reading the same
//     nested JWT.
//
// Figures and the exact command are in RESULTS-rsc.md.

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/sealedtoken/issuer/pkg/crypttoken"
	"github.com/sealedtoken/issuer/pkg/jws"
	"github.com/sealedtoken/issuer/pkg/keys"
	"github.com/sealedtoken/issuer/pkg/statuslist"
)

// benchStatus is a StatusSource holding a fixed snapshot.
type benchStatus struct{ lists *statuslist.Lists }

func (s *benchStatus) StatusLists() *statuslist.Lists { return s.lists }
func (s *benchStatus) Missing(string)                 {}

// benchLists returns a snapshot as a resource server holds it after a
// while: 8 lists (replicas and epochs) of 2^20 one-bit entries, with every
// 97th entry revoked, and the URI of one of them.
func benchLists(b *testing.B) (*statuslist.Lists, string) {
	b.Helper()
	lists := statuslist.NewLists(statuslist.Limits{})
	var uri string
	for i := range 8 {
		l, err := statuslist.New(1, 1<<20)
		if err != nil {
			b.Fatal(err)
		}
		for j := uint64(0); j < 1<<20; j += 97 {
			if err := l.Set(j, statuslist.Invalid); err != nil {
				b.Fatal(err)
			}
		}
		uri = fmt.Sprintf("https://issuer.example.com/statuslists/r%08x-e%d", 0x5eed0000+i, i)
		if lists, err = lists.With(uri, l); err != nil {
			b.Fatal(err)
		}
	}
	return lists, uri
}

// statusClaim is the status claim as go-jose's JSON decoding reads it.
type statusClaim struct {
	Status struct {
		StatusList struct {
			Idx uint64 `json:"idx"`
			URI string `json:"uri"`
		} `json:"status_list"`
	} `json:"status"`
}

var errBenchRevoked = errors.New("revoked")

func BenchmarkOpenStatus(b *testing.B) {
	lists, uri := benchLists(b)
	const idx = 123_456 // not a multiple of 97: valid
	for _, a := range benchAlgs {
		now := time.Now()
		ring, _ := benchRing(b, a.alg, now)
		s, err := crypttoken.NewSealer(ring)
		if err != nil {
			b.Fatal(err)
		}
		c, _, _ := benchClaims(now)
		c.Status = crypttoken.StatusRef{Index: idx, URI: uri}
		token, err := s.Seal(crypttoken.TypeAccess, c)
		if err != nil {
			b.Fatal(err)
		}
		exp := crypttoken.Expected{Issuer: benchIssuer, Audience: benchAudience}

		b.Run("impl=crypttoken/check=none/alg="+string(a.alg), func(b *testing.B) {
			o, err := crypttoken.NewOpener(ring, exp)
			if err != nil {
				b.Fatal(err)
			}
			cpuLoop(b, func() error { _, err := o.Open(token); return err })
		})
		b.Run("impl=crypttoken/check=status/alg="+string(a.alg), func(b *testing.B) {
			o, err := crypttoken.NewOpener(ring, exp, crypttoken.WithStatus(&benchStatus{lists}, crypttoken.StatusPolicy{}))
			if err != nil {
				b.Fatal(err)
			}
			cpuLoop(b, func() error { _, err := o.Open(token); return err })
		})
		b.Run("impl=gojose/check=status/alg="+string(a.alg), func(b *testing.B) {
			keyAlgs := []jose.KeyAlgorithm{a.jose}
			encs := []jose.ContentEncryption{jose.A256GCM}
			src := &benchStatus{lists}
			cpuLoop(b, func() error {
				tok, err := jwt.ParseEncrypted(token, keyAlgs, encs)
				if err != nil {
					return err
				}
				if typ, _ := tok.Headers[0].ExtraHeaders[jose.HeaderType].(string); typ != "at+jwt" {
					return fmt.Errorf("typ %q", typ)
				}
				var std jwt.Claims
				var priv privateClaims
				var st statusClaim
				if err := tok.Claims(benchMaterial, &std, &priv, &st); err != nil {
					return err
				}
				if err := std.ValidateWithLeeway(jwt.Expected{Issuer: benchIssuer, AnyAudience: jwt.Audience{benchAudience}}, 0); err != nil {
					return err
				}
				ref := statuslist.Reference{Index: st.Status.StatusList.Idx, URI: st.Status.StatusList.URI}
				status, err := src.StatusLists().Status(ref)
				if err != nil {
					return err
				}
				if status != statuslist.Valid {
					return errBenchRevoked
				}
				return nil
			})
		})
	}
}

// benchSigningKeys returns signing-ring keys of each algorithm the ring
// offers, and the ES256 private key for go-jose.
func benchSigningKeys(b *testing.B, now time.Time) (map[keys.Alg]*keys.Ring, *ecdsa.PrivateKey) {
	b.Helper()
	lc := keys.Lifecycle{Created: now.Add(-time.Hour), Activates: now.Add(-time.Hour), Retires: now.Add(24 * time.Hour), Expires: now.Add(48 * time.Hour)}
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	out := map[keys.Alg]*keys.Ring{}
	for _, alg := range []keys.Alg{keys.ES256, keys.EdDSA, keys.RS256} {
		var k *keys.Key
		if alg == keys.ES256 {
			k, err = keys.NewSigningKey("sig-ES256", alg, ec, lc)
		} else {
			k, err = keys.Generate(alg, lc)
		}
		if err != nil {
			b.Fatal(err)
		}
		set, err := keys.NewSet(keys.SigningRing, k)
		if err != nil {
			b.Fatal(err)
		}
		out[alg] = keys.NewRing(set)
	}
	return out, ec
}

var benchSigAlgs = []keys.Alg{keys.ES256, keys.EdDSA, keys.RS256}

func BenchmarkSealSigned(b *testing.B) {
	now := time.Now()
	rings, ec := benchSigningKeys(b, now)
	for _, a := range benchAlgs {
		ring, k := benchRing(b, a.alg, now)
		c, std, priv := benchClaims(now)
		b.Run("impl=crypttoken/alg="+string(a.alg)+"/sig=none", func(b *testing.B) {
			s, err := crypttoken.NewSealer(ring)
			if err != nil {
				b.Fatal(err)
			}
			cpuLoop(b, func() error { _, err := s.Seal(crypttoken.TypeAccess, c); return err })
		})
		for _, sig := range benchSigAlgs {
			b.Run("impl=crypttoken/alg="+string(a.alg)+"/sig="+string(sig), func(b *testing.B) {
				s, err := crypttoken.NewSealer(ring, crypttoken.WithSigningRing(rings[sig]))
				if err != nil {
					b.Fatal(err)
				}
				cpuLoop(b, func() error { _, err := s.Seal(crypttoken.TypeAccess, c); return err })
			})
		}
		b.Run("impl=gojose/alg="+string(a.alg)+"/sig=ES256", func(b *testing.B) {
			signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: ec, KeyID: "sig-ES256"}},
				(&jose.SignerOptions{}).WithType("at+jwt"))
			if err != nil {
				b.Fatal(err)
			}
			enc, err := jose.NewEncrypter(jose.A256GCM, jose.Recipient{Algorithm: a.jose, Key: benchMaterial, KeyID: k.ID},
				(&jose.EncrypterOptions{}).WithType("at+jwt").WithContentType("JWT"))
			if err != nil {
				b.Fatal(err)
			}
			cpuLoop(b, func() error {
				_, err := jwt.SignedAndEncrypted(signer, enc).Claims(std).Claims(priv).Serialize()
				return err
			})
		})
	}
}

func BenchmarkOpenSigned(b *testing.B) {
	now := time.Now()
	rings, ec := benchSigningKeys(b, now)
	for _, a := range benchAlgs {
		ring, _ := benchRing(b, a.alg, now)
		c, _, _ := benchClaims(now)
		exp := crypttoken.Expected{Issuer: benchIssuer, Audience: benchAudience}
		b.Run("impl=crypttoken/alg="+string(a.alg)+"/sig=none", func(b *testing.B) {
			s, _ := crypttoken.NewSealer(ring)
			token, err := s.Seal(crypttoken.TypeAccess, c)
			if err != nil {
				b.Fatal(err)
			}
			o, err := crypttoken.NewOpener(ring, exp)
			if err != nil {
				b.Fatal(err)
			}
			cpuLoop(b, func() error { _, err := o.Open(token); return err })
		})
		for _, sig := range benchSigAlgs {
			s, err := crypttoken.NewSealer(ring, crypttoken.WithSigningRing(rings[sig]))
			if err != nil {
				b.Fatal(err)
			}
			token, err := s.Seal(crypttoken.TypeAccess, c)
			if err != nil {
				b.Fatal(err)
			}
			// The resource server verifies against the published JWK Set.
			jwks, err := keys.ExportJWKS(rings[sig].Load(), now)
			if err != nil {
				b.Fatal(err)
			}
			set, err := jws.ParseKeySet(jwks)
			if err != nil {
				b.Fatal(err)
			}
			b.Run("impl=crypttoken/alg="+string(a.alg)+"/sig="+string(sig), func(b *testing.B) {
				o, err := crypttoken.NewOpener(ring, exp, crypttoken.WithSignedTokens(set))
				if err != nil {
					b.Fatal(err)
				}
				cpuLoop(b, func() error { _, err := o.Open(token); return err })
			})
			if sig != keys.ES256 {
				continue
			}
			b.Run("impl=gojose/alg="+string(a.alg)+"/sig=ES256", func(b *testing.B) {
				keyAlgs := []jose.KeyAlgorithm{a.jose}
				encs := []jose.ContentEncryption{jose.A256GCM}
				sigAlgs := []jose.SignatureAlgorithm{jose.ES256}
				cpuLoop(b, func() error {
					nested, err := jwt.ParseSignedAndEncrypted(token, keyAlgs, encs, sigAlgs)
					if err != nil {
						return err
					}
					inner, err := nested.Decrypt(benchMaterial)
					if err != nil {
						return err
					}
					if typ, _ := inner.Headers[0].ExtraHeaders[jose.HeaderType].(string); typ != "at+jwt" {
						return fmt.Errorf("typ %q", typ)
					}
					var std jwt.Claims
					var priv privateClaims
					if err := inner.Claims(&ec.PublicKey, &std, &priv); err != nil {
						return err
					}
					return std.ValidateWithLeeway(jwt.Expected{Issuer: benchIssuer, AnyAudience: jwt.Audience{benchAudience}}, 0)
				})
			})
		}
	}
}

// BenchmarkStatusLookup isolates what the status check adds to Open: the
// snapshot load, the map lookup by the list's URI and the bit test
// (crypttoken.WithStatus does exactly this after the other checks), on
// the same snapshot as BenchmarkOpenStatus. On a busy machine the
// difference between two Open benchmarks drowns in noise; this one does
// not.
func BenchmarkStatusLookup(b *testing.B) {
	lists, uri := benchLists(b)
	src := crypttoken.StatusSource(&benchStatus{lists})
	ref := statuslist.Reference{Index: 123_456, URI: strings.Clone(uri)}
	b.Run("impl=crypttoken/lists=8", func(b *testing.B) {
		cpuLoop(b, func() error {
			st, err := src.StatusLists().Status(ref)
			if err != nil || st != statuslist.Valid {
				return errBenchRevoked
			}
			return nil
		})
	})
}
