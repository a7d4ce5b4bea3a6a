package secret

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Scheme names the algorithm of a Hash.
type Scheme string

const (
	// SHA256 is "sha256$<64 lowercase hex>": one SHA-256 of the secret. It is
	// only safe for high-entropy secrets such as those NewClientSecret makes,
	// where no dictionary can be brute-forced, and it is fast enough that the
	// Verifier neither caches nor throttles it.
	SHA256 Scheme = "sha256"
	// Bcrypt is the OpenBSD bcrypt modular-crypt form "$2a$", "$2b$" or
	// "$2y$" + two-digit cost + 22 characters of salt + 31 of hash.
	Bcrypt Scheme = "bcrypt"
	// Argon2id is the PHC string form of Argon2id version 19 (RFC 9106):
	// "$argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<hash>", salt and
	// hash in unpadded standard base64.
	Argon2id Scheme = "argon2id"
)

// Bounds that Parse enforces, so that a configuration file cannot make one
// verification cost seconds of CPU or gigabytes of memory. The Verifier runs
// at most GOMAXPROCS verifications at once; with the caps below a full
// Verifier holds at most GOMAXPROCS × MaxArgon2Memory.
//
// Measured on a 2-core amd64 VM: bcrypt cost 12 ≈ 0.21 s, 13 ≈ 0.43 s; Argon2id
// m=64 MiB, t=3, p=2 ≈ 0.22 s; 512 MiB·passes of work ≈ 0.55 s.
const (
	// MinBcryptCost is bcrypt's own minimum (bcrypt.MinCost). Costs below 10
	// are weak for human-chosen passwords; Parse accepts them because tests
	// and migrations need them, and the operator owns the choice.
	MinBcryptCost = bcrypt.MinCost
	// MaxBcryptCost caps bcrypt at about half a second per verification.
	MaxBcryptCost = 13
	// DefaultBcryptCost is the cost NewBcrypt uses when given 0. OWASP asks
	// for at least 10.
	DefaultBcryptCost = 12

	// MaxArgon2Memory caps the m parameter, in KiB (256 MiB).
	MaxArgon2Memory = 256 * 1024
	// MaxArgon2Time caps the t parameter (passes over memory).
	MaxArgon2Time = 16
	// MaxArgon2Threads caps the p parameter (lanes, and goroutines).
	MaxArgon2Threads = 16
	// MaxArgon2Work caps m×t, in KiB-passes: the CPU time of one verification
	// is proportional to it. 512 MiB-passes admits m=64 MiB with t≤8,
	// m=128 MiB with t≤4 and m=256 MiB with t≤2.
	MaxArgon2Work = 512 * 1024
	// MinArgon2SaltLen and MaxArgon2SaltLen bound the decoded salt in bytes
	// (RFC 9106 §3.1 requires at least 8; 16 is recommended).
	MinArgon2SaltLen = 8
	MaxArgon2SaltLen = 64
	// MinArgon2KeyLen and MaxArgon2KeyLen bound the decoded hash (tag) in
	// bytes. Argon2 allows 4-byte tags; below 16 bytes a tag is guessable.
	MinArgon2KeyLen = 16
	MaxArgon2KeyLen = 64

	// MaxSecretLen is the longest secret that Verify will compute a hash for;
	// longer secrets never verify and the New functions refuse them. It
	// bounds the work an attacker can make one request cost. Generated
	// client secrets are 43 bytes.
	MaxSecretLen = 1024
)

