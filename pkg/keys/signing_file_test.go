package keys

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/require"
)

// privateMembers are the JWK members that hold secrets (RFC 7517 §4,
// RFC 7518 §6.2.2, §6.3.2, §6.4, RFC 8037 §2).
var privateMembers = []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"}

// requireSignsAs fails unless got holds keys that sign verifiably under
// want's public keys.
func requireSignsAs(t *testing.T, want, got *Set) {
	t.Helper()
	requireSameSet(t, want, got)
	for _, k := range got.Keys() {
		sig, err := k.Sign([]byte("input"))
		require.NoError(t, err, k.ID)
		w, _ := want.Lookup(k.ID)
		require.True(t, stdVerify(t, k.Alg, w.Public(), []byte("input"), sig), k.ID)
	}
}

func TestSigningRingFileRoundTrip(t *testing.T) {
	set := sampleSigningSet(t)
	for _, tc := range []struct {
		name string
		opts []Option
	}{{"in clear", nil}, {"wrapped with a KEK (RFC 7517 §7)", []Option{WithKEK(testKEK)}}} {
		t.Run(tc.name, func(t *testing.T) {
			data, err := Marshal(set, tc.opts...)
			require.NoError(t, err)
			got, err := Parse(data, append(tc.opts, WithRingName(SigningRing))...)
			require.NoError(t, err)
			requireSignsAs(t, set, got)
			require.True(t, got.Signing())

			var f struct {
				Keys []struct {
					JWK map[string]any `json:"jwk"`
					JWE string         `json:"jwe"`
				} `json:"keys"`
			}
			require.NoError(t, json.Unmarshal(data, &f))
			for _, e := range f.Keys {
				if tc.opts == nil {
					require.Equal(t, "sig", e.JWK["use"])
					require.Contains(t, e.JWK, "d", "a ring file holds the private key")
				} else {
					require.Nil(t, e.JWK, "no key in clear in a wrapped file")
					require.Equal(t, 5, len(strings.Split(e.JWE, ".")))
				}
			}
		})
	}
}

// TestSigningRingGolden pins the signing ring file format: the committed
// file (one key of each algorithm) parses, signs, and marshals back to the
// same bytes. -update writes a new one with fresh keys.
func TestSigningRingGolden(t *testing.T) {
	path := filepath.Join("testdata", "signing-ring.golden.json")
	if *update {
		data, err := Marshal(sampleSigningSet(t))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(path, data, 0o644))
	}
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	set, err := Parse(data, WithRingName(SigningRing))
	require.NoError(t, err)
	require.Equal(t, []string{"s-retired", "s-active", "s-pending"}, kids(set))
	var algs []Alg
	for _, k := range set.Keys() {
		algs = append(algs, k.Alg)
		sig, err := k.Sign([]byte("x"))
		require.NoError(t, err)
		require.True(t, stdVerify(t, k.Alg, k.Public(), []byte("x"), sig))
	}
	require.Equal(t, []Alg{RS256, ES256, EdDSA}, algs)
	again, err := Marshal(set)
	require.NoError(t, err)
	require.Equal(t, string(data), string(again), "signing ring format changed; run go test -run TestSigningRingGolden -update if on purpose")
}

