package keys

import (
	"bytes"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	gjson "github.com/go-jose/go-jose/v4/json"
)

// FormatVersion is the version of the ring file format that Marshal writes
// and Parse reads (see the package documentation, "Ring file").
const FormatVersion = 1

// MaxFileSize bounds the size of a ring file or JWK Set that Parse,
// ParseJWKS, Decode and ReadFile accept. A ring holds a handful of keys; a
// file this large is not a ring.
const MaxFileSize = 1 << 20

// MaxKeys bounds the number of keys in a ring file or JWK Set.
const MaxKeys = 1024

// Errors returned when parsing a ring file or a JWK Set. Parse errors are
// *ParseError values that wrap one of these, or one of ErrKeySize, ErrAlg,
// ErrKeyID, ErrLifecycle, ErrDuplicateKeyID and ErrRingName. Match them with
// errors.Is.
var (
	// ErrFormat means the data is not well-formed: bad or truncated JSON, a
	// missing, unknown or mistyped member, bad base64url, a bad time.
	ErrFormat = errors.New("keys: malformed key file")
	// ErrVersion means the ring file has a format version this build does
	// not read.
	ErrVersion = errors.New("keys: unsupported ring file version")
	// ErrRingMismatch means the file holds another ring than the one
	// expected (WithRingName).
	ErrRingMismatch = errors.New("keys: ring file holds another ring")
	// ErrKEKRequired means the ring file is wrapped and no key-encryption
	// key was given.
	ErrKEKRequired = errors.New("keys: ring file is wrapped; a key-encryption key is required")
	// ErrWrongKEK means the ring file is wrapped with another key-encryption
	// key than the one given.
	ErrWrongKEK = errors.New("keys: ring file is wrapped with another key-encryption key")
	// ErrNotWrapped means a key-encryption key was given but the ring file
	// is not wrapped. A ring stored in clear is refused rather than silently
	// accepted where wrapping is expected.
	ErrNotWrapped = errors.New("keys: ring file is not wrapped but a key-encryption key was given")
	// ErrUnwrap means a wrapped key failed to decrypt or authenticate with
	// the right key-encryption key, or is bound to another ring or kid: the
	// entry was tampered with or moved from elsewhere.
	ErrUnwrap = errors.New("keys: wrapped key does not authenticate")
)

// ParseError describes what is wrong in a ring file or JWK Set: which key
// and which member. It wraps the sentinel that classifies the problem.
type ParseError struct {
	// Path is the file the data came from, when known.
	Path string
	// Kind is "ring file" or "JWK Set".
	Kind string
	// Ring is the ring name, when it was read before the error.
	Ring string
	// Index is the position of the key in the "keys" array, or -1 when the
	// error is not about one key.
	Index int
	// KeyID is the kid of that key, when it was read before the error.
	KeyID string
	// Field is the member at fault, for example "expires" or "jwk.k".
	Field string
	// Err classifies the error; it wraps one of the package's sentinels.
	Err error
}

// Error describes the error. It never contains key material.
func (e *ParseError) Error() string {
	var b strings.Builder
	b.WriteString("keys: ")
	if e.Kind == "" {
		b.WriteString("key file")
	} else {
		b.WriteString(e.Kind)
	}
	if e.Path != "" {
		b.WriteString(" " + strconv.Quote(e.Path))
	}
	if e.Ring != "" {
		b.WriteString(" (ring " + strconv.Quote(e.Ring) + ")")
	}
	loc := ""
	if e.Index >= 0 {
		loc = "keys[" + strconv.Itoa(e.Index) + "]"
		if e.Field != "" {
			loc += "." + e.Field
		}
		if e.KeyID != "" {
			loc += " (kid " + strconv.Quote(e.KeyID) + ")"
		}
	} else if e.Field != "" {
		loc = e.Field
	}
	if loc != "" {
		b.WriteString(": " + loc)
	}
	if e.Err != nil {
		b.WriteString(": " + strings.TrimPrefix(e.Err.Error(), "keys: "))
	}
	return b.String()
}

// Unwrap returns the classifying error.
func (e *ParseError) Unwrap() error { return e.Err }

