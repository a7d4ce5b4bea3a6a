package crypttoken

import (
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/sealedtoken/issuer/pkg/keys"
)

func quickRing(t testing.TB, alg keys.Alg) (*keys.Ring, *keys.Key) {
	now := time.Now()
	k, err := keys.Generate(alg, keys.Lifecycle{Created: now.Add(-time.Hour), Activates: now.Add(-time.Hour), Retires: now.Add(time.Hour), Expires: now.Add(2 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	s, err := keys.NewSet("https://api.example.com", k)
	if err != nil {
		t.Fatal(err)
	}
	return keys.NewRing(s), k
}

func quickClaims() *Claims {
	now := time.Now()
	return &Claims{Issuer: "https://issuer.example.com", Subject: "u-1001", Audience: []string{"https://api.example.com"},
		Expiry: now.Add(10 * time.Minute), IssuedAt: now, ClientID: "webapp", Scope: "read write profile"}
}

func TestQuick(t *testing.T) {
	for _, alg := range []keys.Alg{keys.A256KW, keys.Direct} {
		ring, k := quickRing(t, alg)
		s, _ := NewSealer(ring)
		o, _ := NewOpener(ring, Expected{Issuer: "https://issuer.example.com", Audience: "https://api.example.com"})
		tok, err := s.Seal(TypeAccess, quickClaims())
		if err != nil {
			t.Fatal(err)
		}
		c, err := o.Open(tok)
		if err != nil {
			t.Fatal(err)
		}
		t.Log(len(tok), c.Subject, c.Scope, c.ID)
		jwe, err := jose.ParseEncrypted(tok, []jose.KeyAlgorithm{jose.A256KW, jose.DIRECT}, []jose.ContentEncryption{jose.A256GCM})
		if err != nil {
			t.Fatal(err)
		}
		pt, err := jwe.Decrypt(k.Material())
		if err != nil {
			t.Fatal(err)
		}
		t.Log(string(pt))
	}
}

func BenchmarkQuickOpen(b *testing.B) {
	for _, alg := range []keys.Alg{keys.A256KW, keys.Direct} {
		b.Run(string(alg), func(b *testing.B) {
			ring, _ := quickRing(b, alg)
			s, _ := NewSealer(ring)
			o, _ := NewOpener(ring, Expected{})
			tok, _ := s.Seal(TypeAccess, quickClaims())
			b.ReportAllocs()
			for b.Loop() {
				if _, err := o.Open(tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkQuickSeal(b *testing.B) {
	for _, alg := range []keys.Alg{keys.A256KW, keys.Direct} {
		b.Run(string(alg), func(b *testing.B) {
			ring, _ := quickRing(b, alg)
			s, _ := NewSealer(ring)
			c := quickClaims()
			b.ReportAllocs()
			for b.Loop() {
				c.ID = ""
				if _, err := s.Seal(TypeAccess, c); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
