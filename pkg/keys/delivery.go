package keys

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	gjson "github.com/go-jose/go-jose/v4/json"

	"github.com/sealedtoken/issuer/internal/jsonenc"
	"github.com/sealedtoken/issuer/pkg/jws"
)

// DeliveryType is the JWS "typ" of a key delivery's signed JWT (SPEC §9).
const DeliveryType = "rs-keys+jwt"

// DeliveryMediaType is the media type of a key delivery as the issuer
// serves it: a JWT (RFC 7519 §10.3.1), here a nested one (§11.2).
const DeliveryMediaType = "application/jwt"

// DeliveryMetadataName is the RFC 8414 metadata member that names the
// issuer's key delivery endpoint.
const DeliveryMetadataName = "resource_keys_endpoint"

// DeliveryParameter is the query parameter of the key delivery endpoint
// that names the resource server.
const DeliveryParameter = "resource_server"

// Bounds of OpenDelivery: the whole delivery, the audiences it may carry.
const (
	MaxDeliverySize      = MaxFileSize
	MaxDeliveryAudiences = 256
)

// Errors of OpenDelivery. Every one matches ErrDelivery with errors.Is as
// well as its own sentinel; signature and claim failures also match the
// pkg/jws sentinel that describes them (jws.ErrSignature,
// jws.ErrUnknownKey, jws.ErrExpired, jws.ErrIssuer, ...).
var (
	// ErrDelivery matches every error OpenDelivery returns.
	ErrDelivery = errors.New("keys: invalid key delivery")
	// ErrDeliveryFormat means the delivery is not a nested JWT of the
	// expected shape: not a compact JWE, a header of another algorithm, a
	// "cty" other than JWT, a claims set or key set that does not parse.
	ErrDeliveryFormat error = &deliveryError{"keys: malformed key delivery"}
	// ErrDeliveryDecrypt means the delivery does not decrypt with the
	// resource server's keys: it was encrypted to another resource server
	// or altered. It is the one opaque error for every failure of the
	// decryption.
	ErrDeliveryDecrypt error = &deliveryError{"keys: key delivery does not decrypt with this resource server's key"}
	// ErrDeliverySignature means the signed JWT inside does not verify
	// with the issuer's keys (it also matches the jws error: ErrSignature,
	// ErrUnknownKey, ErrAlgorithm, ErrType, ...).
	ErrDeliverySignature error = &deliveryError{"keys: key delivery is not signed by the issuer"}
	// ErrDeliveryRecipient means the delivery names another resource
	// server in "sub": one resource server's delivery replayed to another.
	ErrDeliveryRecipient error = &deliveryError{"keys: key delivery is for another resource server"}
	// ErrDeliveryExpired means the delivery's "exp" has passed (it also
	// matches jws.ErrExpired).
	ErrDeliveryExpired error = &deliveryError{"keys: key delivery expired"}
	// ErrDeliveryClaims means a claim is missing or wrong: "iss" not the
	// expected issuer, "iat" in the future, no "keys".
	ErrDeliveryClaims error = &deliveryError{"keys: key delivery claims invalid"}
)

// deliveryError is a sentinel of OpenDelivery that also matches
// ErrDelivery.
type deliveryError struct{ msg string }

func (e *deliveryError) Error() string   { return e.msg }
func (e *deliveryError) Is(t error) bool { return t == ErrDelivery }

// deliveryErrorf wraps kind with a detail, which must quote no key
// material.
func deliveryErrorf(kind error, format string, args ...any) error {
	return fmt.Errorf("%w: %s", kind, fmt.Sprintf(format, args...))
}

