package keys

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// Alg is the algorithm a key is used with: a JWE key-management algorithm
// (RFC 7518 §4) for the symmetric rings that seal tokens, or a JWS
// signature algorithm (RFC 7518 §3, RFC 8037 §3.1) for the signing ring.
type Alg string

const (
	// A256KW wraps a fresh random content key per token with AES-256 key
	// wrap (RFC 7518 §4.4). It is the default: no per-key message bound.
	A256KW Alg = "A256KW"
	// Direct uses the key itself as the AES-256-GCM content key
	// (RFC 7518 §4.5, "dir"). Each key then seals at most SealLimit tokens.
	Direct Alg = "dir"
)

// Signature algorithms of the signing ring (SPEC §4, §11). Their keys are
// asymmetric: Sign uses the private key, and only the public key is ever
// published (ExportJWKS).
const (
	// ES256 is ECDSA over P-256 with SHA-256 (RFC 7518 §3.4), the default:
	// small keys and signatures, fast to sign.
	ES256 Alg = "ES256"
	// EdDSA is Ed25519 (RFC 8037 §3.1).
	EdDSA Alg = "EdDSA"
	// RS256 is RSASSA-PKCS1-v1_5 with SHA-256 (RFC 7518 §3.3), for relying
	// parties that verify nothing else. Keys have at least MinRSABits.
	RS256 Alg = "RS256"
)

// Valid reports whether a is a key-management algorithm of the symmetric
// rings (A256KW or dir): what sealers and openers of tokens accept. It is
// false for the signature algorithms; see Signing.
func (a Alg) Valid() bool { return a == A256KW || a == Direct }

// Signing reports whether a is a signature algorithm of the signing ring:
// ES256, EdDSA or RS256.
func (a Alg) Signing() bool { return a == ES256 || a == EdDSA || a == RS256 }

// KeySize is the size in bytes of every key: 256 bits.
const KeySize = 32

// SealLimit is the number of tokens one process may seal with a Direct key.
// AES-GCM with random 96-bit nonces is bounded at 2^32 messages per key
// (NIST SP 800-38D §8.3). Each replica counts its own seals, so the limit
// is a quarter of the bound: up to four replicas sharing a key stay within
// it even if every one of them reaches the limit. Counts live in memory; a
// process that restarts mid-key starts again from zero, unless it restores
// what it had counted with AddSealed. Deployments with more replicas, or
// with frequent restarts under heavy load, should use A256KW (the default),
// which has no per-key bound.
const SealLimit uint64 = 1 << 30

// RotateAt is the seal count at which a Direct key asks to be rotated early:
// a quarter of SealLimit, so the replacement has ample time to propagate
// while the old key still seals.
const RotateAt = SealLimit / 4

// State is a key's place in its lifecycle (SPEC §4).
type State uint8

const (
	// StatePending keys are published but do not seal yet; they already open.
	StatePending State = iota
	// StateActive keys seal and open.
	StateActive
	// StateRetired keys no longer seal but still open tokens they sealed.
	StateRetired
	// StateExpired keys neither seal nor open; rotation removes them.
	StateExpired
)

var stateNames = [...]string{"pending", "active", "retired", "expired"}

func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("State(%d)", s)
}

// Key is one key of a ring with its identifier and lifecycle times: a
// 256-bit symmetric key of an encryption ring (Alg A256KW or dir), or an
// asymmetric key of the signing ring (Alg ES256, EdDSA or RS256), which
// holds a private key (it signs; NewSigningKey, Generate) or only a public
// one (it verifies; NewVerifyingKey, ParsePublicJWKS).
//
// A Key is immutable once built, except for its seal counter, and safe for
// concurrent use. The AES block cipher and the GCM instance are derived once
// at construction so that sealing and opening never re-expand the key.
type Key struct {
	// ID is the "kid" header value of the JWEs or JWSs the key makes.
	ID string
	// Alg is the key-management algorithm the key is used with.
	Alg Alg
	// Created is when the key was generated.
	Created time.Time
	// Activates is when the key starts sealing.
	Activates time.Time
	// Retires is when the key stops sealing.
	Retires time.Time
	// Expires is when the key stops opening: Retires plus the longest
	// lifetime of a token the key may have sealed.
	Expires time.Time

	secret [KeySize]byte
	block  cipher.Block
	aead   cipher.AEAD
	// sealed is shared by every Key value derived from the same material by
	// a lifecycle change (see withLifecycle and Merge), so the seal count of
	// a Direct key survives rotation planning and reloads.
	sealed *atomic.Uint64

	// signer is the private key of a signing key (*ecdsa.PrivateKey,
	// ed25519.PrivateKey or *rsa.PrivateKey); nil for symmetric keys and
	// for public-only keys. pub is its public key; nil for symmetric keys.
	signer crypto.Signer
	pub    crypto.PublicKey
}

