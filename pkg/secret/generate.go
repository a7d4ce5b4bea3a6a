package secret

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strconv"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Argon2Params are the Argon2id cost parameters (RFC 9106 §3.1). The zero
// value of each field means its default.
type Argon2Params struct {
	// Memory is m, in KiB. Default 65536 (64 MiB).
	Memory uint32
	// Time is t, the number of passes over memory. Default 3.
	Time uint32
	// Threads is p, the degree of parallelism (lanes). Default 2.
	Threads uint8
	// SaltLen is the salt length in bytes. Default 16.
	SaltLen uint32
	// KeyLen is the hash (tag) length in bytes. Default 32.
	KeyLen uint32
}

// DefaultArgon2Params are the parameters NewArgon2id fills in for zero
// fields: RFC 9106 §4's second recommended option (64 MiB, t=3) with two
// lanes, as in the configuration example of SPEC §6. About 0.2 s on one core.
var DefaultArgon2Params = Argon2Params{Memory: 64 * 1024, Time: 3, Threads: 2, SaltLen: 16, KeyLen: 32}

func (p Argon2Params) withDefaults() Argon2Params {
	d := DefaultArgon2Params
	if p.Memory == 0 {
		p.Memory = d.Memory
	}
	if p.Time == 0 {
		p.Time = d.Time
	}
	if p.Threads == 0 {
		p.Threads = d.Threads
	}
	if p.SaltLen == 0 {
		p.SaltLen = d.SaltLen
	}
	if p.KeyLen == 0 {
		p.KeyLen = d.KeyLen
	}
	return p
}

// check enforces the Parse bounds; it is shared by Parse and NewArgon2id so
// that every hash this package produces also parses.
func (p Argon2Params) check() error {
	switch {
	case p.Threads < 1 || p.Threads > MaxArgon2Threads:
		return parseErr(Argon2id, ErrArgon2Params, "p=%d, allowed 1..%d", p.Threads, MaxArgon2Threads)
	case p.Memory < 8*uint32(p.Threads):
		// RFC 9106 §3.1: m must be at least 8×p KiB.
		return parseErr(Argon2id, ErrArgon2Params, "m=%d, must be at least 8×p=%d", p.Memory, 8*uint32(p.Threads))
	case p.Memory > MaxArgon2Memory:
		return parseErr(Argon2id, ErrArgon2Params, "m=%d KiB, allowed at most %d", p.Memory, MaxArgon2Memory)
	case p.Time < 1 || p.Time > MaxArgon2Time:
		return parseErr(Argon2id, ErrArgon2Params, "t=%d, allowed 1..%d", p.Time, MaxArgon2Time)
	case uint64(p.Memory)*uint64(p.Time) > MaxArgon2Work:
		return parseErr(Argon2id, ErrArgon2Params, "m×t=%d KiB-passes, allowed at most %d", uint64(p.Memory)*uint64(p.Time), MaxArgon2Work)
	case p.SaltLen < MinArgon2SaltLen || p.SaltLen > MaxArgon2SaltLen:
		return parseErr(Argon2id, ErrArgon2Params, "salt of %d bytes, allowed %d..%d", p.SaltLen, MinArgon2SaltLen, MaxArgon2SaltLen)
	case p.KeyLen < MinArgon2KeyLen || p.KeyLen > MaxArgon2KeyLen:
		return parseErr(Argon2id, ErrArgon2Params, "hash of %d bytes, allowed %d..%d", p.KeyLen, MinArgon2KeyLen, MaxArgon2KeyLen)
	}
	return nil
}

func checkSecret(secret string) error {
	switch {
	case secret == "":
		return ErrEmptySecret
	case len(secret) > MaxSecretLen:
		return ErrSecretTooLong
	}
	return nil
}

// NewSHA256 returns "sha256$" and the lowercase hex SHA-256 of secret: the
// config form for the high-entropy secrets NewClientSecret makes. Do not use
// it for human-chosen secrets; use NewBcrypt or NewArgon2id.
//
// An empty secret, or one longer than MaxSecretLen, gets a hash that never
// verifies.
func NewSHA256(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return "sha256$" + hex.EncodeToString(sum[:])
}

// NewBcrypt returns a bcrypt hash ("$2a$…") of secret at the given cost;
// cost 0 means DefaultBcryptCost. Costs outside [MinBcryptCost,
// MaxBcryptCost] fail with ErrBcryptCost, an empty secret with
// ErrEmptySecret, and a secret over bcrypt's 72-byte limit with
// ErrSecretTooLong rather than being silently truncated.
func NewBcrypt(secret string, cost int) (string, error) {
	if cost == 0 {
		cost = DefaultBcryptCost
	}
	if cost < MinBcryptCost || cost > MaxBcryptCost {
		return "", parseErr(Bcrypt, ErrBcryptCost, "cost %d, allowed %d..%d", cost, MinBcryptCost, MaxBcryptCost)
	}
	if err := checkSecret(secret); err != nil {
		return "", err
	}
	if len(secret) > 72 {
		return "", ErrSecretTooLong
	}
	b, err := bcrypt.GenerateFromPassword([]byte(secret), cost)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// NewArgon2id returns an Argon2id PHC string of secret with a fresh random
// salt. Zero fields of params take DefaultArgon2Params; parameters outside
// the Parse bounds fail with ErrArgon2Params.
func NewArgon2id(secret string, params Argon2Params) (string, error) {
	p := params.withDefaults()
	if err := p.check(); err != nil {
		return "", err
	}
	if err := checkSecret(secret); err != nil {
		return "", err
	}
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	return encodeArgon2id(secret, salt, p), nil
}

// encodeArgon2id computes and encodes the PHC string; p must be checked.
func encodeArgon2id(secret string, salt []byte, p Argon2Params) string {
	key := argon2.IDKey([]byte(secret), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	b := make([]byte, 0, 64+b64.EncodedLen(len(salt))+b64.EncodedLen(len(key)))
	b = append(b, "$argon2id$v="...)
	b = strconv.AppendUint(b, argon2.Version, 10)
	b = append(b, "$m="...)
	b = strconv.AppendUint(b, uint64(p.Memory), 10)
	b = append(b, ",t="...)
	b = strconv.AppendUint(b, uint64(p.Time), 10)
	b = append(b, ",p="...)
	b = strconv.AppendUint(b, uint64(p.Threads), 10)
	b = append(b, '$')
	b = b64.AppendEncode(b, salt)
	b = append(b, '$')
	b = b64.AppendEncode(b, key)
	return string(b)
}

// ClientSecretLen is the number of random bytes in a generated client
// secret: 256 bits.
const ClientSecretLen = 32

// NewClientSecret returns a fresh client secret for `issuer client new`: 32
// bytes from crypto/rand in unpadded base64url (43 characters, all of them
// safe in URLs, forms and HTTP Basic credentials). Its entropy makes the fast
// NewSHA256 form safe to store.
//
// The error is from crypto/rand, which since Go 1.24 never fails on
// supported platforms; it is kept so callers handle it anyway.
func NewClientSecret() (string, error) {
	var b [ClientSecretLen]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// NewClientID returns a fresh random client identifier: 16 bytes from
// crypto/rand as 32 lowercase hex digits. Client ids are not secret
// (RFC 6749 §2.2); hex keeps them unambiguous in shells, URLs and logs.
func NewClientID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:]), nil
}