const (
	kindRing = "ring file"
	kindJWKS = "JWK Set"
)

// fileJSON is the ring file as written. Marshal fills it; Parse reads the
// same members by hand so that it can name every member at fault.
type fileJSON struct {
	Version int         `json:"version"`
	Ring    string      `json:"ring"`
	KEK     string      `json:"kek,omitempty"`
	Keys    []entryJSON `json:"keys"`
}

type entryJSON struct {
	KID       string           `json:"kid"`
	JWK       *jose.JSONWebKey `json:"jwk,omitempty"`
	JWE       string           `json:"jwe,omitempty"`
	Created   string           `json:"created"`
	Activates string           `json:"activates"`
	Retires   string           `json:"retires"`
	Expires   string           `json:"expires"`
}

// The JWK "use" of symmetric keys and of signing keys (RFC 7517 §4.2).
const (
	useEnc = "enc"
	useSig = "sig"
)

// jwkOf returns k as a go-jose JSONWebKey with its secret or private key:
// an RFC 7518 §6.4 "oct" key, or for a signing key an "EC" (§6.2), "OKP"
// (RFC 8037 §2) or "RSA" (§6.3) private key. A public-only key has no
// private JWK: ok is false.
func jwkOf(k *Key) (jwk jose.JSONWebKey, ok bool) {
	if k.Alg.Signing() {
		if k.signer == nil {
			return jose.JSONWebKey{}, false
		}
		return jose.JSONWebKey{Key: k.signer, KeyID: k.ID, Algorithm: string(k.Alg), Use: useSig}, true
	}
	return jose.JSONWebKey{Key: k.Material(), KeyID: k.ID, Algorithm: string(k.Alg), Use: useEnc}, true
}

// publicJWKOf returns a signing key's public JWK (RFC 7517 §4, "use"
// "sig"), which holds no private member.
func publicJWKOf(k *Key) jose.JSONWebKey {
	return jose.JSONWebKey{Key: k.pub, KeyID: k.ID, Algorithm: string(k.Alg), Use: useSig}
}

// Marshal encodes set as a ring file (see the package documentation, "Ring
// file"). With WithKEK each key's JWK is stored wrapped. The output is
// indented JSON ending in a newline; without a KEK it is deterministic
// (except for RS256 keys, whose JSON go-jose writes in a fixed order too).
// A signing set must hold private keys: a public-only key (from
// ParsePublicJWKS) has no place in a ring file and fails with
// ErrCannotSign.
//
// The result holds key material: write it only to a file of mode 0600
// (WriteFile does) and never log it.
func Marshal(set *Set, opts ...Option) ([]byte, error) {
	o, err := buildOptions(opts)
	if err != nil {
		return nil, err
	}
	if set == nil {
		return nil, fmt.Errorf("%w: nil set", ErrNilKey)
	}
	f := fileJSON{Version: FormatVersion, Ring: set.name, Keys: make([]entryJSON, 0, len(set.keys))}
	if o.kek != nil {
		f.KEK = kekID(o.kek)
	}
	for _, k := range set.keys {
		e := entryJSON{KID: k.ID}
		for _, t := range []struct {
			dst *string
			t   time.Time
		}{{&e.Created, k.Created}, {&e.Activates, k.Activates}, {&e.Retires, k.Retires}, {&e.Expires, k.Expires}} {
			if *t.dst, err = formatTime(t.t); err != nil {
				return nil, fmt.Errorf("keys: ring %q key %q: %w", set.name, k.ID, err)
			}
		}
		jwk, ok := jwkOf(k)
		if !ok {
			return nil, fmt.Errorf("%w: ring %q key %q has no private key to store", ErrCannotSign, set.name, k.ID)
		}
		if o.kek != nil {
			if e.JWE, err = wrapKey(o.kek, set.name, k.ID, jwk); err != nil {
				return nil, err
			}
		} else {
			e.JWK = &jwk
		}
		f.Keys = append(f.Keys, e)
	}
	return encodeJSON(f)
}

