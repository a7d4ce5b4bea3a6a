package keys

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/require"
)

func TestExportJWKS(t *testing.T) {
	set := sampleSet(t)
	tests := []struct {
		name string
		at   time.Duration
		want []string
	}{
		{"retired, active and pending keys open", 0, []string{"k-retired", "k-active", "k-pending"}},
		{"expired keys are left out", time.Hour + 30*time.Minute, []string{"k-pending"}},
		{"nothing opens after every key expired", 100 * time.Hour, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := ExportJWKS(set, t0.Add(tt.at))
			require.NoError(t, err)

			// RFC 7517 §5 shape: exactly {"keys": [...]}, each key exactly
			// kty, kid, alg, use, k.
			var raw map[string][]map[string]string
			require.NoError(t, json.Unmarshal(data, &raw))
			require.Len(t, raw, 1)
			require.Len(t, raw["keys"], len(tt.want))
			for i, jwk := range raw["keys"] {
				k, _ := set.Lookup(tt.want[i])
				require.Equal(t, map[string]string{
					"kty": "oct", "kid": k.ID, "alg": string(k.Alg), "use": "enc", "k": b64(k.Material()),
				}, jwk)
			}

			// go-jose loads it as it is.
			var ks jose.JSONWebKeySet
			require.NoError(t, json.Unmarshal(data, &ks))
			require.Len(t, ks.Keys, len(tt.want))
			for _, id := range tt.want {
				found := ks.Key(id)
				require.Len(t, found, 1)
				k, _ := set.Lookup(id)
				require.Equal(t, k.Material(), found[0].Key.([]byte))
				require.Equal(t, string(k.Alg), found[0].Algorithm)
				require.Equal(t, "enc", found[0].Use)
			}

			// And ParseJWKS reads it back: openable, never sealing.
			got, err := ParseJWKS("rs", data)
			require.NoError(t, err)
			require.Equal(t, tt.want, kids(got))
			for _, k := range got.Keys() {
				orig, _ := set.Lookup(k.ID)
				require.True(t, k.sameMaterial(orig))
				require.Equal(t, orig.Alg, k.Alg)
				_, ok := got.Opening(k.ID, time.Now())
				require.True(t, ok)
			}
			_, err = got.Sealing(time.Now())
			require.ErrorIs(t, err, ErrNoActiveKey)
		})
	}
}

func TestExportJWKSRefuses(t *testing.T) {
	_, err := ExportJWKS(mustSet(t, InternalRing, mustKey(t, "k", A256KW, 1, lc(0, 0, time.Hour, time.Hour))), t0)
	require.ErrorIs(t, err, ErrExportInternal)
	_, err = ExportJWKS(nil, t0)
	require.ErrorIs(t, err, ErrNilKey)
	data, err := ExportJWKS(mustSet(t, "empty"), t0)
	require.NoError(t, err)
	require.JSONEq(t, `{"keys":[]}`, string(data), "an empty set is an empty array, not null")
}

// TestExportJWKSJwcrypto loads an export with Python jwcrypto (SPEC §4:
// "go-jose, jwcrypto and npm jose load as they are").
func TestExportJWKSJwcrypto(t *testing.T) {
	const python = "/usr/bin/python3"
	if err := exec.Command(python, "-c", "import jwcrypto").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("python3-jwcrypto is required under CI: %v", err)
		}
		t.Skip("python3-jwcrypto not installed (apt-get install python3-jwcrypto)")
	}
	set := sampleSet(t)
	data, err := ExportJWKS(set, t0)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "jwks.json")
	require.NoError(t, os.WriteFile(path, data, 0o600))
	script := `
import sys, json
from jwcrypto import jwk
with open(sys.argv[1]) as f:
    ks = jwk.JWKSet.from_json(f.read())
out = []
for k in ks["keys"]:
    d = k.export(as_dict=True)
    out.append("%s %s %s %s %d" % (d["kid"], d["kty"], d["alg"], d["use"], len(jwk.base64url_decode(d["k"]))))
print("\n".join(sorted(out)))
`
	out, err := exec.Command(python, "-W", "ignore", "-c", script, path).CombinedOutput()
	require.NoError(t, err, "jwcrypto: %s", out)
	require.Equal(t, strings.Join([]string{
		"k-active oct A256KW enc 32",
		"k-pending oct dir enc 32",
		"k-retired oct A256KW enc 32",
	}, "\n"), strings.TrimSpace(string(out)))

	// jwcrypto can also decrypt with the exported key material what the
	// key bytes say: check the bytes, not only the length.
	check := `
import sys
from jwcrypto import jwk
with open(sys.argv[1]) as f:
    ks = jwk.JWKSet.from_json(f.read())
print(ks.get_key(sys.argv[2]).export(as_dict=True)["k"])
`
	k, _ := set.Lookup("k-active")
	out, err = exec.Command(python, "-W", "ignore", "-c", check, path, "k-active").CombinedOutput()
	require.NoError(t, err, "jwcrypto: %s", out)
	require.Equal(t, b64(k.Material()), strings.TrimSpace(string(out)))
}

