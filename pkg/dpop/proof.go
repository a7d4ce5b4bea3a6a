package dpop

import (
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strconv"
	"time"

	"github.com/sealedtoken/issuer/internal/jsonenc"
	"github.com/sealedtoken/issuer/pkg/jws"
)

// Claims are what a client puts in a proof (RFC 9449 §4.2).
type Claims struct {
	// Method and URI are the request's: htm and htu (a query and fragment
	// are dropped).
	Method, URI string
	// IssuedAt is iat; zero means now.
	IssuedAt time.Time
	// ID is jti; empty means 128 random bits, base64url.
	ID string
	// AccessToken, when the proof goes with an access token, makes ath
	// its hash.
	AccessToken string
	// Nonce is the server's last DPoP-Nonce, if any.
	Nonce string
}

// NewProof returns a DPoP proof signed by key with alg, carrying key's
// public JWK in its header (RFC 9449 §4.2): what a client sends in the
// DPoP header. It is for clients and tests; servers only verify.
func NewProof(key crypto.Signer, alg string, c Claims) (string, error) {
	if alg == jws.HS256 {
		return "", fmt.Errorf("dpop: %s is not an asymmetric algorithm", alg)
	}
	s, err := jws.NewSigner(alg, key, "")
	if err != nil {
		return "", err
	}
	jwk, err := jws.AppendPublicJWK(nil, key.Public(), "", "")
	if err != nil {
		return "", err
	}
	if c.IssuedAt.IsZero() {
		c.IssuedAt = time.Now()
	}
	if c.ID == "" {
		var r [16]byte
		if _, err := rand.Read(r[:]); err != nil {
			return "", err
		}
		c.ID = base64.RawURLEncoding.EncodeToString(r[:])
	}
	htu := c.URI
	for i := 0; i < len(htu); i++ {
		if htu[i] == '?' || htu[i] == '#' {
			htu = htu[:i]
			break
		}
	}
	p := append([]byte(nil), `{"jti":`...)
	p = jsonenc.AppendString(p, c.ID)
	p = append(p, `,"htm":`...)
	p = jsonenc.AppendString(p, c.Method)
	p = append(p, `,"htu":`...)
	p = jsonenc.AppendString(p, htu)
	p = append(p, `,"iat":`...)
	p = strconv.AppendInt(p, c.IssuedAt.Unix(), 10)
	if c.AccessToken != "" {
		sum := sha256.Sum256([]byte(c.AccessToken))
		p = append(p, `,"ath":"`...)
		p = base64.RawURLEncoding.AppendEncode(p, sum[:])
		p = append(p, '"')
	}
	if c.Nonce != "" {
		p = append(p, `,"nonce":`...)
		p = jsonenc.AppendString(p, c.Nonce)
	}
	p = append(p, '}')
	return jws.Sign(s, jws.Protected{Type: TokenType, Extra: []jws.Member{{Name: "jwk", Value: jwk}}}, p)
}

// AccessTokenHash returns the ath of an access token (RFC 9449 §4.2): the
// base64url SHA-256 of its ASCII.
func AccessTokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