// encodeJSON writes v as indented JSON without HTML escaping, ending in a
// newline.
func encodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("keys: encoding key file: %w", err)
	}
	return buf.Bytes(), nil
}

// formatTime writes t as an RFC 3339 UTC timestamp with as many fractional
// digits as it needs.
func formatTime(t time.Time) (string, error) {
	u := t.UTC()
	if y := u.Year(); y < 0 || y > 9999 {
		return "", fmt.Errorf("%w: time %d is outside years 0000-9999 of RFC 3339", ErrFormat, y)
	}
	return u.Format(time.RFC3339Nano), nil
}

func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: not an RFC 3339 time", ErrFormat)
	}
	if y := t.UTC().Year(); y < 0 || y > 9999 {
		return time.Time{}, fmt.Errorf("%w: time is outside years 0000-9999 of RFC 3339 once in UTC", ErrFormat)
	}
	return t.UTC(), nil
}

// Parse decodes a ring file written by Marshal and checks everything in it:
// the format version, the ring name (against WithRingName if given), each
// key's kid, JWK members, size, algorithm and lifecycle order, and that no
// kid repeats. A wrapped file needs the right WithKEK; a file in clear is
// refused when a KEK is given. Errors are *ParseError values naming the key
// and member at fault.
//
// Parse never panics and never returns a partial set.
func Parse(data []byte, opts ...Option) (*Set, error) {
	o, err := buildOptions(opts)
	if err != nil {
		return nil, err
	}
	return parseRing(data, &o)
}