// Sentinel errors. Parse returns a *ParseError that wraps one of them; match
// with errors.Is. No error message of this package ever contains the hash or
// the secret: a plaintext secret pasted where a hash belongs must not end up
// in a log line.
var (
	// ErrEmpty: the hash string is empty.
	ErrEmpty = errors.New("secret: empty hash")
	// ErrUnknownScheme: the string is not sha256$…, $2a$/$2b$/$2y$… or
	// $argon2id$….
	ErrUnknownScheme = errors.New("secret: unknown hash scheme")
	// ErrSHA256Length: the sha256 form does not have exactly 64 hex digits.
	ErrSHA256Length = errors.New("secret: sha256 hash must have 64 hex digits")
	// ErrSHA256Hex: the sha256 form contains a character that is not
	// lowercase hex.
	ErrSHA256Hex = errors.New("secret: sha256 hash must be lowercase hex")
	// ErrBcryptFormat: a bcrypt string of the wrong length or alphabet.
	ErrBcryptFormat = errors.New("secret: malformed bcrypt hash")
	// ErrBcryptCost: a bcrypt cost outside [MinBcryptCost, MaxBcryptCost].
	ErrBcryptCost = errors.New("secret: bcrypt cost out of range")
	// ErrArgon2Format: a PHC string that is not
	// $argon2id$v=19$m=…,t=…,p=…$salt$hash.
	ErrArgon2Format = errors.New("secret: malformed argon2id hash")
	// ErrArgon2Version: a version other than v=19 (0x13), or none.
	ErrArgon2Version = errors.New("secret: unsupported argon2 version")
	// ErrArgon2Params: m, t, p, salt or hash length out of bounds.
	ErrArgon2Params = errors.New("secret: argon2 parameters out of bounds")
	// ErrEmptySecret: the New functions refuse to hash an empty secret.
	ErrEmptySecret = errors.New("secret: empty secret")
	// ErrSecretTooLong: a secret longer than MaxSecretLen, or longer than
	// bcrypt's 72 bytes for NewBcrypt.
	ErrSecretTooLong = errors.New("secret: secret too long")
)

// ParseError is the error Parse returns. Err is one of the sentinels above
// and Detail says what exactly is wrong, without quoting the input.
type ParseError struct {
	// Scheme is the scheme the input claimed, or "" when none was recognised.
	Scheme Scheme
	// Err is the sentinel describing the class of problem.
	Err error
	// Detail is a human-readable precision such as "cost 31, allowed 4..13".
	Detail string
}

// Error implements error: the sentinel's message, then the detail.
func (e *ParseError) Error() string {
	if e.Detail == "" {
		return e.Err.Error()
	}
	return e.Err.Error() + ": " + e.Detail
}

// Unwrap returns e.Err so that errors.Is matches the sentinel.
func (e *ParseError) Unwrap() error { return e.Err }

func parseErr(s Scheme, err error, format string, args ...any) error {
	return &ParseError{Scheme: s, Err: err, Detail: fmt.Sprintf(format, args...)}
}

// Hash is a parsed, validated secret hash. Build it once with Parse when the
// configuration is loaded; verifying then costs no parsing.
//
// A Hash is immutable and safe for concurrent use; copies share the parsed
// form. The zero Hash verifies nothing.
type Hash struct{ p *parsed }

type parsed struct {
	scheme Scheme
	enc    string
	// sha256
	sum [sha256.Size]byte
	// bcrypt
	raw  []byte // enc as bytes, for bcrypt.CompareHashAndPassword
	cost int
	// argon2id
	params    Argon2Params
	salt, key []byte
}

// Parse validates and decodes an encoded hash: "sha256$<64 lowercase hex>",
// bcrypt "$2a$"/"$2b$"/"$2y$" or an Argon2id PHC string. Parsing is strict:
// no surrounding white space, no upper-case hex, no padding in base64, no
// non-canonical numbers, and parameters within the Max… bounds above.
//
// The error is a *ParseError wrapping one of the Err… sentinels; it never
// contains s.
func Parse(s string) (Hash, error) {
	var (
		p   *parsed
		err error
	)
	switch {
	case s == "":
		return Hash{}, &ParseError{Err: ErrEmpty}
	case strings.HasPrefix(s, "sha256$"):
		p, err = parseSHA256(s)
	case strings.HasPrefix(s, "$2"):
		p, err = parseBcrypt(s)
	case strings.HasPrefix(s, "$argon2id$"):
		p, err = parseArgon2id(s)
	default:
		return Hash{}, &ParseError{Err: ErrUnknownScheme, Detail: unknownDetail(s)}
	}
	if err != nil {
		return Hash{}, err
	}
	p.enc = s
	return Hash{p: p}, nil
}

