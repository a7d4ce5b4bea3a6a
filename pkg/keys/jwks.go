package keys

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	gjson "github.com/go-jose/go-jose/v4/json"
)

// ErrExportInternal means an export of the issuer-internal ring was asked
// for. That ring seals refresh tokens and codes, which only the issuer may
// open (SPEC §3), so it is never exported.
var ErrExportInternal = errors.New("keys: the internal ring is never exported")

// ExportJWKS returns the keys of set that open tokens at now (pending,
// active and retired; not expired) as a JWK Set (RFC 7517 §5):
//
//	{"keys":[{"use":"enc","kty":"oct","kid":"…","alg":"A256KW","k":"…"}]}
//
// This is the file a resource server of the ring's audience is given; go-jose
// (jose.JSONWebKeySet), Python jwcrypto (JWKSet.from_json) and npm jose load
// it as it is, and ParseJWKS or Decode read it back. Lifecycle times are not
// part of it. The output is indented JSON ending in a newline, in the set's
// key order, and deterministic.
//
// The result holds key material: hand it only to that resource server.
// ExportJWKS refuses the internal ring with ErrExportInternal.
//
// For the signing ring (a set of signing keys) it returns the public keys
// that verify at now — published from the pending stage, so that verifiers
// learn a key before it signs, until the key expires, so that everything
// it signed verifies until it expires itself — and never a private member:
//
//	{"keys":[{"use":"sig","kty":"EC","kid":"…","crv":"P-256","alg":"ES256","x":"…","y":"…"}]}
//
// That is the document served at the issuer's jwks_uri; ParsePublicJWKS
// reads it back.
func ExportJWKS(set *Set, now time.Time) ([]byte, error) {
	if set == nil {
		return nil, fmt.Errorf("%w: nil set", ErrNilKey)
	}
	if set.name == InternalRing {
		return nil, ErrExportInternal
	}
	ks := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{}}
	for _, k := range set.keys {
		if !now.Before(k.Expires) {
			continue
		}
		if k.Alg.Signing() {
			ks.Keys = append(ks.Keys, publicJWKOf(k))
		} else {
			jwk, _ := jwkOf(k)
			ks.Keys = append(ks.Keys, jwk)
		}
	}
	raw, err := json.Marshal(ks)
	if err != nil {
		return nil, fmt.Errorf("keys: encoding JWK Set: %w", err)
	}
	defer clear(raw)
	return encodeJSON(json.RawMessage(raw))
}

// unknownLifecycle is the lifecycle ParseJWKS gives every key: created and
// activated at the Unix epoch, retired one second later, expiring at the
// end of year 9999. Such a key is retired at any time a resource server
// runs: it opens, and it never seals.
func unknownLifecycle() Lifecycle {
	epoch := time.Unix(0, 0).UTC()
	return Lifecycle{
		Created: epoch, Activates: epoch, Retires: epoch.Add(time.Second),
		Expires: time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC),
	}
}

// ParseJWKS reads a JWK Set (RFC 7517 §5) of 256-bit "oct" keys, as
// written by ExportJWKS, into a Set named name. A JWK Set carries no
// lifecycle, so every key is given one in which it opens at any time and
// never seals (created and activated at the Unix epoch, retired a second
// later, expiring at the end of year 9999): a resource server holding only
// an export can open every key in it and seal nothing, which is all a
// resource server does. Expiry is then the exporter's business: it leaves
// expired keys out of the next export.
//
// Every key must have kty "oct", a kid, alg "A256KW" or "dir", a 256-bit k,
// and use "enc" if use is present; members this package does not use are
// ignored (RFC 7517 §4). Unlike RFC 7517 §5's advice to skip keys that are
// not understood, a key that fails these checks fails the whole set: a
// resource server should learn at load time, not when a token fails. Errors
// are *ParseError values naming the key and member at fault.
func ParseJWKS(name string, data []byte) (*Set, error) {
	return parseJWKSet(name, data, func(raw gjson.RawMessage, lc Lifecycle) (*Key, string, error) {
		jk, field, err := parseJWK(raw, false)
		if err != nil {
			return nil, field, err
		}
		defer clear(jk.material)
		k, err := NewKey(jk.kid, jk.alg, jk.material, lc)
		return k, "", err
	})
}