func TestParseJWKS(t *testing.T) {
	m := b64(material(1))
	tests := []struct {
		name  string
		data  string
		kids  []string
		want  error
		where string
	}{
		{"minimal", `{"keys":[{"kty":"oct","kid":"a","alg":"A256KW","k":"` + m + `"}]}`, []string{"a"}, nil, ""},
		{"extra members ignored (RFC 7517 §4, §5)", `{"x":1,"keys":[{"kty":"oct","kid":"a","alg":"dir","use":"enc","key_ops":["decrypt"],"k":"` + m + `"}]}`, []string{"a"}, nil, ""},
		{"empty set", `{"keys":[]}`, []string{}, nil, ""},
		{"missing keys", `{}`, nil, ErrFormat, "keys: malformed key file: missing member"},
		{"keys null", `{"keys":null}`, nil, ErrFormat, "keys: malformed"},
		{"not an object", `[1]`, nil, ErrFormat, "malformed"},
		{"truncated", `{"keys":[{"kty":"oct"`, nil, ErrFormat, "truncated JSON"},
		{"use sig", `{"keys":[{"kty":"oct","kid":"a","alg":"A256KW","use":"sig","k":"` + m + `"}]}`, nil, ErrFormat, `keys[0].use (kid "a")`},
		{"RSA key", `{"keys":[{"kty":"RSA","kid":"a","alg":"RSA-OAEP","n":"AQAB","e":"AQAB"}]}`, nil, ErrFormat, `keys[0].kty (kid "a")`},
		{"alg missing", `{"keys":[{"kty":"oct","kid":"a","k":"` + m + `"}]}`, nil, ErrFormat, `keys[0].alg (kid "a")`},
		{"alg HS256", `{"keys":[{"kty":"oct","kid":"a","alg":"HS256","k":"` + m + `"}]}`, nil, ErrAlg, `keys[0].alg (kid "a")`},
		{"kid missing", `{"keys":[{"kty":"oct","alg":"A256KW","k":"` + m + `"}]}`, nil, ErrFormat, `keys[0].kid`},
		{"short key", `{"keys":[{"kty":"oct","kid":"a","alg":"A256KW","k":"AAAA"}]}`, nil, ErrKeySize, `keys[0].k (kid "a"): key material must be 256 bits: 3 bytes`},
		{"duplicate kid", `{"keys":[{"kty":"oct","kid":"a","alg":"A256KW","k":"` + m + `"},{"kty":"oct","kid":"a","alg":"A256KW","k":"` + m + `"}]}`, nil, ErrDuplicateKeyID, `keys[1].kid (kid "a")`},
		{"duplicate member", `{"keys":[],"keys":[]}`, nil, ErrFormat, "duplicate member"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseJWKS("rs", []byte(tt.data))
			if tt.want != nil {
				require.Nil(t, got)
				require.ErrorIs(t, err, tt.want)
				require.Contains(t, err.Error(), tt.where)
				require.Contains(t, err.Error(), "JWK Set")
				require.NotContains(t, err.Error(), m)
				return
			}
			require.NoError(t, err)
			require.Equal(t, "rs", got.Name())
			require.Equal(t, len(tt.kids), got.Len())
			for _, id := range tt.kids {
				k, ok := got.Lookup(id)
				require.True(t, ok)
				require.Equal(t, material(1), k.Material())
				require.Equal(t, unknownLifecycle(), k.Lifecycle())
			}
		})
	}
	_, err := ParseJWKS("", []byte(`{"keys":[]}`))
	require.ErrorIs(t, err, ErrRingName)
}

func TestDecode(t *testing.T) {
	set := sampleSet(t)
	ring, err := Marshal(set)
	require.NoError(t, err)
	wrapped, err := Marshal(set, WithKEK(testKEK))
	require.NoError(t, err)
	jwks, err := ExportJWKS(set, t0)
	require.NoError(t, err)

	got, err := Decode(ring)
	require.NoError(t, err)
	requireSameSet(t, set, got)

	got, err = Decode(wrapped, WithKEK(testKEK))
	require.NoError(t, err)
	requireSameSet(t, set, got)

	got, err = Decode(jwks)
	require.NoError(t, err)
	require.Equal(t, "jwks", got.Name())
	require.Equal(t, kids(set), kids(got))

	got, err = Decode(jwks, WithRingName("https://api.example.com"))
	require.NoError(t, err)
	require.Equal(t, "https://api.example.com", got.Name())

	_, err = Decode(jwks, WithKEK(testKEK))
	require.ErrorIs(t, err, ErrFormat, "a JWK Set cannot stand in for a wrapped ring")
	_, err = Decode(wrapped)
	require.ErrorIs(t, err, ErrKEKRequired)
	_, err = Decode([]byte(`{"version": 3, "keys": []}`))
	require.ErrorIs(t, err, ErrVersion, "an unknown version is not taken for a JWK Set")
	_, err = Decode([]byte(`nonsense`))
	require.ErrorIs(t, err, ErrFormat)
}