// unknownDetail names a recognised-but-unsupported scheme without echoing
// the input, which may be a plaintext secret pasted by mistake.
func unknownDetail(s string) string {
	known := []struct{ prefix, name string }{
		{"$argon2i$", "argon2i"},
		{"$argon2d$", "argon2d"},
		{"$1$", "md5-crypt"},
		{"$5$", "sha256-crypt"},
		{"$6$", "sha512-crypt"},
		{"$scrypt$", "scrypt"},
		{"$7$", "scrypt"},
		{"$pbkdf2", "pbkdf2"},
		{"SHA256$", "sha256 (the prefix must be lower case)"},
		{"sha512$", "sha512"},
		{"sha1$", "sha1"},
		{"md5$", "md5"},
		{"plain$", "plain"},
	}
	for _, k := range known {
		if strings.HasPrefix(s, k.prefix) {
			return k.name + " is not supported; want sha256$, $2a$/$2b$/$2y$ or $argon2id$"
		}
	}
	return "want sha256$<hex>, $2a$/$2b$/$2y$ (bcrypt) or $argon2id$ (PHC)"
}

func parseSHA256(s string) (*parsed, error) {
	hx := s[len("sha256$"):]
	if len(hx) != 2*sha256.Size {
		return nil, parseErr(SHA256, ErrSHA256Length, "got %d characters", len(hx))
	}
	p := &parsed{scheme: SHA256}
	for i := 0; i < sha256.Size; i++ {
		hi, ok1 := lowerHex(hx[2*i])
		lo, ok2 := lowerHex(hx[2*i+1])
		if !ok1 || !ok2 {
			return nil, parseErr(SHA256, ErrSHA256Hex, "bad character near offset %d", 2*i)
		}
		p.sum[i] = hi<<4 | lo
	}
	return p, nil
}

func lowerHex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// bcrypt's base64 alphabet (OpenBSD bcrypt.c), in value order.
const bcryptAlphabet = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// bcryptLen is len("$2a$10$") + 22 salt + 31 hash characters.
const bcryptLen = 60

