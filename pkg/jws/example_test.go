package jws_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/sealedtoken/issuer/pkg/jws"
)

// An issuer signs a JWT; a resource server verifies it against the
// issuer's published JWK Set and validates its claims.
func Example() {
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	signer, _ := jws.NewSigner(jws.ES256, priv, "2026-03")
	now := time.Now()
	payload, _ := (&jws.Claims{
		Issuer: "https://issuer.example.com", Subject: "u-1001", Audience: []string{"https://api.example.com"},
		IssuedAt: now, Expiry: now.Add(5 * time.Minute),
	}).MarshalJSON()
	token, _ := jws.Sign(signer, jws.Protected{Type: "JWT"}, payload)

	// The resource server: the issuer's jwks_uri document.
	jwk, _ := jws.AppendPublicJWK(nil, &priv.PublicKey, "2026-03", jws.ES256)
	set, _ := jws.ParseKeySet([]byte(`{"keys":[` + string(jwk) + `]}`))

	v, _ := jws.NewVerifier([]string{jws.ES256, jws.EdDSA}, set, jws.WithType("JWT"))
	tok, err := v.Verify(token)
	if err != nil {
		fmt.Println(err)
		return
	}
	claims, _ := jws.ParseClaims(tok.Payload)
	err = claims.Validate(jws.Expected{Issuer: "https://issuer.example.com", AnyAudience: []string{"https://api.example.com"}, Leeway: 30 * time.Second})
	fmt.Println(claims.Subject, err)

	// Output: u-1001 <nil>
}

// Verify's errors are sentinels: an expired token and a token signed by
// another key are told apart with errors.Is.
func ExampleVerifier_Verify() {
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	key, _ := jws.NewPublicKey(&priv.PublicKey, "k1", "")
	v, _ := jws.NewVerifier([]string{jws.ES256}, key)

	forger, _ := jws.NewSigner(jws.ES256, other, "k1")
	forged, _ := jws.Sign(forger, jws.Protected{}, []byte(`{"sub":"admin"}`))
	_, err := v.Verify(forged)
	fmt.Println(errors.Is(err, jws.ErrSignature))

	signer, _ := jws.NewSigner(jws.ES256, priv, "k1")
	old, _ := jws.Sign(signer, jws.Protected{}, []byte(`{"sub":"u","exp":1000000000}`))
	tok, _ := v.Verify(old)
	claims, _ := jws.ParseClaims(tok.Payload)
	fmt.Println(errors.Is(claims.Validate(jws.Expected{}), jws.ErrExpired))
	// Output:
	// true
	// true
}

// The RFC 7638 thumbprint of a public key, as DPoP's "jkt" carries it.
func ExampleThumbprintString() {
	k, _ := jws.ParseJWK([]byte(rfc7638JWK))
	tp, _ := jws.ThumbprintString(k.Public())
	fmt.Println(tp)
	// Output: NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs
}

// A JWK Set keeps the keys it can verify with and reports the others.
func ExampleParseKeySet() {
	set, err := jws.ParseKeySet([]byte(`{"keys":[` + rfc7638JWK + `,{"kty":"OKP","crv":"X25519","use":"enc","kid":"e1","x":"3p7bfXt9wbTTW2HC7OQ1Nz-DQ8hbeGdNrfx-FG-IK08"}]}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	_, found := set.Lookup("2011-04-29")
	fmt.Println(set.Len(), found, len(set.Skipped()))
	// Output: 1 true 1
}
