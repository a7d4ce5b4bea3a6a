package keys_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"log"
	"time"

	"github.com/sealedtoken/issuer/pkg/keys"
)

// The issuer signs with the signing ring's active key and publishes the
// ring's public keys at its jwks_uri; a verifier looks the key up by the
// JWS "kid" in the published set.
func ExampleKey_Sign() {
	p := keys.Policy{Alg: keys.EdDSA, RotateEvery: 24 * time.Hour, Propagation: time.Hour, MaxTokenTTL: 25 * time.Hour}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	set, err := keys.NewSetFromPolicy(keys.SigningRing, now, p)
	if err != nil {
		log.Fatal(err)
	}
	signer, err := set.Sealing(now) // the one key that signs now
	if err != nil {
		log.Fatal(err)
	}
	b64 := base64.RawURLEncoding
	input := b64.EncodeToString([]byte(`{"alg":"`+signer.Algorithm()+`","kid":"`+signer.KeyID()+`"}`)) +
		"." + b64.EncodeToString([]byte(`{"sub":"alice"}`))
	sig, err := signer.Sign([]byte(input))
	if err != nil {
		log.Fatal(err)
	}

	// The verifier's side: the published JWK Set, parsed.
	published, err := keys.ExportJWKS(set, now)
	if err != nil {
		log.Fatal(err)
	}
	pub, err := keys.ParsePublicJWKS("issuer", published)
	if err != nil {
		log.Fatal(err)
	}
	k, ok := pub.Opening(signer.KeyID(), now)
	fmt.Println(ok, k.Algorithm(), k.CanSign(), len(sig))
	fmt.Println(ed25519.Verify(k.Public().(ed25519.PublicKey), []byte(input), sig))
	// Output:
	// true EdDSA false 64
	// true
}

// ParsePublicJWKS reads the issuer's published signing keys (its
// jwks_uri): keys that verify and never sign. A key of another use or
// algorithm is skipped (RFC 7517 §5); a private member is refused. The key
// below is RFC 8032 §7.1's test vector 1.
func ExampleParsePublicJWKS() {
	doc := []byte(`{"keys":[
	  {"kty":"OKP","crv":"Ed25519","kid":"k1","alg":"EdDSA","use":"sig","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
	  {"kty":"RSA","kid":"enc-1","use":"enc","alg":"RSA-OAEP","n":"AQAB","e":"AQAB"}
	]}`)
	set, err := keys.ParsePublicJWKS("issuer", doc)
	if err != nil {
		log.Fatal(err)
	}
	for _, k := range set.Keys() {
		fmt.Printf("%s %s %v %x\n", k.KeyID(), k.Algorithm(), k.CanSign(), k.Public().(ed25519.PublicKey)[:4])
	}
	_, err = keys.ParsePublicJWKS("issuer", []byte(`{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"k1","alg":"EdDSA","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"}]}`))
	fmt.Println(err)
	// Output:
	// k1 EdDSA false d75a9801
	// keys: JWK Set (ring "issuer"): keys[0].d (kid "k1"): malformed key file: private key member in a public JWK Set
}
