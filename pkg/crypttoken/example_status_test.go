package crypttoken_test

import (
	"errors"
	"fmt"
	"log"
	"sync/atomic"
	"time"

	"github.com/sealedtoken/issuer/pkg/crypttoken"
	"github.com/sealedtoken/issuer/pkg/keys"
	"github.com/sealedtoken/issuer/pkg/statuslist"
)

// statusSnapshot is a StatusSource holding lists that something else
// (pkg/crypttoken/remote, in a real resource server) keeps current.
type statusSnapshot struct {
	cur atomic.Pointer[statuslist.Lists]
}

func (s *statusSnapshot) StatusLists() *statuslist.Lists { return s.cur.Load() }
func (s *statusSnapshot) Missing(uri string)             { /* fetch uri in the background */ }

// A resource server refuses revoked tokens: each token names its entry in
// a Token Status List, and Open tests that bit in the lists the source
// holds.
func ExampleWithStatus() {
	ring := exampleRing()
	const uri = "https://issuer.example.com/statuslists/1"
	seal := func(idx uint64) string {
		sealer, err := crypttoken.NewSealer(ring, crypttoken.WithClock(exampleClock))
		if err != nil {
			log.Fatal(err)
		}
		tok, err := sealer.Seal(crypttoken.TypeAccess, &crypttoken.Claims{
			Issuer: "https://issuer.example.com", Audience: []string{"https://api.example.com"},
			Expiry: exampleNow.Add(10 * time.Minute), Status: crypttoken.StatusRef{Index: idx, URI: uri},
		})
		if err != nil {
			log.Fatal(err)
		}
		return tok
	}
	list, _ := statuslist.New(1, 1024)
	_ = list.Set(7, statuslist.Invalid) // token 7 was revoked at the issuer
	lists, _ := statuslist.NewLists(statuslist.Limits{}).With(uri, list)
	src := &statusSnapshot{}
	src.cur.Store(lists)

	opener, err := crypttoken.NewOpener(ring, crypttoken.Expected{Issuer: "https://issuer.example.com", Time: exampleClock},
		crypttoken.WithStatus(src, crypttoken.StatusPolicy{}))
	if err != nil {
		log.Fatal(err)
	}
	_, err = opener.Open(seal(6))
	fmt.Println("token 6:", err)
	_, err = opener.Open(seal(7))
	fmt.Println("token 7 revoked:", errors.Is(err, crypttoken.ErrRevoked))
	// Output:
	// token 6: <nil>
	// token 7 revoked: true
}

// An audience whose tokens the issuer signs (audiences[].sign): the
// resource server requires the issuer's signature inside the token, so
// that another holder of the audience key cannot forge one.
func ExampleWithSignedTokens() {
	ring := exampleRing()
	signingKey, err := keys.Generate(keys.ES256, keys.Lifecycle{
		Created: exampleNow.Add(-time.Hour), Activates: exampleNow.Add(-time.Hour),
		Retires: exampleNow.Add(time.Hour), Expires: exampleNow.Add(48 * time.Hour),
	})
	if err != nil {
		log.Fatal(err)
	}
	set, _ := keys.NewSet(keys.SigningRing, signingKey)
	signing := keys.NewRing(set)

	// The issuer signs, then encrypts.
	sealer, err := crypttoken.NewSealer(ring, crypttoken.WithClock(exampleClock), crypttoken.WithSigningRing(signing))
	if err != nil {
		log.Fatal(err)
	}
	claims := &crypttoken.Claims{Issuer: "https://issuer.example.com", Audience: []string{"https://api.example.com"},
		Expiry: exampleNow.Add(10 * time.Minute)}
	signed, _ := sealer.Seal(crypttoken.TypeAccess, claims)

	// Another holder of the audience key seals without the issuer's key.
	forger, _ := crypttoken.NewSealer(ring, crypttoken.WithClock(exampleClock))
	forged, _ := forger.Seal(crypttoken.TypeAccess, claims)

	// The resource server verifies against the issuer's published keys
	// (jws.ParseKeySet of jwks_uri; RingKeys inside the issuer).
	issuerKeys, _ := crypttoken.RingKeys(signing, exampleClock)
	opener, err := crypttoken.NewOpener(ring, crypttoken.Expected{Time: exampleClock}, crypttoken.WithSignedTokens(issuerKeys))
	if err != nil {
		log.Fatal(err)
	}
	_, err = opener.Open(signed)
	fmt.Println("signed:", err)
	_, err = opener.Open(forged)
	fmt.Println("forged refused:", errors.Is(err, crypttoken.ErrSignature))
	// Output:
	// signed: <nil>
	// forged refused: true
}