// signingCorruption mutates a valid signing ring file (sampleSigningSet in
// clear: keys[0] RS256, keys[1] ES256, keys[2] EdDSA) into one Parse must
// refuse.
var signingCorruption = []struct {
	name   string
	mutate func(map[string]any)
	want   error
	where  string
}{
	{"RFC 7517 §4.2 use must be sig", func(f map[string]any) { jwk(f, 1)["use"] = "enc" }, ErrFormat, "keys[1].jwk.use"},
	{"RFC 7518 §6.2.2.1 EC private key needs d", func(f map[string]any) { delete(jwk(f, 1), "d") }, ErrFormat, "keys[1].jwk.d"},
	{"RFC 7518 §6.2.1.1 ES256 needs crv P-256", func(f map[string]any) { jwk(f, 1)["crv"] = "P-384" }, ErrKeyType, "keys[1].jwk.crv"},
	{"RFC 7518 §3.1 alg must fit kty", func(f map[string]any) { jwk(f, 2)["alg"] = "ES256" }, ErrKeyType, "keys[2].jwk.alg"},
	{"RFC 7518 §3.1 unknown signature alg", func(f map[string]any) { jwk(f, 1)["alg"] = "ES512" }, ErrAlg, "keys[1].jwk.alg"},
	{"RFC 7517 §4 unknown member in a ring file", func(f map[string]any) { jwk(f, 1)["x5u"] = "https://x" }, ErrFormat, "keys[1].jwk.x5u"},
	{"RFC 8037 §2 Ed25519 x must match d", func(f map[string]any) { jwk(f, 2)["x"] = b64url.EncodeToString(make([]byte, 32)) }, ErrFormat, "keys[2].jwk"},
	{"RFC 7518 §6.2.1.2 EC point not on the curve", func(f map[string]any) { jwk(f, 1)["y"] = b64url.EncodeToString(bytes.Repeat([]byte{1}, 32)) }, ErrFormat, "keys[1].jwk"},
	{"RFC 7518 §6.3.2 RSA private key needs p", func(f map[string]any) { delete(jwk(f, 0), "p") }, ErrFormat, "keys[0].jwk.p"},
	{"RFC 7518 §6.3.1.1 RSA modulus too large", func(f map[string]any) { jwk(f, 0)["n"] = strings.Repeat("A", 3000) }, ErrKeyType, "keys[0].jwk.n"},
	{"a kty with a symmetric k", func(f map[string]any) { jwk(f, 1)["k"] = "AAAA" }, ErrFormat, "keys[1].jwk.kty"},
	{"symmetric and signing keys do not mix", func(f map[string]any) {
		keys := f["keys"].([]any)
		sym, err := NewKey("sym", A256KW, material(9), lc(-time.Hour, 2*time.Hour, 3*time.Hour, 4*time.Hour))
		if err != nil {
			panic(err)
		}
		j, _ := jwkOf(sym)
		raw, _ := j.MarshalJSON()
		var m map[string]any
		_ = json.Unmarshal(raw, &m)
		f["keys"] = append(keys, map[string]any{"kid": "sym", "jwk": m, "created": "2026-03-01T11:00:00Z",
			"activates": "2026-03-01T14:00:00Z", "retires": "2026-03-01T15:00:00Z", "expires": "2026-03-01T16:00:00Z"})
	}, ErrKeyKind, "keys[3]"},
}

func jwk(f map[string]any, i int) map[string]any {
	return f["keys"].([]any)[i].(map[string]any)["jwk"].(map[string]any)
}

func TestParseSigningCorruption(t *testing.T) {
	set := sampleSigningSet(t)
	data, err := Marshal(set)
	require.NoError(t, err)
	for _, tc := range signingCorruption {
		t.Run(tc.name, func(t *testing.T) {
			var f map[string]any
			require.NoError(t, json.Unmarshal(data, &f))
			tc.mutate(f)
			bad, err := json.Marshal(f)
			require.NoError(t, err)
			got, err := Parse(bad)
			require.ErrorIs(t, err, tc.want)
			require.Nil(t, got)
			require.Contains(t, err.Error(), tc.where)
			var pe *ParseError
			require.ErrorAs(t, err, &pe)
			for _, m := range []string{"d", "p", "q"} {
				if v, ok := jwk(f, 0)[m].(string); ok && len(v) > 8 {
					require.NotContains(t, err.Error(), v, "error quotes key material")
				}
			}
		})
	}
}