func parseRing(data []byte, o *options) (*Set, error) {
	perr := func(field string, err error) *ParseError {
		return &ParseError{Kind: kindRing, Index: -1, Field: field, Err: err}
	}
	if len(data) > MaxFileSize {
		return nil, perr("", fmt.Errorf("%w: %d bytes is more than %d", ErrFormat, len(data), MaxFileSize))
	}
	top, err := objectMembers(data, "version", "ring", "kek", "keys")
	if err != nil {
		return nil, perr("", err)
	}
	var version int
	if err := member(top, "version", &version); err != nil {
		return nil, perr("version", err)
	}
	if version != FormatVersion {
		return nil, perr("version", fmt.Errorf("%w: version %d, this build reads version %d", ErrVersion, version, FormatVersion))
	}
	var name string
	if err := member(top, "ring", &name); err != nil {
		return nil, perr("ring", err)
	}
	if !validRingName(name) {
		return nil, perr("ring", fmt.Errorf("%w: %q", ErrRingName, name))
	}
	if o.name != "" && name != o.name {
		e := perr("ring", fmt.Errorf("%w: want %q", ErrRingMismatch, o.name))
		e.Ring = name
		return nil, e
	}
	var wrappedWith string
	if _, ok := top["kek"]; ok {
		if err := member(top, "kek", &wrappedWith); err != nil || wrappedWith == "" {
			if err == nil {
				err = fmt.Errorf("%w: empty string", ErrFormat)
			}
			return nil, &ParseError{Kind: kindRing, Ring: name, Index: -1, Field: "kek", Err: err}
		}
	}
	switch {
	case wrappedWith != "" && o.kek == nil:
		return nil, &ParseError{Kind: kindRing, Ring: name, Index: -1, Field: "kek",
			Err: fmt.Errorf("%w (file wrapped with KEK id %q)", ErrKEKRequired, wrappedWith)}
	case wrappedWith != "" && wrappedWith != kekID(o.kek):
		return nil, &ParseError{Kind: kindRing, Ring: name, Index: -1, Field: "kek",
			Err: fmt.Errorf("%w: file wrapped with KEK id %q, given KEK has id %q", ErrWrongKEK, wrappedWith, kekID(o.kek))}
	case wrappedWith == "" && o.kek != nil:
		return nil, &ParseError{Kind: kindRing, Ring: name, Index: -1, Field: "kek", Err: ErrNotWrapped}
	}
	var entries []gjson.RawMessage
	if err := member(top, "keys", &entries); err != nil {
		return nil, &ParseError{Kind: kindRing, Ring: name, Index: -1, Field: "keys", Err: err}
	}
	if len(entries) > MaxKeys {
		return nil, &ParseError{Kind: kindRing, Ring: name, Index: -1, Field: "keys",
			Err: fmt.Errorf("%w: %d keys, at most %d", ErrFormat, len(entries), MaxKeys)}
	}
	keys := make([]*Key, 0, len(entries))
	seen := make(map[string]int, len(entries))
	for i, raw := range entries {
		k, field, err := parseEntry(raw, name, o.kek)
		if err == nil {
			if j, dup := seen[k.ID]; dup {
				field, err = "kid", fmt.Errorf("%w: same kid as keys[%d]", ErrDuplicateKeyID, j)
			} else if len(keys) > 0 && keys[0].Alg.Signing() != k.Alg.Signing() {
				field, err = prefixOf(raw)+".alg", fmt.Errorf("%w: %s key after %s keys", ErrKeyKind, k.Alg, keys[0].Alg)
			}
		}
		if err != nil {
			e := &ParseError{Kind: kindRing, Ring: name, Index: i, Field: field, Err: err}
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

// parseEntry decodes one element of a ring file's "keys" array. On error it
// returns the member at fault.
func parseEntry(raw gjson.RawMessage, ring string, kek []byte) (*Key, string, error) {
	m, err := objectMembers(raw, "kid", "jwk", "jwe", "created", "activates", "retires", "expires")
	if err != nil {
		return nil, "", err
	}
	var kid string
	if err := member(m, "kid", &kid); err != nil {
		return nil, "kid", err
	}
	if !validKeyID(kid) {
		return nil, "kid", fmt.Errorf("%w: %q", ErrKeyID, kid)
	}
	var lc Lifecycle
	for _, t := range []struct {
		name string
		dst  *time.Time
	}{{"created", &lc.Created}, {"activates", &lc.Activates}, {"retires", &lc.Retires}, {"expires", &lc.Expires}} {
		var s string
		if err := member(m, t.name, &s); err != nil {
			return nil, t.name, err
		}
		if *t.dst, err = parseTime(s); err != nil {
			return nil, t.name, err
		}
	}
	switch {
	case lc.Activates.Before(lc.Created):
		return nil, "activates", fmt.Errorf("%w: activates before it is created", ErrLifecycle)
	case !lc.Activates.Before(lc.Retires):
		return nil, "retires", fmt.Errorf("%w: retires at or before it activates", ErrLifecycle)
	case lc.Expires.Before(lc.Retires):
		return nil, "expires", fmt.Errorf("%w: expires before it retires", ErrLifecycle)
	}
	_, hasJWK := m["jwk"]
	_, hasJWE := m["jwe"]
	var jwkRaw []byte
	prefix := "jwk"
	switch {
	case kek == nil && hasJWE:
		return nil, "jwe", fmt.Errorf("%w: wrapped key in a file without \"kek\"", ErrFormat)
	case kek != nil && hasJWK:
		return nil, "jwk", fmt.Errorf("%w: key in clear in a wrapped file", ErrFormat)
	case kek == nil && !hasJWK:
		return nil, "jwk", fmt.Errorf("%w: missing member", ErrFormat)
	case kek != nil && !hasJWE:
		return nil, "jwe", fmt.Errorf("%w: missing member", ErrFormat)
	case kek == nil:
		jwkRaw = m["jwk"]
	default:
		var s string
		if err := member(m, "jwe", &s); err != nil {
			return nil, "jwe", err
		}
		if jwkRaw, err = unwrapKey(kek, ring, kid, s); err != nil {
			return nil, "jwe", err
		}
		prefix = "jwe(jwk)"
	}
	var jk parsedJWK
	var field string
	if peekKty(jwkRaw) == "oct" {
		jk, field, err = parseJWK(jwkRaw, true)
	} else {
		jk, field, err = parseSigningJWK(jwkRaw, true, true)
	}
	if kek != nil {
		clear(jwkRaw)
	}
	if err != nil {
		if field != "" {
			field = prefix + "." + field
		} else {
			field = prefix
		}
		return nil, field, err
	}
	if jk.kid != kid {
		return nil, prefix + ".kid", fmt.Errorf("%w: JWK kid %q differs from entry kid", ErrKeyID, jk.kid)
	}
	var k *Key
	if jk.signer != nil {
		k, err = NewSigningKey(kid, jk.alg, jk.signer, lc)
	} else {
		k, err = NewKey(kid, jk.alg, jk.material, lc)
		clear(jk.material)
	}
	if err != nil {
		return nil, prefix, err
	}
	return k, "", nil
}

// prefixOf returns the member of a ring-file entry that holds its key:
// "jwe" when it is wrapped, else "jwk".
func prefixOf(entry []byte) string {
	var m map[string]gjson.RawMessage
	if gjson.Unmarshal(entry, &m) == nil {
		if _, ok := m["jwe"]; ok {
			return "jwe(jwk)"
		}
	}
	return "jwk"
}

// peekKty returns the "kty" member of a JWK, or "" if there is none.
func peekKty(raw []byte) string {
	var m map[string]gjson.RawMessage
	if gjson.Unmarshal(raw, &m) != nil {
		return ""
	}
	var kty string
	if member(m, "kty", &kty) != nil {
		return ""
	}
	return kty
}

// parsedJWK is a JWK checked by parseJWK (a symmetric key: material) or
// parseSigningJWK (a signing key: signer, or pub alone for a public key).
type parsedJWK struct {
	kid      string
	alg      Alg
	material []byte
	signer   crypto.Signer
	pub      crypto.PublicKey
}

// parseJWK decodes one "oct" JWK (RFC 7517 §4, RFC 7518 §6.4) with go-jose
// and checks it is a 256-bit encryption key for A256KW or dir. With strict
// set (ring files, which this package writes), members other than kty, kid,
// alg, use and k are refused and use is required; otherwise (JWK Sets from
// elsewhere) other members are ignored as RFC 7517 §4 asks and use, if
// present, must be "enc". On error it returns the member at fault.
func parseJWK(raw []byte, strict bool) (parsedJWK, string, error) {
	allowed := []string{"kty", "kid", "alg", "use", "k"}
	if !strict {
		allowed = nil
	}
	m, err := objectMembers(raw, allowed...)
	if err != nil {
		return parsedJWK{}, "", err
	}
	var kty, kid, alg, use string
	for _, f := range []struct {
		name     string
		dst      *string
		required bool
	}{{"kty", &kty, true}, {"kid", &kid, true}, {"alg", &alg, true}, {"use", &use, strict}} {
		if _, ok := m[f.name]; !ok && !f.required {
			continue
		}
		if err := member(m, f.name, f.dst); err != nil {
			return parsedJWK{}, f.name, err
		}
	}
	if kty != "oct" {
		return parsedJWK{}, "kty", fmt.Errorf("%w: kty %q, want \"oct\"", ErrFormat, kty)
	}
	if !validKeyID(kid) {
		return parsedJWK{}, "kid", fmt.Errorf("%w: %q", ErrKeyID, kid)
	}
	if !Alg(alg).Valid() {
		return parsedJWK{}, "alg", fmt.Errorf("%w: %q (want %q or %q)", ErrAlg, alg, A256KW, Direct)
	}
	if _, ok := m["use"]; ok && use != useEnc {
		return parsedJWK{}, "use", fmt.Errorf("%w: use %q, want %q", ErrFormat, use, useEnc)
	}
	if _, ok := m["k"]; !ok {
		return parsedJWK{}, "k", fmt.Errorf("%w: missing member", ErrFormat)
	}
	var jk jose.JSONWebKey
	if err := jk.UnmarshalJSON(raw); err != nil {
		// go-jose's messages name no secret, but keep them out anyway: the
		// only member left that can be wrong here is k.
		return parsedJWK{}, "k", fmt.Errorf("%w: not a base64url symmetric key", ErrFormat)
	}
	material, ok := jk.Key.([]byte)
	if !ok {
		return parsedJWK{}, "kty", fmt.Errorf("%w: not a symmetric key", ErrFormat)
	}
	if len(material) != KeySize {
		n := len(material)
		clear(material)
		return parsedJWK{}, "k", fmt.Errorf("%w: %d bytes", ErrKeySize, n)
	}
	return parsedJWK{kid: kid, alg: Alg(alg), material: material}, "", nil
}

// objectMembers decodes data as one JSON object with go-jose's JSON package,
// which matches member names case-sensitively and refuses duplicates (as
// JOSE parsers must, RFC 7515 §5.2 step 4). If allowed is not empty, any
// other member is an error.
func objectMembers(data []byte, allowed ...string) (map[string]gjson.RawMessage, error) {
	var m map[string]gjson.RawMessage
	if err := gjson.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrFormat, jsonErrText(err))
	}
	if m == nil {
		return nil, fmt.Errorf("%w: want a JSON object, got null", ErrFormat)
	}
	if len(allowed) > 0 {
		for name := range m {
			if !slices.Contains(allowed, name) {
				return nil, fmt.Errorf("%w: unknown member %q", ErrFormat, name)
			}
		}
	}
	return m, nil
}

// member decodes the required member name of m into dst.
func member(m map[string]gjson.RawMessage, name string, dst any) error {
	raw, ok := m[name]
	if !ok {
		return fmt.Errorf("%w: missing member", ErrFormat)
	}
	if string(bytes.TrimSpace(raw)) == "null" {
		return fmt.Errorf("%w: null where a value is required", ErrFormat)
	}
	if err := gjson.Unmarshal(raw, dst); err != nil {
		return fmt.Errorf("%w: %s", ErrFormat, jsonErrText(err))
	}
	return nil
}

// jsonErrText describes a JSON error without quoting the input, which may
// hold key material.
func jsonErrText(err error) string {
	var syn *gjson.SyntaxError
	var typ *gjson.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		if strings.Contains(syn.Error(), "unexpected end") {
			return fmt.Sprintf("truncated JSON (input ends at offset %d)", syn.Offset)
		}
		return fmt.Sprintf("invalid JSON at offset %d", syn.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("JSON %s where %s is expected", typ.Value, typeName(typ.Type.String()))
	case strings.Contains(err.Error(), "duplicate key"):
		return "duplicate member name in object"
	}
	return "invalid JSON value"
}

func typeName(goType string) string {
	switch {
	case goType == "string":
		return "a string"
	case strings.HasPrefix(goType, "int"):
		return "an integer"
	case strings.HasPrefix(goType, "[]"):
		return "an array"
	case strings.HasPrefix(goType, "map["):
		return "an object"
	}
	return goType
}

// peekKID returns the "kid" member of a key entry that failed to parse, if
// it is a valid kid, for the error message.
func peekKID(raw []byte) string {
	var m map[string]gjson.RawMessage
	if gjson.Unmarshal(raw, &m) != nil {
		return ""
	}
	var kid string
	if member(m, "kid", &kid) != nil || !validKeyID(kid) {
		return ""
	}
	return kid
}

// Decode reads either a ring file (Parse) or a JWK Set (ParseJWKS), so that
// a resource server can be given whichever its operator distributes. A
// document with a "version" member is a ring file; any other is a JWK Set,
// named by WithRingName or "jwks". With WithKEK only ring files are
// accepted: a JWK Set in clear cannot stand in for a wrapped ring.
func Decode(data []byte, opts ...Option) (*Set, error) {
	o, err := buildOptions(opts)
	if err != nil {
		return nil, err
	}
	return decode(data, &o)
}

func decode(data []byte, o *options) (*Set, error) {
	if o.kek != nil || len(data) > MaxFileSize {
		return parseRing(data, o)
	}
	top, err := objectMembers(data)
	if err != nil {
		return nil, &ParseError{Kind: "ring file or JWK Set", Index: -1, Err: err}
	}
	if _, ok := top["version"]; ok {
		return parseRing(data, o)
	}
	name := o.name
	if name == "" {
		name = defaultJWKSName
	}
	return ParseJWKS(name, data)
}

// defaultJWKSName names a Set decoded from a JWK Set without WithRingName.
const defaultJWKSName = "jwks"