// Delivery is what a key delivery carries (SPEC §9): the keys of the
// resource server's audiences, each a Set of the keys that open tokens
// with their lifecycle, from the issuer to the resource server named in
// ResourceServer.
type Delivery struct {
	// Issuer is "iss": the issuer's URL.
	Issuer string
	// ResourceServer is "sub": the resource server's id.
	ResourceServer string
	// IssuedAt is "iat" and Expiry "exp".
	IssuedAt, Expiry time.Time
	// Audiences is "keys": each audience name with its ring's keys. An
	// opened delivery's Sets are named after their audience; their keys
	// open and never seal at a resource server that does not seal anyway,
	// and their lifecycle is the issuer's (created = activates).
	Audiences map[string]*Set
	// Signed names the audiences, among Audiences, whose access tokens the
	// issuer signs (audiences[].sign, SPEC §9): a resource server then
	// requires and verifies the signature (crypttoken.WithSignedTokens).
	// It is written as a member "sign": true of the audience's JWK Set,
	// which other JWK Set readers ignore (RFC 7517 §5).
	Signed map[string]bool
}

// SealDelivery returns d as a key delivery (SPEC §9) for the resource
// server to: a JWT of typ rs-keys+jwt, signed by signer (a key of the
// issuer's signing ring), nested in a JWE encrypted to to's first
// encryption key (ECDH-ES+A256KW, A256GCM, cty JWT; RFC 7519 §11.2: sign
// then encrypt). The claims are
//
//	{"iss":…,"sub":…,"iat":…,"exp":…,"keys":{"<audience>":{"keys":[
//	  {"kty":"oct","kid":…,"alg":"A256KW","use":"enc","k":…,"activates":N,"retires":N,"expires":N}],
//	  "sign":true}}}
//
// with each audience's keys that open at d.IssuedAt (pending, active,
// retired; never expired) and their lifecycle times as NumericDates,
// rounded up to the second.
//
// The internal ring and the signing ring are never delivered
// (ErrExportInternal, ErrKeyKind): an audience's Set must be a symmetric
// ring other than InternalRing. Deciding which audiences a resource
// server may receive is the caller's.
func SealDelivery(d *Delivery, signer jws.Signer, to *Recipient) (string, error) {
	if to == nil || len(to.enc) == 0 {
		return "", ErrNoEncryptionKey
	}
	payload, err := d.appendClaims(nil)
	if err != nil {
		return "", err
	}
	defer clear(payload)
	signed, err := jws.Sign(signer, jws.Protected{Type: DeliveryType}, payload)
	if err != nil {
		return "", fmt.Errorf("keys: signing the key delivery: %w", err)
	}
	return sealECDHES(to.enc[0], []byte(signed), "JWT")
}

// DeliveryClaims returns the claims set SealDelivery signs for d: the
// plaintext of the delivery, which holds key material. The issuer derives
// the delivery's ETag from a hash of it, so that every replica, which
// encrypts with its own random values, names the same content alike.
func DeliveryClaims(d *Delivery) ([]byte, error) { return d.appendClaims(nil) }

