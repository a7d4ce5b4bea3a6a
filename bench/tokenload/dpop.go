package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"

	"github.com/sealedtoken/issuer/pkg/dpop"
)

// prover makes the DPoP proofs (RFC 9449 §4.2) of a generator: one key,
// a fresh proof (its own jti and iat) per request, as a client does.
type prover struct {
	key      crypto.Signer
	alg, htu string
}

// newProver returns a prover for alg and the token endpoint URL htu, or
// nil when alg is empty (bearer tokens).
func newProver(alg, htu string) (*prover, error) {
	var key crypto.Signer
	var err error
	switch alg {
	case "":
		return nil, nil
	case "ES256":
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "EdDSA":
		_, key, err = ed25519.GenerateKey(rand.Reader)
	default:
		return nil, fmt.Errorf("-dpop %q: want ES256 or EdDSA", alg)
	}
	if err != nil {
		return nil, err
	}
	return &prover{key: key, alg: alg, htu: htu}, nil
}

func (p *prover) proof() (string, error) {
	return dpop.NewProof(p.key, p.alg, dpop.Claims{Method: "POST", URI: p.htu})
}
