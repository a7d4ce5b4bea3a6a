package keys

import (
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestMarshalParseRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		set  *Set
		opts []Option
	}{
		{"plain", sampleSet(t), nil},
		{"wrapped with a KEK (RFC 7517 §7)", sampleSet(t), []Option{WithKEK(testKEK)}},
		{"empty ring", mustSet(t, "empty"), nil},
		{"sub-second times and odd ring name", mustSet(t, `ring "with" \ quotes <&>`,
			mustKey(t, "k", Direct, 7, Lifecycle{
				Created: t0.Add(time.Nanosecond), Activates: t0.Add(123456789 * time.Nanosecond),
				Retires: t0.Add(time.Hour), Expires: t0.Add(time.Hour),
			})), []Option{WithKEK(testKEK)}},
		{"times in another zone are written in UTC", mustSet(t, "z",
			mustKey(t, "k", A256KW, 7, Lifecycle{
				Created:   time.Date(2026, 1, 1, 9, 0, 0, 0, time.FixedZone("X", 5*3600)),
				Activates: time.Date(2026, 1, 1, 9, 0, 0, 0, time.FixedZone("X", 5*3600)),
				Retires:   t0, Expires: t0,
			})), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := Marshal(tt.set, tt.opts...)
			require.NoError(t, err)
			require.True(t, strings.HasSuffix(string(data), "}\n"))
			got, err := Parse(data, tt.opts...)
			require.NoError(t, err)
			requireSameSet(t, tt.set, got)
			again, err := Marshal(got, tt.opts...)
			require.NoError(t, err)
			if len(tt.opts) == 0 {
				require.Equal(t, string(data), string(again), "plain output is deterministic")
			}
			got, err = Parse(data, append(tt.opts, WithRingName(tt.set.Name()))...)
			require.NoError(t, err)
			requireSameSet(t, tt.set, got)
		})
	}
}

func TestMarshalWrappedHidesMaterial(t *testing.T) {
	set := sampleSet(t)
	data, err := Marshal(set, WithKEK(testKEK))
	require.NoError(t, err)
	for _, k := range set.Keys() {
		require.NotContains(t, string(data), base64.RawURLEncoding.EncodeToString(k.Material()))
	}
	require.NotContains(t, string(data), `"k"`)
	require.NotContains(t, string(data), base64.RawURLEncoding.EncodeToString(testKEK))
}