func (d *Delivery) appendClaims(dst []byte) ([]byte, error) {
	switch {
	case d == nil:
		return nil, fmt.Errorf("%w: nil delivery", ErrNilKey)
	case d.Issuer == "" || d.ResourceServer == "":
		return nil, fmt.Errorf("%w: a key delivery needs an issuer and a resource server", ErrFormat)
	case d.IssuedAt.IsZero() || !d.Expiry.After(d.IssuedAt):
		return nil, fmt.Errorf("%w: a key delivery needs iat and a later exp", ErrFormat)
	case len(d.Audiences) > MaxDeliveryAudiences:
		return nil, fmt.Errorf("%w: %d audiences, at most %d", ErrFormat, len(d.Audiences), MaxDeliveryAudiences)
	}
	names := make([]string, 0, len(d.Audiences))
	for name := range d.Audiences {
		names = append(names, name)
	}
	slices.Sort(names)
	keys := []byte{'{'}
	for i, name := range names {
		set := d.Audiences[name]
		switch {
		case set == nil:
			return nil, fmt.Errorf("%w: audience %q", ErrNilKey, name)
		case name == InternalRing || set.name == InternalRing:
			return nil, ErrExportInternal
		case name == SigningRing || set.Signing():
			return nil, fmt.Errorf("%w: the signing ring is published, never delivered", ErrKeyKind)
		case !validRingName(name):
			return nil, fmt.Errorf("%w: audience %q", ErrRingName, name)
		}
		if i > 0 {
			keys = append(keys, ',')
		}
		keys = jsonenc.AppendString(keys, name)
		keys = append(keys, `:{"keys":[`...)
		n := 0
		for _, k := range set.keys {
			if !d.IssuedAt.Before(k.Expires) {
				continue
			}
			if n > 0 {
				keys = append(keys, ',')
			}
			n++
			keys = appendDeliveredJWK(keys, k)
		}
		keys = append(keys, ']')
		if d.Signed[name] {
			keys = append(keys, `,"sign":true`...)
		}
		keys = append(keys, '}')
	}
	for name := range d.Signed {
		if d.Signed[name] && d.Audiences[name] == nil {
			return nil, fmt.Errorf("%w: signed audience %q is not delivered", ErrFormat, name)
		}
	}
	keys = append(keys, '}')
	defer clear(keys)
	c := jws.Claims{Issuer: d.Issuer, Subject: d.ResourceServer, IssuedAt: d.IssuedAt, Expiry: d.Expiry,
		Extra: map[string]json.RawMessage{"keys": keys}}
	out, err := c.AppendJSON(dst)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	return out, nil
}

// appendDeliveredJWK appends a symmetric key's JWK with its lifecycle
// times as NumericDates (SPEC §9).
func appendDeliveredJWK(b []byte, k *Key) []byte {
	b = append(b, `{"kty":"oct","kid":`...)
	b = jsonenc.AppendString(b, k.ID)
	b = append(b, `,"alg":`...)
	b = jsonenc.AppendString(b, string(k.Alg))
	b = append(b, `,"use":"enc","k":"`...)
	b = jweB64.AppendEncode(b, k.secret[:])
	b = append(b, '"')
	for _, t := range []struct {
		name string
		t    time.Time
	}{{"activates", k.Activates}, {"retires", k.Retires}, {"expires", k.Expires}} {
		b = append(b, `,"`...)
		b = append(b, t.name...)
		b = append(b, `":`...)
		b = strconv.AppendInt(b, ceilUnix(t.t), 10)
	}
	return append(b, '}')
}

// ceilUnix returns t as whole seconds since the epoch, rounded up.
func ceilUnix(t time.Time) int64 {
	s := t.Unix()
	if t.Nanosecond() > 0 {
		s++
	}
	return s
}

// DeliveryExpected is what OpenDelivery requires of a delivery besides
// decrypting and verifying.
type DeliveryExpected struct {
	// Issuer must equal "iss": the issuer's URL. Required.
	Issuer string
	// ResourceServer must equal "sub": the resource server's own id.
	// Required.
	ResourceServer string
	// Algorithms are the JWS algorithms accepted for the signature;
	// default jws.AsymmetricAlgorithms.
	Algorithms []string
	// Leeway is the clock skew tolerated on "exp" and "iat", at most
	// jws.MaxLeeway.
	Leeway time.Duration
	// Time is the clock; nil means time.Now.
	Time func() time.Time
}