// ParsePublicJWKS reads a JWK Set of public signing keys (RFC 7517 §5), as
// ExportJWKS writes for the signing ring and the issuer serves at its
// jwks_uri, into a Set named name whose keys verify and cannot sign. Like
// ParseJWKS it gives every key a lifecycle in which it verifies at any time
// and never signs: the publisher drops a key from the set once everything
// it signed has expired.
//
// A key is used when its kty is "EC" (crv "P-256", alg "ES256"), "OKP"
// (crv "Ed25519", alg "EdDSA") or "RSA" (alg "RS256", MinRSABits to
// MaxRSABits bits), with a kid and, if present, use "sig". As RFC 7517 §5
// asks, a key whose kty, alg or use is another (an encryption key, an
// algorithm this package does not verify) is ignored, and so is one
// without alg. A key that claims a supported algorithm but is malformed,
// whose kty does not fit its alg, that repeats a kid, or that carries any
// private member (d, p, q, dp, dq, qi, oth, k) fails the whole set: a
// private key in a published set is a leak to report, never a key to use.
// Errors are *ParseError values naming the key and member at fault.
func ParsePublicJWKS(name string, data []byte) (*Set, error) {
	return parseJWKSet(name, data, func(raw gjson.RawMessage, lc Lifecycle) (*Key, string, error) {
		jk, field, err := parseSigningJWK(raw, false, false)
		var skip errSkip
		if errors.As(err, &skip) {
			return nil, "", nil // another kty, alg or use: ignored (RFC 7517 §5)
		}
		if err != nil {
			return nil, field, err
		}
		k, err := NewVerifyingKey(jk.kid, jk.alg, jk.pub, lc)
		return k, "", err
	})
}

// parseJWKSet reads a JWK Set (RFC 7517 §5) into a Set named name, each
// key in order by key, with the lifecycle of unknownLifecycle: key returns
// the Key, nil to ignore the entry, or the member at fault and an error. A
// kid that appears twice fails the set (ErrDuplicateKeyID). Errors are
// *ParseError values naming the key and member at fault.
func parseJWKSet(name string, data []byte, key func(raw gjson.RawMessage, lc Lifecycle) (*Key, string, error)) (*Set, error) {
	if !validRingName(name) {
		return nil, &ParseError{Kind: kindJWKS, Ring: name, Index: -1, Err: fmt.Errorf("%w: %q", ErrRingName, name)}
	}
	entries, err := jwkSetEntries(name, data, MaxFileSize, MaxKeys)
	if err != nil {
		return nil, err
	}
	lc := unknownLifecycle()
	keys := make([]*Key, 0, len(entries))
	seen := make(map[string]int, len(entries))
	for i, raw := range entries {
		k, field, err := key(raw, lc)
		if err == nil && k == nil {
			continue
		}
		if err == nil {
			if j, dup := seen[k.ID]; dup {
				field, err = "kid", fmt.Errorf("%w: same kid as keys[%d]", ErrDuplicateKeyID, j)
			}
		}
		if err != nil {
			e := &ParseError{Kind: kindJWKS, Ring: name, Index: i, Field: field, Err: err}
			if k != nil {
				e.KeyID = k.ID
			} else {
				e.KeyID = peekKID(raw)
			}
			return nil, e
		}
		seen[k.ID] = i
		keys = append(keys, k)
	}
	return newSet(name, keys), nil
}

// jwkSetEntries returns the "keys" array of the JWK Set data (RFC 7517
// §5): an object of at most maxSize bytes whose "keys" holds at most
// maxKeys entries. Errors are *ParseError values of the set as a whole
// (Index -1), naming ring (empty when the set has no name).
func jwkSetEntries(ring string, data []byte, maxSize, maxKeys int) ([]gjson.RawMessage, error) {
	perr := func(field string, err error) *ParseError {
		return &ParseError{Kind: kindJWKS, Ring: ring, Index: -1, Field: field, Err: err}
	}
	if len(data) > maxSize {
		return nil, perr("", fmt.Errorf("%w: %d bytes is more than %d", ErrFormat, len(data), maxSize))
	}
	top, err := objectMembers(data)
	if err != nil {
		return nil, perr("", err)
	}
	var entries []gjson.RawMessage
	if err := member(top, "keys", &entries); err != nil {
		return nil, perr("keys", err)
	}
	if len(entries) > maxKeys {
		return nil, perr("keys", fmt.Errorf("%w: %d keys, at most %d", ErrFormat, len(entries), maxKeys))
	}
	return entries, nil
}