// corruptionCases mutate a valid plain ring file (sampleSet).
var corruptionCases = []struct {
	name   string
	mutate func(string) string
	opts   []Option
	want   error
	where  string // substring the error message must contain
}{
	{"empty file", func(string) string { return "" }, nil, ErrFormat, "truncated JSON"},
	{"not JSON", func(string) string { return "ring: internal" }, nil, ErrFormat, "invalid JSON at offset"},
	{"JSON array", func(string) string { return "[]" }, nil, ErrFormat, "array where an object is expected"},
	{"JSON null", func(string) string { return "null" }, nil, ErrFormat, "null"},
	{"trailing garbage", func(s string) string { return s + "x" }, nil, ErrFormat, "invalid JSON"},
	{"two documents", func(s string) string { return s + s }, nil, ErrFormat, "invalid JSON"},
	{"truncated in the middle", func(s string) string { return s[:len(s)/2] }, nil, ErrFormat, "truncated JSON"},
	{"unknown top-level member", func(s string) string { return strings.Replace(s, `"version"`, `"extra": 1, "version"`, 1) }, nil, ErrFormat, `unknown member "extra"`},
	{"member name in another case (matching is case-sensitive)", func(s string) string { return strings.Replace(s, `"version"`, `"Version"`, 1) }, nil, ErrFormat, `unknown member "Version"`},
	{"duplicate member", func(s string) string { return strings.Replace(s, `"version": 1,`, `"version": 1, "version": 1,`, 1) }, nil, ErrFormat, "duplicate member"},
	{"missing version", func(s string) string { return strings.Replace(s, `"version": 1,`, ``, 1) }, nil, ErrFormat, "version: malformed key file: missing member"},
	{"unknown version", func(s string) string { return strings.Replace(s, `"version": 1,`, `"version": 2,`, 1) }, nil, ErrVersion, "version 2"},
	{"version as string", func(s string) string { return strings.Replace(s, `"version": 1,`, `"version": "1",`, 1) }, nil, ErrFormat, "version: malformed key file: JSON string where an integer is expected"},
	{"missing ring", func(s string) string { return strings.Replace(s, `"ring": "https://api.example.com",`, ``, 1) }, nil, ErrFormat, "ring: malformed"},
	{"empty ring name", func(s string) string { return strings.Replace(s, `"https://api.example.com"`, `""`, 1) }, nil, ErrRingName, "ring: ring name"},
	{"another ring than expected", func(s string) string { return s }, []Option{WithRingName("https://other.example.com")}, ErrRingMismatch, `(ring "https://api.example.com"): ring: ring file holds another ring: want "https://other.example.com"`},
	{"keys null", func(s string) string {
		return regexp.MustCompile(`(?s)"keys": \[.*\]`).ReplaceAllString(s, `"keys": null`)
	}, nil, ErrFormat, "keys: malformed key file: null"},
	{"keys not an array", func(s string) string {
		return regexp.MustCompile(`(?s)"keys": \[.*\]`).ReplaceAllString(s, `"keys": {}`)
	}, nil, ErrFormat, "keys: malformed key file: JSON object where an array is expected"},
	{"key not an object", func(s string) string {
		return regexp.MustCompile(`(?s)"keys": \[.*\]`).ReplaceAllString(s, `"keys": [1]`)
	}, nil, ErrFormat, "keys[0]: malformed"},
	{"128-bit key", func(s string) string {
		return strings.Replace(s, b64(material(2)), b64(material(2)[:16]), 1)
	}, nil, ErrKeySize, `keys[1].jwk.k (kid "k-active"): key material must be 256 bits: 16 bytes`},
	{"key with one byte too many", func(s string) string {
		return strings.Replace(s, b64(material(2)), b64(append(material(2), 1)), 1)
	}, nil, ErrKeySize, `keys[1].jwk.k (kid "k-active")`},
	{"k not base64url", func(s string) string { return strings.Replace(s, b64(material(2)), "!!!!", 1) }, nil, ErrFormat, `keys[1].jwk.k (kid "k-active"): malformed key file: not a base64url symmetric key`},
	{"k missing", func(s string) string {
		return strings.Replace(s, `"alg": "A256KW",
        "k": "`+b64(material(2))+`"`, `"alg": "A256KW"`, 1)
	}, nil, ErrFormat, `keys[1].jwk.k (kid "k-active"): malformed key file: missing member`},
	{"alg none", func(s string) string { return strings.Replace(s, `"alg": "dir"`, `"alg": "none"`, 1) }, nil, ErrAlg, `keys[2].jwk.alg (kid "k-pending"): unsupported algorithm: "none"`},
	{"alg A128KW", func(s string) string { return strings.Replace(s, `"alg": "dir"`, `"alg": "A128KW"`, 1) }, nil, ErrAlg, `keys[2].jwk.alg`},
	{"kty RSA", func(s string) string { return strings.Replace(s, `"kty": "oct"`, `"kty": "RSA"`, 1) }, nil, ErrFormat, `keys[0].jwk.kty (kid "k-retired")`},
	{"use sig", func(s string) string { return strings.Replace(s, `"use": "enc"`, `"use": "sig"`, 1) }, nil, ErrFormat, `keys[0].jwk.use (kid "k-retired"): malformed key file: use "sig"`},
	{"use missing", func(s string) string { return strings.Replace(s, `"use": "enc",`, ``, 1) }, nil, ErrFormat, `keys[0].jwk.use`},
	{"unknown JWK member", func(s string) string {
		return strings.Replace(s, `"use": "enc",`, `"use": "enc", "key_ops": ["encrypt"],`, 1)
	}, nil, ErrFormat, `keys[0].jwk (kid "k-retired"): malformed key file: unknown member "key_ops"`},
	{"JWK kid differs from entry kid", func(s string) string {
		return strings.Replace(s, `"kid": "k-active",
        "alg"`, `"kid": "k-other",
        "alg"`, 1)
	}, nil, ErrKeyID, `keys[1].jwk.kid (kid "k-active"): key id must be`},
	{"duplicate kid", func(s string) string { return strings.ReplaceAll(s, `"k-pending"`, `"k-active"`) }, nil, ErrDuplicateKeyID, `keys[2].kid (kid "k-active"): duplicate key id: same kid as keys[1]`},
	{"invalid kid", func(s string) string { return strings.ReplaceAll(s, `"k-active"`, `"k active"`) }, nil, ErrKeyID, `keys[1].kid: key id must be`},
	{"missing kid", func(s string) string {
		return strings.Replace(s, `"kid": "k-active",
      "jwk"`, `"jwk"`, 1)
	}, nil, ErrFormat, `keys[1].kid: malformed key file: missing member`},
	{"activates before created", func(s string) string {
		return strings.Replace(s, `"created": "2026-02-28T12:00:00Z"`, `"created": "2026-02-28T14:00:00Z"`, 1)
	}, nil, ErrLifecycle, `keys[1].activates (kid "k-active"): lifecycle times out of order`},
	{"retires before it activates", func(s string) string {
		return strings.Replace(s, `"retires": "2026-03-01T13:00:00Z"`, `"retires": "2026-02-28T13:00:00Z"`, 1)
	}, nil, ErrLifecycle, `keys[1].retires (kid "k-active")`},
	{"expires before it retires", func(s string) string {
		return strings.Replace(s, `"expires": "2026-03-02T13:30:00Z"`, `"expires": "2026-03-02T12:30:00Z"`, 1)
	}, nil, ErrLifecycle, `keys[2].expires (kid "k-pending"): lifecycle times out of order (need created <= activates < retires <= expires): expires before it retires`},
	{"month 13", func(s string) string {
		return strings.Replace(s, `"2026-03-01T11:00:00Z"`, `"2026-13-01T11:00:00Z"`, 1)
	}, nil, ErrFormat, `keys[2].created (kid "k-pending"): malformed key file: not an RFC 3339 time`},
	{"time without zone", func(s string) string { return strings.Replace(s, `"2026-03-01T11:00:00Z"`, `"2026-03-01T11:00:00"`, 1) }, nil, ErrFormat, `keys[2].created`},
	{"time as number", func(s string) string { return strings.Replace(s, `"2026-03-01T11:00:00Z"`, `1772362800`, 1) }, nil, ErrFormat, `keys[2].created (kid "k-pending"): malformed key file: JSON number where a string is expected`},
	{"missing expires", func(s string) string {
		return strings.Replace(s, `,
      "expires": "2026-03-02T13:30:00Z"`, ``, 1)
	}, nil, ErrFormat, `keys[2].expires (kid "k-pending"): malformed key file: missing member`},
	{"unknown key member", func(s string) string {
		return strings.Replace(s, `"kid": "k-active",
      "jwk"`, `"kid": "k-active", "state": "active",
      "jwk"`, 1)
	}, nil, ErrFormat, `keys[1] (kid "k-active"): malformed key file: unknown member "state"`},
	{"wrapped entry in a plain file", func(s string) string {
		return strings.Replace(s, `"kid": "k-active",
      "jwk"`, `"kid": "k-active", "jwe": "x.y.z",
      "jwk"`, 1)
	}, nil, ErrFormat, `keys[1].jwe (kid "k-active")`},
	{"plain file read with a KEK", func(s string) string { return s }, []Option{WithKEK(testKEK)}, ErrNotWrapped, "kek: ring file is not wrapped"},
	{"larger than MaxFileSize", func(s string) string { return s + strings.Repeat(" ", MaxFileSize) }, nil, ErrFormat, "more than"},
	{"more than MaxKeys keys", func(s string) string {
		return regexp.MustCompile(`(?s)"keys": \[.*\]`).ReplaceAllString(s, `"keys": [`+strings.Repeat(`{},`, MaxKeys)+`{}]`)
	}, nil, ErrFormat, "1025 keys"},
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func TestParseCorruption(t *testing.T) {
	set := sampleSet(t)
	valid, err := Marshal(set)
	require.NoError(t, err)
	for _, tt := range corruptionCases {
		t.Run(tt.name, func(t *testing.T) {
			data := tt.mutate(string(valid))
			got, err := Parse([]byte(data), tt.opts...)
			require.Nil(t, got)
			require.ErrorIs(t, err, tt.want)
			require.Contains(t, err.Error(), tt.where)
			require.True(t, strings.HasPrefix(err.Error(), "keys: "))
			for _, k := range set.Keys() {
				require.NotContains(t, err.Error(), b64(k.Material()), "error leaks key material")
			}
			var pe *ParseError
			require.ErrorAs(t, err, &pe)
			require.Equal(t, "ring file", pe.Kind)
		})
	}
}

func TestParseWrappedFailures(t *testing.T) {
	set := sampleSet(t)
	wrapped, err := Marshal(set, WithKEK(testKEK))
	require.NoError(t, err)
	otherKEK := []byte(strings.Repeat("o", KEKSize))
	otherRing, err := Marshal(mustSet(t, "https://other.example.com",
		mustKey(t, "k-active", A256KW, 9, lc(0, 0, time.Hour, time.Hour))), WithKEK(testKEK))
	require.NoError(t, err)
	jwes := regexp.MustCompile(`"jwe": "([^"]+)"`).FindAllStringSubmatch(string(wrapped), -1)
	require.Len(t, jwes, 3)
	otherJWE := regexp.MustCompile(`"jwe": "([^"]+)"`).FindStringSubmatch(string(otherRing))[1]

	tests := []struct {
		name  string
		data  string
		opts  []Option
		want  error
		where string
	}{
		{"no KEK", string(wrapped), nil, ErrKEKRequired, `kek: ring file is wrapped; a key-encryption key is required (file wrapped with KEK id`},
		{"wrong KEK", string(wrapped), []Option{WithKEK(otherKEK)}, ErrWrongKEK, "kek: ring file is wrapped with another key-encryption key"},
		{"entry moved from another ring", strings.Replace(string(wrapped), jwes[1][1], otherJWE, 1), []Option{WithKEK(testKEK)},
			ErrUnwrap, `keys[1].jwe (kid "k-active"): wrapped key does not authenticate: entry is bound to ring "https://other.example.com"`},
		{"entries swapped between kids", strings.Replace(string(wrapped), jwes[1][1], jwes[0][1], 1), []Option{WithKEK(testKEK)},
			ErrUnwrap, `keys[1].jwe (kid "k-active")`},
		{"ciphertext tampered", strings.Replace(string(wrapped), jwes[2][1], flipLast(jwes[2][1], 40), 1), []Option{WithKEK(testKEK)},
			ErrUnwrap, `keys[2].jwe (kid "k-pending"): wrapped key does not authenticate`},
		{"jwe not a JWE", strings.Replace(string(wrapped), jwes[2][1], "a.b.c", 1), []Option{WithKEK(testKEK)},
			ErrFormat, `keys[2].jwe (kid "k-pending"): malformed key file: not a compact A256KW/A256GCM JWE`},
		{"file claims another KEK than its entries", strings.Replace(string(wrapped), `"kek": "`+kekID(testKEK)+`"`, `"kek": "`+kekID(otherKEK)+`"`, 1),
			[]Option{WithKEK(otherKEK)}, ErrWrongKEK, `keys[0].jwe (kid "k-retired")`},
		{"plain JWK in a wrapped file", strings.Replace(string(wrapped), `"jwe": "`+jwes[0][1]+`"`, `"jwk": {}`, 1), []Option{WithKEK(testKEK)},
			ErrFormat, `keys[0].jwk (kid "k-retired"): malformed key file: key in clear in a wrapped file`},
		{"empty kek id", strings.Replace(string(wrapped), `"kek": "`+kekID(testKEK)+`"`, `"kek": ""`, 1), []Option{WithKEK(testKEK)},
			ErrFormat, "kek: malformed key file: empty string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.data), tt.opts...)
			require.Nil(t, got)
			require.ErrorIs(t, err, tt.want)
			require.Contains(t, err.Error(), tt.where)
		})
	}
}