// OpenDelivery decrypts, verifies and reads a key delivery (SPEC §9) with
// the resource server's private keys r and the issuer's public signing
// keys issuerKeys (typically jws.ParseKeySet of the issuer's jwks_uri
// document). It is pure: no I/O, no clock beyond want.Time. In order:
//
//  1. the JWE: compact, at most MaxDeliverySize, alg ECDH-ES+A256KW, enc
//     A256GCM, no zip, no crit, cty JWT (ErrDeliveryFormat); it decrypts
//     with the key its "kid" names (ErrDeliveryDecrypt);
//  2. the JWS inside: typ rs-keys+jwt, an algorithm of want.Algorithms, a
//     key of issuerKeys, a valid signature (ErrDeliverySignature);
//  3. the claims (RFC 7519 §7.2): "sub" is want.ResourceServer
//     (ErrDeliveryRecipient), "exp" present and not past
//     (ErrDeliveryExpired), "iat" present and not in the future, "iss" is
//     want.Issuer (ErrDeliveryClaims);
//  4. "keys": an object of at most MaxDeliveryAudiences audience names
//     (never the internal or signing ring's name), each a JWK Set of
//     256-bit "oct" keys (A256KW or dir) with "activates", "retires" and
//     "expires" in order, and an optional boolean "sign" that puts the
//     audience in Delivery.Signed (ErrDeliveryFormat, wrapping a
//     *ParseError that names the audience, key and member).
//
// The returned Sets hold the key material of the audiences: treat them as
// secrets.
func OpenDelivery(token string, r *Recipient, issuerKeys jws.KeySource, want DeliveryExpected) (*Delivery, error) {
	switch {
	case r == nil || len(r.enc) == 0 || !r.HasPrivate():
		return nil, fmt.Errorf("%w: no private key to open deliveries with", ErrCannotSign)
	case issuerKeys == nil:
		return nil, fmt.Errorf("%w: no issuer keys", ErrNilKey)
	case want.Issuer == "" || want.ResourceServer == "":
		return nil, fmt.Errorf("%w: the expected issuer and resource server are required", ErrFormat)
	}
	if len(token) > MaxDeliverySize {
		return nil, deliveryErrorf(ErrDeliveryFormat, "longer than %d bytes", MaxDeliverySize)
	}
	pt, cty, err := openECDHES(r, token)
	if err != nil {
		return nil, err
	}
	defer clear(pt)
	if !strings.EqualFold(cty, "JWT") {
		return nil, deliveryErrorf(ErrDeliveryFormat, "JWE cty %q, want JWT (a nested JWT, RFC 7519 §5.2)", safeText(cty))
	}
	algs := want.Algorithms
	if len(algs) == 0 {
		algs = jws.AsymmetricAlgorithms
	}
	tok, err := jws.Verify(string(pt), algs, issuerKeys, jws.WithType(DeliveryType), jws.WithMaxSize(MaxDeliverySize))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDeliverySignature, err)
	}
	c, err := jws.ParseClaims(tok.Payload)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDeliveryFormat, err)
	}
	if c.Subject != want.ResourceServer {
		return nil, ErrDeliveryRecipient
	}
	if c.IssuedAt.IsZero() {
		return nil, fmt.Errorf("%w: %w: \"iat\"", ErrDeliveryClaims, jws.ErrMissingClaim)
	}
	err = c.Validate(jws.Expected{Issuer: want.Issuer, Leeway: want.Leeway, Time: want.Time})
	switch {
	case errors.Is(err, jws.ErrExpired):
		return nil, fmt.Errorf("%w: %w", ErrDeliveryExpired, err)
	case err != nil:
		return nil, fmt.Errorf("%w: %w", ErrDeliveryClaims, err)
	}
	raw, ok := c.Extra["keys"]
	if !ok {
		return nil, fmt.Errorf("%w: %w: \"keys\"", ErrDeliveryClaims, jws.ErrMissingClaim)
	}
	d := &Delivery{Issuer: c.Issuer, ResourceServer: c.Subject, IssuedAt: c.IssuedAt, Expiry: c.Expiry}
	if d.Audiences, d.Signed, err = parseDeliveredKeys(raw); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDeliveryFormat, err)
	}
	d.Issuer, d.ResourceServer = strings.Clone(d.Issuer), strings.Clone(d.ResourceServer)
	return d, nil
}

