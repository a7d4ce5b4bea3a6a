package secret

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strconv"
)

// Decoys stand in for the hashes of accounts that do not exist, so that
// authenticating as an unknown client id or user name costs the same time,
// and goes through the same Verifier and Limiter steps, as a wrong secret
// for a real one: a response must not tell an attacker which ids exist.
//
// There is one decoy per hash kind among the real hashes (sha256; bcrypt of
// each cost; argon2id of each parameter set), each the hash of a random
// secret nobody knows. For an unknown id, For picks one by a keyed hash of
// the id, weighted like the real accounts: the same id always gets the same
// decoy, as a real account always has the same hash, and the timings of
// unknown ids are distributed like those of real ones. Decoys is
// immutable and safe for concurrent use.
type Decoys struct {
	key  [32]byte
	pick []Hash // one per real hash, pointing into the shared decoys
}

// NewDecoys builds the decoys for the real hashes hashes (zero Hashes are
// skipped). With none it holds a single bcrypt decoy of DefaultBcryptCost,
// the cautious choice when the real hashes cannot be listed. Making a
// decoy computes one hash of its kind.
func NewDecoys(hashes ...Hash) (*Decoys, error) {
	d := &Decoys{}
	if _, err := rand.Read(d.key[:]); err != nil {
		return nil, fmt.Errorf("secret: decoy key: %w", err)
	}
	byKind := map[string]Hash{}
	for _, h := range hashes {
		if h.IsZero() {
			continue
		}
		k := kind(h)
		dh, ok := byKind[k]
		if !ok {
			var err error
			if dh, err = decoyFor(h); err != nil {
				return nil, err
			}
			byKind[k] = dh
		}
		d.pick = append(d.pick, dh)
	}
	if len(d.pick) == 0 {
		h, err := randomSecret()
		if err != nil {
			return nil, err
		}
		enc, err := NewBcrypt(h, DefaultBcryptCost)
		if err != nil {
			return nil, err
		}
		dh, err := Parse(enc)
		if err != nil {
			return nil, err
		}
		d.pick = append(d.pick, dh)
	}
	return d, nil
}

// For returns the decoy hash that stands in for the unknown account id.
// It never verifies any secret an attacker can send.
func (d *Decoys) For(id string) Hash {
	if len(d.pick) == 1 {
		return d.pick[0]
	}
	m := hmac.New(sha256.New, d.key[:])
	m.Write([]byte(id))
	var sum [sha256.Size]byte
	m.Sum(sum[:0])
	return d.pick[binary.BigEndian.Uint64(sum[:8])%uint64(len(d.pick))]
}

// kind names a hash's scheme and cost parameters: two hashes of one kind
// take the same time to verify.
func kind(h Hash) string {
	switch h.Scheme() {
	case Bcrypt:
		c, _ := h.BcryptCost()
		return "bcrypt/" + strconv.Itoa(c)
	case Argon2id:
		p, _ := h.Argon2Params()
		return fmt.Sprintf("argon2id/%d/%d/%d/%d/%d", p.Memory, p.Time, p.Threads, p.SaltLen, p.KeyLen)
	}
	return string(h.Scheme())
}

// decoyFor hashes a fresh random secret with h's scheme and parameters.
func decoyFor(h Hash) (Hash, error) {
	s, err := randomSecret()
	if err != nil {
		return Hash{}, err
	}
	var enc string
	switch h.Scheme() {
	case Bcrypt:
		c, _ := h.BcryptCost()
		enc, err = NewBcrypt(s, c)
	case Argon2id:
		p, _ := h.Argon2Params()
		enc, err = NewArgon2id(s, p)
	default:
		enc = NewSHA256(s)
	}
	if err != nil {
		return Hash{}, fmt.Errorf("secret: making a decoy hash: %w", err)
	}
	return Parse(enc)
}

func randomSecret() (string, error) {
	s, err := NewClientSecret()
	if err != nil {
		return "", fmt.Errorf("secret: decoy secret: %w", err)
	}
	return s, nil
}