// Lifecycle holds the times that place a key in its lifecycle.
type Lifecycle struct {
	Created, Activates, Retires, Expires time.Time
}

// Errors returned when building a key.
var (
	ErrKeySize   = errors.New("keys: key material must be 256 bits")
	ErrAlg       = errors.New("keys: unsupported algorithm")
	ErrKeyID     = errors.New("keys: key id must be 1 to 128 printable ASCII characters")
	ErrLifecycle = errors.New("keys: lifecycle times out of order (need created <= activates < retires <= expires)")
)

// NewKey builds a symmetric key from its material. The material is copied.
// alg must be A256KW or Direct; signing keys are built with NewSigningKey.
func NewKey(id string, alg Alg, material []byte, lc Lifecycle) (*Key, error) {
	if !validKeyID(id) {
		return nil, fmt.Errorf("%w: %q", ErrKeyID, id)
	}
	if !alg.Valid() {
		return nil, fmt.Errorf("%w: %q", ErrAlg, alg)
	}
	if len(material) != KeySize {
		return nil, fmt.Errorf("%w: key %q has %d bytes", ErrKeySize, id, len(material))
	}
	if err := lc.check(id); err != nil {
		return nil, err
	}
	k := &Key{
		ID: id, Alg: alg,
		Created: lc.Created, Activates: lc.Activates, Retires: lc.Retires, Expires: lc.Expires,
		sealed: new(atomic.Uint64),
	}
	copy(k.secret[:], material)
	block, err := aes.NewCipher(k.secret[:])
	if err != nil {
		return nil, fmt.Errorf("keys: key %q: %w", id, err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("keys: key %q: %w", id, err)
	}
	k.block, k.aead = block, aead
	return k, nil
}

// Generate creates a key of algorithm alg with fresh random material from
// crypto/rand and a random key id: 256 random bits for A256KW and dir, a new
// key pair for ES256 (P-256), EdDSA (Ed25519) and RS256 (RSABits bits).
func Generate(alg Alg, lc Lifecycle) (*Key, error) {
	if alg.Signing() {
		priv, err := generateSigner(alg)
		if err != nil {
			return nil, err
		}
		return NewSigningKey(NewKeyID(), alg, priv, lc)
	}
	var material [KeySize]byte
	if _, err := rand.Read(material[:]); err != nil {
		return nil, fmt.Errorf("keys: reading random key material: %w", err)
	}
	return NewKey(NewKeyID(), alg, material[:], lc)
}

// NewKeyID returns a fresh random key id: 16 random bytes, base64url.
func NewKeyID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms (Go 1.24+).
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func validKeyID(id string) bool {
	if len(id) == 0 || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		// Printable ASCII without '"' and '\\', so a kid never needs JSON escaping.
		if c := id[i]; c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// State reports the key's state at time now.
func (k *Key) State(now time.Time) State {
	switch {
	case !now.Before(k.Expires):
		return StateExpired
	case !now.Before(k.Retires):
		return StateRetired
	case now.Before(k.Activates):
		return StatePending
	default:
		return StateActive
	}
}

// check reports whether the lifecycle times are in order, naming the first
// pair that is not.
func (lc Lifecycle) check(id string) error {
	switch {
	case lc.Activates.Before(lc.Created):
		return fmt.Errorf("%w: key %q activates before it is created", ErrLifecycle, id)
	case !lc.Activates.Before(lc.Retires):
		return fmt.Errorf("%w: key %q does not retire after it activates", ErrLifecycle, id)
	case lc.Expires.Before(lc.Retires):
		return fmt.Errorf("%w: key %q expires before it retires", ErrLifecycle, id)
	}
	return nil
}

// equal reports whether two lifecycles hold the same instants.
func (lc Lifecycle) equal(o Lifecycle) bool {
	return lc.Created.Equal(o.Created) && lc.Activates.Equal(o.Activates) &&
		lc.Retires.Equal(o.Retires) && lc.Expires.Equal(o.Expires)
}

// withLifecycle returns a key with k's id, algorithm, material, ciphers and
// seal counter, and the lifecycle lc. The counter is shared, not copied, so
// seals counted through either value are seen by both.
func (k *Key) withLifecycle(lc Lifecycle) (*Key, error) {
	if err := lc.check(k.ID); err != nil {
		return nil, err
	}
	return &Key{
		ID: k.ID, Alg: k.Alg,
		Created: lc.Created, Activates: lc.Activates, Retires: lc.Retires, Expires: lc.Expires,
		secret: k.secret, block: k.block, aead: k.aead, sealed: k.sealed,
		signer: k.signer, pub: k.pub,
	}, nil
}

// sameMaterial reports whether k and o hold the same key: for symmetric
// keys the same bytes, compared in constant time; for signing keys the same
// public key and the same private key (or both none).
func (k *Key) sameMaterial(o *Key) bool {
	if k.pub != nil || o.pub != nil {
		return samePublic(k.pub, o.pub) && sameSigner(k.signer, o.signer)
	}
	return subtle.ConstantTimeCompare(k.secret[:], o.secret[:]) == 1
}

// sameKey reports whether k and o have the same id, algorithm, material and
// lifecycle.
func (k *Key) sameKey(o *Key) bool {
	return k.ID == o.ID && k.Alg == o.Alg && k.sameMaterial(o) && k.Lifecycle().equal(o.Lifecycle())
}

// Lifecycle returns the key's lifecycle times.
func (k *Key) Lifecycle() Lifecycle {
	return Lifecycle{Created: k.Created, Activates: k.Activates, Retires: k.Retires, Expires: k.Expires}
}

// Material returns a copy of the raw bytes of a symmetric key, or nil for a
// signing key (whose private key never leaves the Key except in a ring
// file). Callers must treat the result as a secret: never log or print it.
func (k *Key) Material() []byte {
	if k.Alg.Signing() {
		return nil
	}
	m := make([]byte, KeySize)
	copy(m, k.secret[:])
	return m
}

// Block returns the AES-256 block cipher keyed with this key, for AES key
// wrap (A256KW); nil for a signing key. It is safe for concurrent use.
func (k *Key) Block() cipher.Block { return k.block }

// AEAD returns AES-256-GCM keyed with this key, for direct encryption;
// nil for a signing key. It is safe for concurrent use.
func (k *Key) AEAD() cipher.AEAD { return k.aead }

// CountSeal records one encryption under the key and returns the new count.
// Sealers call it for Direct keys; the count drives early rotation.
func (k *Key) CountSeal() uint64 { return k.sealed.Add(1) }

// AddSealed adds n encryptions made under the key elsewhere — by this
// process before a restart, say — to its count, so that RotateAt and
// SealLimit account for them. It returns the new count.
func (k *Key) AddSealed(n uint64) uint64 { return k.sealed.Add(n) }

// Sealed returns the number of encryptions counted under the key by this
// process.
func (k *Key) Sealed() uint64 { return k.sealed.Load() }

// Exhausted reports whether a Direct key has reached RotateAt seals and
// should be replaced early. A256KW keys are never exhausted.
func (k *Key) Exhausted() bool { return k.Alg == Direct && k.sealed.Load() >= RotateAt }

// String describes the key without its material.
func (k *Key) String() string {
	return fmt.Sprintf("key %s (%s, activates %s, retires %s, expires %s)", k.ID, k.Alg,
		k.Activates.UTC().Format(time.RFC3339), k.Retires.UTC().Format(time.RFC3339), k.Expires.UTC().Format(time.RFC3339))
}