// flipLast changes the character at offset from the end of a base64url
// string to another valid one.
func flipLast(s string, offset int) string {
	i := len(s) - offset
	c := byte('A')
	if s[i] == 'A' {
		c = 'B'
	}
	return s[:i] + string(c) + s[i+1:]
}

// TestParseTruncated cuts a valid file at every byte offset: each prefix
// must fail cleanly or, if only trailing whitespace was cut, parse to the
// identical set. Never a panic, never another set.
func TestParseTruncated(t *testing.T) {
	set := sampleSet(t)
	for _, opts := range [][]Option{nil, {WithKEK(testKEK)}} {
		data, err := Marshal(set, opts...)
		require.NoError(t, err)
		t.Run(fmt.Sprintf("wrapped=%v", opts != nil), func(t *testing.T) {
			parsed := 0
			for n := 0; n < len(data); n++ {
				got, err := Parse(data[:n], opts...)
				if err != nil {
					require.Nil(t, got)
					require.ErrorIs(t, err, ErrFormat, "prefix of %d bytes", n)
					continue
				}
				parsed++
				requireSameSet(t, set, got)
				require.Empty(t, strings.TrimSpace(string(data[n:])), "prefix of %d bytes parsed", n)
			}
			require.Equal(t, 1, parsed, "only the prefix without the final newline parses")
		})
	}
}