// TestExportJWKSSigning: the signing ring's JWK Set holds exactly the
// public keys that verify at now — pending ones included, expired ones
// not — and no private member, as a parser of the output sees it.
func TestExportJWKSSigning(t *testing.T) {
	set := sampleSigningSet(t)
	tests := []struct {
		name string
		at   time.Time
		kids []string
	}{
		{"SPEC §4 pending, active and retired keys are published", t0, []string{"s-retired", "s-active", "s-pending"}},
		{"SPEC §4 a key leaves once everything it signed has expired", t0.Add(31 * time.Minute), []string{"s-active", "s-pending"}},
		{"nothing after every key expired", t0.Add(30 * 24 * time.Hour), []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := ExportJWKS(set, tt.at)
			require.NoError(t, err)
			var raw struct {
				Keys []map[string]any `json:"keys"`
			}
			require.NoError(t, json.Unmarshal(doc, &raw))
			got := []string{}
			for _, k := range raw.Keys {
				for _, m := range privateMembers {
					require.NotContains(t, k, m, "private member %q published for %v", m, k["kid"])
				}
				require.Equal(t, "sig", k["use"])
				require.Contains(t, []any{"ES256", "EdDSA", "RS256"}, k["alg"])
				got = append(got, k["kid"].(string))
			}
			require.Equal(t, tt.kids, got)

			var ks jose.JSONWebKeySet
			require.NoError(t, json.Unmarshal(doc, &ks))
			for _, k := range ks.Keys {
				require.True(t, k.IsPublic(), k.KeyID)
				require.True(t, k.Valid(), k.KeyID)
			}
			back, err := ParsePublicJWKS("published", doc)
			require.NoError(t, err)
			require.Equal(t, tt.kids, append([]string{}, kids(back)...))
			for _, k := range back.Keys() {
				orig, _ := set.Lookup(k.ID)
				require.True(t, samePublic(orig.Public(), k.Public()), k.ID)
				require.False(t, k.CanSign())
				require.Equal(t, StateRetired, k.State(time.Now()), "a published key verifies and never signs")
			}
		})
	}
}

func TestParsePublicJWKS(t *testing.T) {
	es := testSigner(t, ES256).(*ecdsa.PrivateKey)
	pubJWK := func(mut func(map[string]any)) map[string]any {
		raw, err := jose.JSONWebKey{Key: &es.PublicKey, KeyID: "es", Algorithm: "ES256", Use: "sig"}.MarshalJSON()
		require.NoError(t, err)
		var m map[string]any
		require.NoError(t, json.Unmarshal(raw, &m))
		if mut != nil {
			mut(m)
		}
		return m
	}
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)
	smallJWK, err := jose.JSONWebKey{Key: &small.PublicKey, KeyID: "small", Algorithm: "RS256", Use: "sig"}.MarshalJSON()
	require.NoError(t, err)
	var smallMap map[string]any
	require.NoError(t, json.Unmarshal(smallJWK, &smallMap))
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	p384JWK, err := jose.JSONWebKey{Key: &p384.PublicKey, KeyID: "p384", Algorithm: "ES384", Use: "sig"}.MarshalJSON()
	require.NoError(t, err)
	var p384Map map[string]any
	require.NoError(t, json.Unmarshal(p384JWK, &p384Map))

	tests := []struct {
		name string
		keys []map[string]any
		kids []string // used keys, when no error
		want error
	}{
		{"RFC 7517 §5 a public ES256 key", []map[string]any{pubJWK(nil)}, []string{"es"}, nil},
		{"RFC 7517 §5 unknown kty is ignored", []map[string]any{{"kty": "PQC", "kid": "x"}, pubJWK(nil)}, []string{"es"}, nil},
		{"RFC 7517 §4.2 an encryption key (use enc) is ignored", []map[string]any{pubJWK(func(m map[string]any) { m["use"] = "enc"; m["kid"] = "e" }), pubJWK(nil)}, []string{"es"}, nil},
		{"RFC 7517 §5 an algorithm this package does not verify is ignored", []map[string]any{p384Map, pubJWK(nil)}, []string{"es"}, nil},
		{"RFC 7517 §4.4 a key without alg is ignored", []map[string]any{pubJWK(func(m map[string]any) { delete(m, "alg"); m["kid"] = "n" })}, []string{}, nil},
		{"RFC 7517 §4.2 use is optional", []map[string]any{pubJWK(func(m map[string]any) { delete(m, "use") })}, []string{"es"}, nil},
		{"RFC 7518 §6.2.2.1 a private member is refused", []map[string]any{pubJWK(func(m map[string]any) { m["d"] = "AAAA" })}, nil, ErrFormat},
		{"RFC 7518 §6.4.1 a symmetric k is refused", []map[string]any{pubJWK(func(m map[string]any) { m["k"] = "AAAA" })}, nil, ErrFormat},
		{"RFC 7518 §3.1 alg must fit kty", []map[string]any{pubJWK(func(m map[string]any) { m["alg"] = "EdDSA" })}, nil, ErrKeyType},
		{"RFC 7518 §6.2.1.1 crv must fit alg", []map[string]any{pubJWK(func(m map[string]any) { m["crv"] = "P-521" })}, nil, ErrKeyType},
		{"RFC 7518 §3.3 RSA keys of fewer than 2048 bits are refused", []map[string]any{smallMap}, nil, ErrKeyType},
		{"RFC 7517 §4.5 kids are unique", []map[string]any{pubJWK(nil), pubJWK(nil)}, nil, ErrDuplicateKeyID},
		{"RFC 7518 §6.2.1.2 a point off the curve is refused", []map[string]any{pubJWK(func(m map[string]any) { m["x"] = b64url.EncodeToString(bytes.Repeat([]byte{7}, 32)) })}, nil, ErrFormat},
		{"RFC 7517 §4.5 kid is required", []map[string]any{pubJWK(func(m map[string]any) { delete(m, "kid") })}, nil, ErrFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := json.Marshal(map[string]any{"keys": tt.keys})
			require.NoError(t, err)
			set, err := ParsePublicJWKS("issuer", doc)
			if tt.want != nil {
				require.ErrorIs(t, err, tt.want)
				require.Nil(t, set)
				var pe *ParseError
				require.ErrorAs(t, err, &pe)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.kids, append([]string{}, kids(set)...))
		})
	}
	for _, bad := range []string{``, `[]`, `{"keys":{}}`, `{"keys":[1]}`, `null`} {
		_, err := ParsePublicJWKS("issuer", []byte(bad))
		require.ErrorIs(t, err, ErrFormat, bad)
	}
}