func parseBcrypt(s string) (*parsed, error) {
	if len(s) < 4 || s[3] != '$' || (s[2] != 'a' && s[2] != 'b' && s[2] != 'y') {
		return nil, parseErr(Bcrypt, ErrBcryptFormat, "version must be $2a$, $2b$ or $2y$")
	}
	if len(s) != bcryptLen {
		return nil, parseErr(Bcrypt, ErrBcryptFormat, "length %d, want %d", len(s), bcryptLen)
	}
	if s[6] != '$' || !isDigit(s[4]) || !isDigit(s[5]) {
		return nil, parseErr(Bcrypt, ErrBcryptFormat, "cost must be two decimal digits followed by $")
	}
	cost := int(s[4]-'0')*10 + int(s[5]-'0')
	if cost < MinBcryptCost || cost > MaxBcryptCost {
		return nil, parseErr(Bcrypt, ErrBcryptCost, "cost %d, allowed %d..%d", cost, MinBcryptCost, MaxBcryptCost)
	}
	body := s[7:]
	for i := 0; i < len(body); i++ {
		if strings.IndexByte(bcryptAlphabet, body[i]) < 0 {
			return nil, parseErr(Bcrypt, ErrBcryptFormat, "character at offset %d is outside the bcrypt alphabet", 7+i)
		}
	}
	// The 31-character hash encodes 23 bytes = 184 of 186 bits, so its last
	// character carries two zero bits. A hash that breaks this can never be
	// produced by bcrypt and so could never match; say so at load time.
	// (The salt's unused bits are not checked: some old encoders set them,
	// and decoders ignore them.)
	if strings.IndexByte(bcryptAlphabet, s[bcryptLen-1])%4 != 0 {
		return nil, parseErr(Bcrypt, ErrBcryptFormat, "non-canonical last character; this hash can never match")
	}
	return &parsed{scheme: Bcrypt, raw: []byte(s), cost: cost}, nil
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// b64 is the PHC string format's base64: standard alphabet, no padding,
// and (Strict) zero trailing bits.
var b64 = base64.RawStdEncoding.Strict()

func parseArgon2id(s string) (*parsed, error) {
	// "" / "argon2id" / "v=19" / "m=…,t=…,p=…" / salt / hash
	parts := strings.Split(s, "$")
	if len(parts) == 5 && strings.HasPrefix(parts[2], "m=") {
		return nil, parseErr(Argon2id, ErrArgon2Version, "missing v=19 (argon2 version 1.0 is not supported)")
	}
	if len(parts) != 6 {
		return nil, parseErr(Argon2id, ErrArgon2Format, "want $argon2id$v=19$m=<m>,t=<t>,p=<p>$<salt>$<hash>, got %d $-separated fields", len(parts)-1)
	}
	ver, ok := strings.CutPrefix(parts[2], "v=")
	if !ok {
		return nil, parseErr(Argon2id, ErrArgon2Version, "missing v=19 (argon2 version 1.0 is not supported)")
	}
	if v, ok := parseUint(ver); !ok || v != argon2.Version {
		return nil, parseErr(Argon2id, ErrArgon2Version, "want v=%d", argon2.Version)
	}
	m, t, threads, err := parseArgon2Params(parts[3])
	if err != nil {
		return nil, err
	}
	if len(parts[4]) == 0 || len(parts[5]) == 0 {
		return nil, parseErr(Argon2id, ErrArgon2Format, "empty salt or hash")
	}
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return nil, parseErr(Argon2id, ErrArgon2Format, "salt is not unpadded standard base64")
	}
	key, err := b64.DecodeString(parts[5])
	if err != nil {
		return nil, parseErr(Argon2id, ErrArgon2Format, "hash is not unpadded standard base64")
	}
	prm := Argon2Params{Memory: m, Time: t, Threads: threads, SaltLen: uint32(len(salt)), KeyLen: uint32(len(key))}
	if err := prm.check(); err != nil {
		return nil, err
	}
	return &parsed{scheme: Argon2id, params: prm, salt: salt, key: key}, nil
}

// parseArgon2Params parses exactly "m=<n>,t=<n>,p=<n>" in that order (the
// order the PHC string format and the reference implementation use).
func parseArgon2Params(s string) (m, t uint32, p uint8, err error) {
	var vals [3]uint32
	rest := s
	for i, name := range [3]string{"m=", "t=", "p="} {
		field := rest
		if i < 2 {
			var found bool
			field, rest, found = strings.Cut(rest, ",")
			if !found {
				return 0, 0, 0, parseErr(Argon2id, ErrArgon2Format, "parameters must be m=<m>,t=<t>,p=<p>")
			}
		}
		num, ok := strings.CutPrefix(field, name)
		if !ok {
			return 0, 0, 0, parseErr(Argon2id, ErrArgon2Format, "parameters must be m=<m>,t=<t>,p=<p>")
		}
		v, ok := parseUint(num)
		if !ok {
			return 0, 0, 0, parseErr(Argon2id, ErrArgon2Format, "parameter %s is not a canonical decimal number", name[:1])
		}
		if v > 1<<32-1 {
			return 0, 0, 0, parseErr(Argon2id, ErrArgon2Params, "parameter %s is too large", name[:1])
		}
		vals[i] = uint32(v)
	}
	if vals[2] > 255 {
		return 0, 0, 0, parseErr(Argon2id, ErrArgon2Params, "p=%d, allowed 1..%d", vals[2], MaxArgon2Threads)
	}
	return vals[0], vals[1], uint8(vals[2]), nil
}

