package jws_test

import (
	"crypto/ecdh"
	"crypto/rand"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/sealedtoken/issuer/pkg/jws"
)

// publishedSet is the JWK Set a resource server of SPEC §9 registers: a
// signing key of every type, and an X25519 encryption key that a
// signature verifier must skip.
func publishedSet(t testing.TB) []byte {
	t.Helper()
	var keys []json.RawMessage
	for _, f := range testFixtures(t) {
		if f.pub == nil {
			continue
		}
		if f.alg == jws.PS256 {
			continue // the RSA key is already there for RS256
		}
		js, err := jws.AppendPublicJWK(nil, f.pub, f.kid, "")
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, js)
	}
	x, _ := ecdh.X25519().GenerateKey(rand.Reader)
	keys = append(keys, json.RawMessage(`{"kty":"OKP","crv":"X25519","use":"enc","kid":"enc-1","x":"`+b64u(x.PublicKey().Bytes())+`"}`))
	b, err := json.Marshal(map[string]any{"keys": keys})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseKeySet(t *testing.T) {
	raw := publishedSet(t)
	set, err := jws.ParseKeySet(raw)
	if err != nil {
		t.Fatal(err)
	}
	if set.Len() != 4 || len(set.Skipped()) != 1 || !errors.Is(set.Skipped()[0], jws.ErrUnsupportedKey) {
		t.Fatalf("set of %d keys, skipped %v", set.Len(), set.Skipped())
	}
	if _, ok := set.Lookup("enc-1"); ok {
		t.Fatal("the encryption key is in the verification set")
	}
	for _, f := range testFixtures(t) {
		if f.pub == nil {
			continue
		}
		tok := f.sign(t, jws.Protected{}, `{"a":1}`)
		if f.alg == jws.PS256 {
			// PS256 signed with the RSA key, named by the RS256 kid.
			s, _ := jws.NewSigner(jws.PS256, f.priv, "k-RS256")
			tok, _ = jws.Sign(s, jws.Protected{}, []byte(`{"a":1}`))
		}
		if _, err := jws.Verify(tok, jws.AsymmetricAlgorithms, set); err != nil {
			t.Errorf("%s: %v", f.alg, err)
		}
	}
}

// TestKeySetFromJOSE: a go-jose set gives the same keys as its JSON.
func TestKeySetFromJOSE(t *testing.T) {
	var gj jose.JSONWebKeySet
	// go-jose cannot read X25519; leave that key out.
	raw := publishedSet(t)
	var m struct{ Keys []json.RawMessage }
	_ = json.Unmarshal(raw, &m)
	for _, k := range m.Keys {
		var j jose.JSONWebKey
		if err := j.UnmarshalJSON(k); err == nil {
			gj.Keys = append(gj.Keys, j)
		}
	}
	set, err := jws.KeySetFromJOSE(&gj)
	if err != nil {
		t.Fatal(err)
	}
	if set.Len() != 4 {
		t.Fatalf("%d keys", set.Len())
	}
	es := fixtureFor(t, jws.ES256)
	if _, err := jws.Verify(es.sign(t, jws.Protected{}, `{}`), []string{jws.ES256}, set); err != nil {
		t.Fatal(err)
	}
	priv := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: es.priv, KeyID: "p"}}}
	if _, err := jws.KeySetFromJOSE(&priv); !errors.Is(err, jws.ErrPrivateKey) {
		t.Fatalf("private key: %v", err)
	}
	oct := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: hmacSecret, KeyID: "s"}}}
	if _, err := jws.KeySetFromJOSE(&oct); !errors.Is(err, jws.ErrPrivateKey) {
		t.Fatalf("symmetric key: %v", err)
	}
}

// TestParseKeySetRules: RFC 7517 §5, rule by rule.
func TestParseKeySetRules(t *testing.T) {
	es := fixtureFor(t, jws.ES256)
	ecJWK := publicJWK(t, es.pub)
	withKid := func(kid string) string { return strings.TrimSuffix(ecJWK, "}") + `,"kid":"` + kid + `"}` }
	tests := []struct {
		name string
		set  string
		want error
		keys int
	}{
		{name: "RFC 7517 §5: a set", set: `{"keys":[` + withKid("a") + `]}`, keys: 1},
		{name: "RFC 7517 §5: an empty set", set: `{"keys":[]}`, keys: 0},
		{name: "RFC 7517 §5: other members ignored", set: `{"x":1,"keys":[` + withKid("a") + `]}`, keys: 1},
		{name: "RFC 7517 §5.1: keys required", set: `{}`, want: jws.ErrInvalidKey},
		{name: "RFC 7517 §5.1: keys an array", set: `{"keys":{}}`, want: jws.ErrInvalidKey},
		{name: "RFC 7517 §5: keys twice", set: `{"keys":[],"keys":[]}`, want: jws.ErrInvalidKey},
		{name: "RFC 7517 §4.5: two keys with one kid", set: `{"keys":[` + withKid("a") + `,` + withKid("a") + `]}`, want: jws.ErrConfig},
		{name: "RFC 7517 §5: unknown kty skipped", set: `{"keys":[{"kty":"XYZ","kid":"z"},` + withKid("a") + `]}`, keys: 1},
		{name: "a private key fails the set", set: `{"keys":[` + withKid("a") + `,{"kty":"oct","k":"AAAA"}]}`, want: jws.ErrPrivateKey},
		{name: "a malformed supported key fails the set", set: `{"keys":[{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}]}`, want: jws.ErrInvalidKey},
		{name: "not JSON", set: `{"keys":[`, want: jws.ErrInvalidKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set, err := jws.ParseKeySet([]byte(tt.set))
			if tt.want != nil {
				if !errors.Is(err, tt.want) {
					t.Fatalf("error %v, want %v", err, tt.want)
				}
				return
			}
			if err != nil || set.Len() != tt.keys {
				t.Fatalf("ParseKeySet: %v, %d keys, want %d", err, set.Len(), tt.keys)
			}
		})
	}
	var many strings.Builder
	many.WriteString(`{"keys":[`)
	for i := 0; i < 300; i++ {
		if i > 0 {
			many.WriteString(",")
		}
		many.WriteString(`{"kty":"XYZ"}`)
	}
	many.WriteString(`]}`)
	if _, err := jws.ParseKeySet([]byte(many.String())); !errors.Is(err, jws.ErrInvalidKey) {
		t.Fatalf("300 keys: %v", err)
	}
}