func TestPlanSigningRing(t *testing.T) {
	p := Policy{Alg: ES256, RotateEvery: 24 * time.Hour, Propagation: time.Hour, MaxTokenTTL: 11 * time.Minute}
	require.NoError(t, p.Validate())
	set, err := NewSetFromPolicy(SigningRing, t0, p)
	require.NoError(t, err)
	require.True(t, set.Signing())
	k, err := set.Sealing(t0)
	require.NoError(t, err)
	require.Equal(t, ES256, k.Alg)
	require.True(t, k.CanSign())

	// A change of algorithm affects new keys only.
	p.Alg = EdDSA
	next, changed, err := Plan(set, t0.Add(23*time.Hour), p)
	require.NoError(t, err)
	require.True(t, changed)
	require.Equal(t, []Alg{ES256, EdDSA}, algsOf(next))
	pend := next.Keys()[1]
	require.Equal(t, StatePending, pend.State(t0.Add(23*time.Hour)))
	require.Equal(t, k.Retires, pend.Activates)
	require.Equal(t, k.Retires.Add(p.MaxTokenTTL), next.Keys()[0].Expires, "SPEC §4 expires = retires + the longest signed lifetime")

	_, _, err = Plan(set, t0, Policy{RotateEvery: time.Hour, Propagation: time.Minute, MaxTokenTTL: time.Minute})
	require.ErrorIs(t, err, ErrKeyKind, "an A256KW policy on a signing ring")
	_, _, err = Plan(sampleSet(t), t0, p)
	require.ErrorIs(t, err, ErrKeyKind, "a signing policy on an encryption ring")
}

func algsOf(s *Set) []Alg {
	var a []Alg
	for _, k := range s.Keys() {
		a = append(a, k.Alg)
	}
	return a
}