func TestWithKEKRejectsBadSize(t *testing.T) {
	for _, n := range []int{1, 16, 31, 33, 64} {
		_, err := Marshal(sampleSet(t), WithKEK(make([]byte, n)))
		require.ErrorIs(t, err, ErrKEKSize, "%d bytes", n)
		_, err = Parse([]byte("{}"), WithKEK(make([]byte, n)))
		require.ErrorIs(t, err, ErrKEKSize)
	}
	// nil means no wrapping, and a later option wins.
	data, err := Marshal(sampleSet(t), WithKEK(make([]byte, 3)), WithKEK(nil))
	require.NoError(t, err)
	require.NotContains(t, string(data), `"kek"`)
}

func TestKEKFromEnv(t *testing.T) {
	kek := testKEK
	tests := []struct {
		name  string
		value string
		want  []byte
		err   error
	}{
		{"unset: no wrapping", "", nil, nil},
		{"base64url without padding", base64.RawURLEncoding.EncodeToString(kek), kek, nil},
		{"standard base64 with padding (openssl rand -base64 32)", base64.StdEncoding.EncodeToString(kek), kek, nil},
		{"surrounding whitespace", " " + base64.StdEncoding.EncodeToString(kek) + "\n", kek, nil},
		{"128 bits", base64.StdEncoding.EncodeToString(kek[:16]), nil, ErrKEKSize},
		{"not base64", "not base64 at all!", nil, ErrKEKSize},
		{"hex", strings.Repeat("ab", 32), nil, ErrKEKSize},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("TEST_KEYS_KEK", tt.value)
			got, err := KEKFromEnv("TEST_KEYS_KEK")
			require.ErrorIs(t, err, tt.err)
			require.Equal(t, tt.want, got)
			if err != nil {
				require.NotContains(t, err.Error(), strings.TrimSpace(tt.value), "error repeats the secret")
				require.Contains(t, err.Error(), "TEST_KEYS_KEK")
			}
		})
	}
}
