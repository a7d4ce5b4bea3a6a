package endpoint_test

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/require"

	"github.com/sealedtoken/issuer/internal/interop"
	"github.com/sealedtoken/issuer/pkg/keys"
	"github.com/sealedtoken/issuer/pkg/statuslist"
)

// publishedJWKS is the issuer's JWK Set as served at jwks_uri.
func (f *statusFixture) publishedJWKS(t testing.TB) []byte {
	doc, err := keys.ExportJWKS(f.signing.Load(), f.clock.Now())
	require.NoError(t, err)
	return doc
}

// TestStatusListGoJose: go-jose verifies a published Status List Token
// with the published JWK Set, and its lst decodes with pkg/statuslist to
// the revoked bit (draft §4.1, §5.1).
func TestStatusListGoJose(t *testing.T) {
	f := newStatusFixture(t)
	tok := f.backendToken()
	ref := f.statusOf(t, apiAud, tok)
	require.Equal(t, 200, f.revoke(form("token", tok), basic("backend", backendSecret)).Status)
	_, resp := f.listToken(t, f.srv, ref.URI)

	var set jose.JSONWebKeySet
	require.NoError(t, json.Unmarshal(f.publishedJWKS(t), &set))
	sig, err := jose.ParseSigned(string(resp.Body), []jose.SignatureAlgorithm{jose.ES256})
	require.NoError(t, err)
	require.Equal(t, statuslist.TokenType, sig.Signatures[0].Header.ExtraHeaders["typ"])
	keys := set.Key(sig.Signatures[0].Header.KeyID)
	require.Len(t, keys, 1)
	payload, err := sig.Verify(keys[0].Key)
	require.NoError(t, err)
	var c struct {
		Sub        string `json:"sub"`
		StatusList struct {
			Bits int    `json:"bits"`
			Lst  string `json:"lst"`
		} `json:"status_list"`
	}
	require.NoError(t, json.Unmarshal(payload, &c))
	require.Equal(t, ref.URI, c.Sub)
	l, err := statuslist.Decode(c.StatusList.Bits, c.StatusList.Lst, 0)
	require.NoError(t, err)
	st, err := l.Get(ref.Index)
	require.NoError(t, err)
	require.Equal(t, statuslist.Invalid, st)
}

// pythonScript decodes, in Python with only its standard library, the lst
// of a Status List Token read from stdin (draft §4.1: base64url without
// padding, then ZLIB), and opens with jwcrypto the key deliveries of the
// resource servers given as (private JWK Set file, delivery file) pairs,
// verifying them with the issuer's JWK Set in argv[1].
const pythonLst = `
import base64, json, sys, zlib
tok = sys.stdin.read().strip()
payload = tok.split(".")[1]
claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
lst = claims["status_list"]["lst"]
raw = zlib.decompress(base64.urlsafe_b64decode(lst + "=" * (-len(lst) % 4)))
print(raw.hex())
`

// TestStatusListPythonZlib: Python's zlib decodes the published lst to the
// bytes pkg/statuslist decodes, revoked bit included (draft §4.1).
func TestStatusListPythonZlib(t *testing.T) {
	py := interop.RequirePython(t)
	f := newStatusFixture(t)
	tok := f.backendToken()
	ref := f.statusOf(t, apiAud, tok)
	require.Equal(t, 200, f.revoke(form("token", tok), basic("backend", backendSecret)).Status)
	slt, resp := f.listToken(t, f.srv, ref.URI)
	cmd := exec.Command(py, "-c", pythonLst)
	cmd.Stdin = strings.NewReader(string(resp.Body))
	out, err := cmd.Output()
	require.NoError(t, pyErr(err))
	got, err := hex.DecodeString(strings.TrimSpace(string(out)))
	require.NoError(t, err)
	require.Equal(t, slt.List.Bytes(), got)
	require.Equal(t, byte(1)<<(ref.Index%8), got[ref.Index/8]&(1<<(ref.Index%8)), "draft §4.1: the bit of idx, least significant first")
}

const jwcryptoDelivery = `
import json, sys
from jwcrypto import jwe, jwk, jws
issuer = jwk.JWKSet.from_json(open(sys.argv[1]).read())
out = []
for priv_path, tok_path in zip(sys.argv[2::2], sys.argv[3::2]):
    mine = jwk.JWKSet.from_json(open(priv_path).read())
    outer = jwe.JWE()
    outer.deserialize(open(tok_path).read())
    hdr = outer.jose_header
    outer.decrypt(mine.get_key(hdr["kid"]))
    inner = jws.JWS()
    inner.deserialize(outer.payload.decode())
    inner.verify(issuer.get_key(inner.jose_header["kid"]))
    out.append({"outer": hdr, "inner": inner.jose_header, "claims": json.loads(inner.payload)})
print(json.dumps(out))
`

// TestDeliveryJWCrypto: Python jwcrypto decrypts the key deliveries of a
// P-256 and an X25519 resource server with their private JWK Sets and
// verifies them with the issuer's published JWK Set (RFC 7516, RFC 7518
// §4.6, RFC 8037): the keys inside are the rings' keys.
func TestDeliveryJWCrypto(t *testing.T) {
	py := interop.RequirePython(t, "jwcrypto")
	f := newStatusFixture(t)
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, b, 0o600))
		return p
	}
	args := []string{"-c", jwcryptoDelivery, write("issuer.json", f.publishedJWKS(t))}
	for _, id := range []string{"rs", "rs-other"} {
		priv, err := f.rsKeys[id].PrivateJWKS()
		require.NoError(t, err)
		resp := f.delivery(t, f.srv, id)
		require.Equal(t, 200, resp.Status)
		args = append(args, write(id+".jwks", priv), write(id+".jwt", resp.Body))
	}
	out, err := exec.Command(py, args...).Output()
	require.NoError(t, pyErr(err))
	var got []struct {
		Outer  map[string]any `json:"outer"`
		Inner  map[string]any `json:"inner"`
		Claims struct {
			Iss  string `json:"iss"`
			Sub  string `json:"sub"`
			Keys map[string]struct {
				Keys []map[string]any `json:"keys"`
			} `json:"keys"`
		} `json:"claims"`
	}
	require.NoError(t, json.Unmarshal(out, &got), "%s", out)
	require.Len(t, got, 2)
	for i, id := range []string{"rs", "rs-other"} {
		g := got[i]
		require.Equal(t, "ECDH-ES+A256KW", g.Outer["alg"])
		require.Equal(t, "A256GCM", g.Outer["enc"])
		require.Equal(t, "JWT", g.Outer["cty"])
		require.Equal(t, keys.DeliveryType, g.Inner["typ"])
		require.Equal(t, testIssuer, g.Claims.Iss)
		require.Equal(t, id, g.Claims.Sub)
		k := g.Claims.Keys[otherAud].Keys[0]
		want := f.rings[otherAud].Load().Keys()[0]
		require.Equal(t, want.ID, k["kid"])
		require.Equal(t, float64(want.Expires.Unix()), k["expires"])
	}
	require.Equal(t, "X25519", got[1].Outer["epk"].(map[string]any)["crv"], "rs-other's key is X25519")
	require.Len(t, got[1].Claims.Keys, 1, "rs-other gets its one audience")
}

func pyErr(err error) error {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return errors.New(err.Error() + ": " + string(ee.Stderr))
	}
	return err
}