// parseDeliveredKeys reads the "keys" claim of a delivery: the audiences'
// sets, and which of them are signed (an optional "sign": true member of
// an audience's JWK Set).
func parseDeliveredKeys(raw []byte) (out map[string]*Set, signed map[string]bool, err error) {
	top, err := objectMembers(raw)
	if err != nil {
		return nil, nil, &ParseError{Kind: kindDelivery, Index: -1, Field: "keys", Err: err}
	}
	if len(top) > MaxDeliveryAudiences {
		return nil, nil, &ParseError{Kind: kindDelivery, Index: -1, Field: "keys",
			Err: fmt.Errorf("%w: %d audiences, at most %d", ErrFormat, len(top), MaxDeliveryAudiences)}
	}
	out = make(map[string]*Set, len(top))
	for name, v := range top {
		perr := func(field string, err error) *ParseError {
			return &ParseError{Kind: kindDelivery, Ring: name, Index: -1, Field: field, Err: err}
		}
		switch {
		case !validRingName(name):
			return nil, nil, &ParseError{Kind: kindDelivery, Index: -1, Field: "keys", Err: fmt.Errorf("%w: audience %q", ErrRingName, safeText(name))}
		case name == InternalRing || name == SigningRing:
			return nil, nil, perr("", fmt.Errorf("%w: %q is not an audience", ErrRingName, name))
		}
		m, err := objectMembers(v)
		if err != nil {
			return nil, nil, perr("", err)
		}
		if _, ok := m["sign"]; ok {
			var sign bool
			if err := member(m, "sign", &sign); err != nil {
				return nil, nil, perr("sign", err)
			}
			if sign {
				if signed == nil {
					signed = make(map[string]bool)
				}
				signed[strings.Clone(name)] = true
			}
		}
		var entries []gjson.RawMessage
		if err := member(m, "keys", &entries); err != nil {
			return nil, nil, perr("keys", err)
		}
		if len(entries) > MaxKeys {
			return nil, nil, perr("keys", fmt.Errorf("%w: %d keys, at most %d", ErrFormat, len(entries), MaxKeys))
		}
		keys := make([]*Key, 0, len(entries))
		seen := make(map[string]int, len(entries))
		for i, e := range entries {
			k, field, err := parseDeliveredJWK(e)
			if err == nil {
				if j, dup := seen[k.ID]; dup {
					field, err = "kid", fmt.Errorf("%w: same kid as keys[%d]", ErrDuplicateKeyID, j)
				}
			}
			if err != nil {
				return nil, nil, &ParseError{Kind: kindDelivery, Ring: name, Index: i, KeyID: peekKID(e), Field: field, Err: err}
			}
			seen[k.ID] = i
			keys = append(keys, k)
		}
		out[strings.Clone(name)] = newSet(strings.Clone(name), keys)
	}
	return out, signed, nil
}

// kindDelivery names a key delivery in a ParseError.
const kindDelivery = "key delivery"

// maxNumericDate is the end of year 9999 (RFC 3339's range), as seconds.
const maxNumericDate = 253402300799

// parseDeliveredJWK reads one key of an audience's JWK Set in a delivery:
// an "oct" JWK (parseJWK) with the lifecycle members.
func parseDeliveredJWK(raw []byte) (*Key, string, error) {
	jk, field, err := parseJWK(raw, false)
	if err != nil {
		return nil, field, err
	}
	defer clear(jk.material)
	m, _ := objectMembers(raw) // parseJWK read it already
	var lc Lifecycle
	for _, f := range []struct {
		name string
		dst  *time.Time
	}{{"activates", &lc.Activates}, {"retires", &lc.Retires}, {"expires", &lc.Expires}} {
		var n gjson.Number
		if err := member(m, f.name, &n); err != nil {
			return nil, f.name, err
		}
		v, err := strconv.ParseFloat(string(n), 64)
		if err != nil || v < 0 || v > maxNumericDate || math.IsNaN(v) {
			return nil, f.name, fmt.Errorf("%w: not a NumericDate", ErrFormat)
		}
		sec, frac := math.Modf(v)
		*f.dst = time.Unix(int64(sec), int64(frac*1e9)).UTC()
	}
	lc.Created = lc.Activates
	k, err := NewKey(jk.kid, jk.alg, jk.material, lc)
	if err != nil {
		return nil, "", err
	}
	return k, "", nil
}
