package keys_test

import (
	"fmt"
	"log"
	"time"

	"github.com/sealedtoken/issuer/pkg/jws"
	"github.com/sealedtoken/issuer/pkg/keys"
)

// A resource server opens the key delivery the issuer serves it with its
// private key and the issuer's published signing keys, and gets each of
// its audiences' keys with their lifecycle.
func ExampleOpenDelivery() {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	// The resource server's key pair, made once by `issuer rs new`: the
	// private JWK Set stays with the resource server, the public one goes
	// into the issuer's configuration.
	rs, _ := keys.GenerateRecipient(keys.CurveX25519, false)
	privateJWKS, _ := rs.PrivateJWKS()
	registered, _ := keys.ParseRecipient(rs.PublicJWKS())

	// The issuer's side: its signing ring and an audience's ring.
	signing, _ := keys.NewSetFromPolicy(keys.SigningRing, now,
		keys.Policy{Alg: keys.ES256, RotateEvery: 24 * time.Hour, Propagation: time.Hour, MaxTokenTTL: 25 * time.Hour})
	orders, _ := keys.NewSetFromPolicy("https://orders.example.com", now,
		keys.Policy{RotateEvery: 24 * time.Hour, Propagation: time.Hour, MaxTokenTTL: 15 * time.Minute})
	signer, _ := signing.Sealing(now)
	token, err := keys.SealDelivery(&keys.Delivery{
		Issuer: "https://issuer.example.com", ResourceServer: "rs-orders",
		IssuedAt: now, Expiry: now.Add(time.Hour),
		Audiences: map[string]*keys.Set{"https://orders.example.com": orders},
	}, signer, registered)
	if err != nil {
		log.Fatal(err)
	}
	published, _ := keys.ExportJWKS(signing, now) // the issuer's jwks_uri

	// The resource server's side.
	mine, _ := keys.ParsePrivateRecipient(privateJWKS)
	issuerKeys, _ := jws.ParseKeySet(published)
	d, err := keys.OpenDelivery(token, mine, issuerKeys, keys.DeliveryExpected{
		Issuer: "https://issuer.example.com", ResourceServer: "rs-orders",
		Time: func() time.Time { return now },
	})
	if err != nil {
		log.Fatal(err)
	}
	set := d.Audiences["https://orders.example.com"]
	k, _ := set.Sealing(now)
	fmt.Println(set.Len(), k.State(now))
	// Output: 1 active
}
