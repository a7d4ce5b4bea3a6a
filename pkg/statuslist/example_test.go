package statuslist_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/sealedtoken/issuer/pkg/jws"
	"github.com/sealedtoken/issuer/pkg/statuslist"
)

// An issuer revokes index 7 and publishes its list; a resource server
// verifies the Status List Token and checks a token's status on the
// request path.
func Example() {
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	signer, _ := jws.NewSigner(jws.ES256, priv, "sig-2026")
	const uri = "https://issuer.example.com/statuslists/r1.e1/0"

	list, _ := statuslist.New(1, 1<<16) // full size from the start
	_ = list.Set(7, statuslist.Invalid)
	now := time.Now()
	token, _ := statuslist.Sign(signer, &statuslist.Token{
		Subject: uri, IssuedAt: now, Expiry: now.Add(5 * time.Minute), TTL: 30 * time.Second, List: list,
	})

	// The resource server, which knows the issuer's keys (jwks_uri).
	key, _ := jws.NewPublicKey(&priv.PublicKey, "sig-2026", jws.ES256)
	v, _ := statuslist.NewVerifier(key)
	got, err := v.Verify(token, uri)
	if err != nil {
		fmt.Println(err)
		return
	}
	lists, _ := statuslist.NewLists(statuslist.Limits{}).With(uri, got.List)

	// Per request: the access token's "status" claim.
	ref, _ := statuslist.ParseClaim([]byte(`{"status_list":{"idx":7,"uri":"` + uri + `"}}`))
	st, err := lists.Status(ref)
	fmt.Println(st == statuslist.Invalid, err)
	// Output: true <nil>
}

// Decoding the draft's own example list (draft §4.1).
func ExampleDecode() {
	l, _ := statuslist.Decode(1, "eNrbuRgAAhcBXQ", 0)
	for i := uint64(0); i < 8; i++ {
		s, _ := l.Get(i)
		fmt.Print(s)
	}
	fmt.Println()
	// Output: 10011101
}