// TestSigningRotationPublishesFirst runs a signing ring through rotations
// at the Manager's tick interval and checks SPEC §4 from the verifier's
// side: every key is in the published JWK Set for at least Propagation
// before it signs, and stays there until MaxTokenTTL after it last signed.
func TestSigningRotationPublishesFirst(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock(t0)
	p := Policy{Alg: EdDSA, RotateEvery: 2 * time.Hour, Propagation: 20 * time.Minute, MaxTokenTTL: 15 * time.Minute}
	m, err := NewManager(t.TempDir(), p, WithClock(clock.Now))
	require.NoError(t, err)
	_, err = m.Init(ctx, SigningRing)
	require.NoError(t, err)
	ring, _ := m.Ring(SigningRing)

	published := map[string]time.Time{} // first seen in the JWK Set
	unpublished := map[string]time.Time{}
	firstSign := map[string]time.Time{}
	lastSign := map[string]time.Time{}
	const tick = 2 * time.Minute
	for now := t0; now.Before(t0.Add(9 * time.Hour)); now = now.Add(tick) {
		clock.ns.Store(now.UnixNano())
		_, err := m.Tick(ctx)
		require.NoError(t, err)
		doc, err := ExportJWKS(ring.Load(), now)
		require.NoError(t, err)
		pub, err := ParsePublicJWKS("p", doc)
		require.NoError(t, err)
		seen := map[string]bool{}
		for _, k := range pub.Keys() {
			seen[k.ID] = true
			if _, ok := published[k.ID]; !ok {
				published[k.ID] = now
			}
		}
		for kid := range published {
			if _, gone := unpublished[kid]; !gone && !seen[kid] {
				unpublished[kid] = now
			}
		}
		k, err := ring.Load().Sealing(now)
		require.NoError(t, err)
		if _, ok := firstSign[k.ID]; !ok {
			firstSign[k.ID] = now
		}
		lastSign[k.ID] = now
		// Whatever the signing key signs now verifies with the published set.
		sig, err := k.Sign([]byte(now.String()))
		require.NoError(t, err)
		vk, ok := pub.Opening(k.ID, now)
		require.True(t, ok, "signing key %s not published at %s", k.ID, now)
		require.True(t, stdVerify(t, vk.Alg, vk.Public(), []byte(now.String()), sig))
	}
	require.GreaterOrEqual(t, len(firstSign), 4, "several rotations")
	keys := slices.Collect(func(yield func(string) bool) {
		for kid := range firstSign {
			if !yield(kid) {
				return
			}
		}
	})
	for _, kid := range keys {
		if firstSign[kid].Equal(t0) {
			continue // the bootstrap key signs at once: nothing could sign otherwise
		}
		require.GreaterOrEqual(t, firstSign[kid].Sub(published[kid]), p.Propagation, "key %s signed before it was published for propagation", kid)
		if gone, ok := unpublished[kid]; ok {
			require.GreaterOrEqual(t, gone.Sub(lastSign[kid]), p.MaxTokenTTL, "key %s unpublished before its signatures expired", kid)
		}
	}
}

func TestManagerRefusesOtherKind(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	clock := newFakeClock(t0)
	sp := Policy{Alg: ES256, RotateEvery: 24 * time.Hour, Propagation: time.Hour, MaxTokenTTL: time.Hour}
	ms, err := NewManager(dir, sp, WithClock(clock.Now), WithKEK(testKEK))
	require.NoError(t, err)
	_, err = ms.Init(ctx, SigningRing)
	require.NoError(t, err)
	fi, err := os.Stat(ms.Path(SigningRing))
	require.NoError(t, err)
	require.Equal(t, FileMode, fi.Mode().Perm())
	data, err := os.ReadFile(ms.Path(SigningRing))
	require.NoError(t, err)
	require.NotContains(t, string(data), `"d"`, "wrapped: no private member in clear")

	// The encryption rings' Manager must not take the signing ring's file
	// for one of its rings.
	me := newTestManager(t, dir, clock, WithKEK(testKEK))
	err = me.Open(ctx, SigningRing)
	require.ErrorIs(t, err, ErrKeyKind)
	_, ok := me.Ring(SigningRing)
	require.False(t, ok)
}
