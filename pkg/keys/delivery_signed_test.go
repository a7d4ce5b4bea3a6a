package keys

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sealedtoken/issuer/pkg/jws"
)

// TestDeliverySigned: the delivery says which audiences' access tokens are
// signed (SPEC §9, audiences[].sign), as a "sign": true member of that
// audience's JWK Set, so that the resource server knows to require the
// signature; the member is authenticated with the rest of the delivery.
func TestDeliverySigned(t *testing.T) {
	f := newDeliveryFixture(t, CurveP256)
	f.d.Signed = map[string]bool{otherAud: true, "https://api.example.com": false}
	claims, err := DeliveryClaims(f.d)
	require.NoError(t, err)
	require.Contains(t, string(claims), `"sign":true`)
	require.Equal(t, 1, strings.Count(string(claims), `"sign"`), "only the signed audience says so")

	got, err := OpenDelivery(f.seal(t), f.rs, f.issuerKeys, f.want())
	require.NoError(t, err)
	require.Equal(t, map[string]bool{otherAud: true}, got.Signed)

	f.d.Signed = nil
	got, err = OpenDelivery(f.seal(t), f.rs, f.issuerKeys, f.want())
	require.NoError(t, err)
	require.Empty(t, got.Signed)

	// Seal refuses to flag an audience it does not deliver.
	f.d.Signed = map[string]bool{"https://nowhere.example.com": true}
	_, err = SealDelivery(f.d, f.signer, f.rsPublic)
	require.True(t, errors.Is(err, ErrFormat), "%v", err)

	// A "sign" that is not a boolean makes the delivery malformed.
	for _, bad := range []string{`"yes"`, `1`, `null`} {
		f.d.Signed = nil
		c, err := DeliveryClaims(f.d)
		require.NoError(t, err)
		c = []byte(strings.Replace(string(c), `]}`, `],"sign":`+bad+`}`, 1))
		signed, err := jws.Sign(f.signer, jws.Protected{Type: DeliveryType}, c)
		require.NoError(t, err)
		tok := craftJWE(t, f.rsPublic, []byte(signed), nil)
		_, err = OpenDelivery(tok, f.rs, f.issuerKeys, f.want())
		require.Truef(t, errors.Is(err, ErrDeliveryFormat), "sign %s: %v", bad, err)
	}
}