// parseUint parses a canonical decimal: digits only, no sign, no leading
// zero (except "0"), at most 10 digits.
func parseUint(s string) (uint64, bool) {
	if len(s) == 0 || len(s) > 10 || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	var v uint64
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return 0, false
		}
		v = v*10 + uint64(s[i]-'0')
	}
	return v, true
}

// Verify reports whether secret matches h, in time independent of where a
// wrong secret differs (crypto/subtle for sha256 and argon2id,
// bcrypt.CompareHashAndPassword for bcrypt).
//
// An empty secret, or one longer than MaxSecretLen, never matches, and the
// zero Hash matches nothing. bcrypt reads only the first 72 bytes of the
// secret, as every bcrypt implementation does.
//
// Verify computes slow hashes every time, with no cache and no limit on
// concurrency: servers should call Verifier.Verify instead.
func (h Hash) Verify(secret string) bool {
	p := h.p
	if p == nil || len(secret) == 0 || len(secret) > MaxSecretLen {
		return false
	}
	switch p.scheme {
	case SHA256:
		// Hash through a stack buffer: []byte(secret) would allocate for
		// secrets over 32 bytes, and generated ones are 43.
		var buf [128]byte
		sum := sha256.Sum256(append(buf[:0], secret...))
		return subtle.ConstantTimeCompare(sum[:], p.sum[:]) == 1
	case Bcrypt:
		return bcrypt.CompareHashAndPassword(p.raw, []byte(secret)) == nil
	case Argon2id:
		k := argon2.IDKey([]byte(secret), p.salt, p.params.Time, p.params.Memory, p.params.Threads, uint32(len(p.key)))
		return subtle.ConstantTimeCompare(k, p.key) == 1
	}
	return false
}

// Scheme returns the hash's algorithm, or "" for the zero Hash.
func (h Hash) Scheme() Scheme {
	if h.p == nil {
		return ""
	}
	return h.p.scheme
}

// Slow reports whether verifying h is deliberately expensive (bcrypt,
// argon2id): such hashes go through the Verifier's cache and concurrency cap.
func (h Hash) Slow() bool {
	return h.p != nil && (h.p.scheme == Bcrypt || h.p.scheme == Argon2id)
}

// IsZero reports whether h is the zero Hash.
func (h Hash) IsZero() bool { return h.p == nil }

// String returns the encoded form that Parse accepted, byte for byte, or ""
// for the zero Hash. A hash is not the secret, but a slow hash still permits
// an offline dictionary attack: do not log it needlessly.
func (h Hash) String() string {
	if h.p == nil {
		return ""
	}
	return h.p.enc
}

// BcryptCost returns the cost of a bcrypt hash, and false for other schemes.
func (h Hash) BcryptCost() (int, bool) {
	if h.p == nil || h.p.scheme != Bcrypt {
		return 0, false
	}
	return h.p.cost, true
}

// Argon2Params returns the parameters of an argon2id hash (SaltLen and KeyLen
// set to the decoded lengths), and false for other schemes.
func (h Hash) Argon2Params() (Argon2Params, bool) {
	if h.p == nil || h.p.scheme != Argon2id {
		return Argon2Params{}, false
	}
	return h.p.params, true
}

// MarshalText returns the encoded form; it implements encoding.TextMarshaler.
func (h Hash) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// UnmarshalText parses text with Parse; it implements
// encoding.TextUnmarshaler so that a Hash can sit directly in a decoded
// configuration struct. On error *h is left unchanged.
func (h *Hash) UnmarshalText(text []byte) error {
	v, err := Parse(string(text))
	if err != nil {
		return err
	}
	*h = v
	return nil
}
