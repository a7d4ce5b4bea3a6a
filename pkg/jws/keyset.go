package jws

import (
	"errors"
	"fmt"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/sealedtoken/issuer/internal/jsonscan"
)

// maxKeySet bounds the JSON of a JWK Set that ParseKeySet reads, and
// maxKeys the keys in it.
const (
	maxKeySet = 1 << 20
	maxKeys   = 256
)

// KeySet is a public JWK Set (RFC 7517 §5) of verification keys, looked up
// by "kid". It is immutable and safe for concurrent use; to change keys,
// build a new set and swap it (an atomic.Pointer[KeySet] serves).
//
// Keys that cannot verify (an encryption key, an unsupported type, curve
// or size) are skipped, as RFC 7517 §5 advises, and reported by Skipped. A
// key holding private material fails the whole set (ErrPrivateKey): a
// leaked private key is a configuration error to fix, not to ignore.
type KeySet struct {
	byKID   map[string]*Key
	keys    []*Key
	skipped []error
}

// NewKeySet returns a set of the given keys. Two keys with one non-empty
// kid are ErrConfig.
func NewKeySet(keys ...*Key) (*KeySet, error) {
	s := &KeySet{byKID: make(map[string]*Key, len(keys))}
	for _, k := range keys {
		if k == nil {
			return nil, fmt.Errorf("%w: nil key", ErrConfig)
		}
		if err := s.add(k); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (s *KeySet) add(k *Key) error {
	if k.kid != "" {
		if _, dup := s.byKID[k.kid]; dup {
			return fmt.Errorf("%w: two keys with kid %q", ErrConfig, safeValue(k.kid))
		}
		s.byKID[k.kid] = k
	}
	s.keys = append(s.keys, k)
	return nil
}

// KeySetFromJOSE returns the verification keys of a go-jose JWK Set.
func KeySetFromJOSE(set *jose.JSONWebKeySet) (*KeySet, error) {
	if set == nil {
		return nil, fmt.Errorf("%w: nil JWK Set", ErrConfig)
	}
	s := &KeySet{byKID: make(map[string]*Key, len(set.Keys))}
	for i := range set.Keys {
		k, err := KeyFromJOSE(&set.Keys[i])
		if err := s.take(i, set.Keys[i].KeyID, k, err); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// ParseKeySet reads a JWK Set, {"keys":[…]} (RFC 7517 §5), of public keys;
// each key is read as ParseJWK reads it. Other members of the set are
// ignored. Errors wrap ErrInvalidKey (naming the key by position and kid),
// ErrPrivateKey or ErrConfig (a repeated kid).
func ParseKeySet(b []byte) (*KeySet, error) {
	if len(b) > maxKeySet {
		return nil, fmt.Errorf("%w: JWK Set longer than %d bytes", ErrInvalidKey, maxKeySet)
	}
	d := jsonscan.New(b)
	bad := fmt.Errorf("%w: not a JWK Set object", ErrInvalidKey)
	if d.Expect('{') != nil {
		return nil, bad
	}
	var s *KeySet
	for first := true; ; first = false {
		name, ok, err := d.Member(first)
		if err != nil {
			return nil, bad
		}
		if !ok {
			break
		}
		if name != "keys" {
			if _, err := d.Skip(); err != nil {
				return nil, bad
			}
			continue
		}
		if s != nil {
			return nil, fmt.Errorf("%w: \"keys\" appears twice", ErrInvalidKey)
		}
		s = &KeySet{byKID: map[string]*Key{}}
		if d.Expect('[') != nil {
			return nil, fmt.Errorf("%w: \"keys\" is not an array", ErrInvalidKey)
		}
		for i := 0; ; i++ {
			more, err := d.Element(i == 0)
			if err != nil {
				return nil, bad
			}
			if !more {
				break
			}
			if i == maxKeys {
				return nil, fmt.Errorf("%w: more than %d keys", ErrInvalidKey, maxKeys)
			}
			j, err := readJWK(&d)
			if err != nil {
				return nil, fmt.Errorf("key %d: %w", i, err)
			}
			k, err := j.key()
			if err := s.take(i, j.kid, k, err); err != nil {
				return nil, err
			}
		}
	}
	if d.End() != nil {
		return nil, bad
	}
	if s == nil {
		return nil, fmt.Errorf("%w: no \"keys\" member", ErrInvalidKey)
	}
	return s, nil
}

// take adds the i-th key of a set, or records why it was skipped.
func (s *KeySet) take(i int, kid string, k *Key, err error) error {
	switch {
	case errors.Is(err, ErrUnsupportedKey):
		s.skipped = append(s.skipped, fmt.Errorf("key %d (kid %q): %w", i, safeValue(kid), err))
		return nil
	case err != nil:
		return fmt.Errorf("key %d (kid %q): %w", i, safeValue(kid), err)
	case !k.verifyOK:
		s.skipped = append(s.skipped, fmt.Errorf("key %d (kid %q): %w: not a signature verification key", i, safeValue(kid), ErrUnsupportedKey))
		return nil
	}
	return s.add(k)
}

// Lookup returns the key with kid.
func (s *KeySet) Lookup(kid string) (*Key, bool) {
	k, ok := s.byKID[kid]
	return k, ok
}

// Keys returns the set's keys in their order. The slice must not be
// modified.
func (s *KeySet) Keys() []*Key { return s.keys }

// Len returns the number of keys.
func (s *KeySet) Len() int { return len(s.keys) }

// Skipped returns why keys of the JWK Set were left out (each wraps
// ErrUnsupportedKey), for logging at load time.
func (s *KeySet) Skipped() []error { return s.skipped }

// VerificationKey finds the key of a token by its "kid". A token without a
// kid is verified by the set's only key when it holds exactly one; with
// more keys, a kid is required (keys are never tried in turn).
func (s *KeySet) VerificationKey(h *Header) (*Key, error) {
	if h.KeyID == "" {
		if len(s.keys) == 1 {
			return s.keys[0], nil
		}
		return nil, fmt.Errorf("%w: no kid, and the key set holds %d keys", ErrUnknownKey, len(s.keys))
	}
	if k, ok := s.byKID[h.KeyID]; ok {
		return k, nil
	}
	return nil, fmt.Errorf("%w: kid %q", ErrUnknownKey, safeValue(h.KeyID))
}
