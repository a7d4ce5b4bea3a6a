package endpoint_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sealedtoken/issuer/pkg/crypttoken"
	"github.com/sealedtoken/issuer/pkg/endpoint"
	"github.com/sealedtoken/issuer/pkg/jws"
	"github.com/sealedtoken/issuer/pkg/keys"
)

// signingRing returns a signing ring with one ES256 key active around t0.
func signingRing(t testing.TB) *keys.Ring {
	t.Helper()
	k, err := keys.Generate(keys.ES256, keys.Lifecycle{
		Created: t0.Add(-time.Hour), Activates: t0.Add(-time.Hour),
		Retires: t0.Add(24 * time.Hour), Expires: t0.Add(48 * time.Hour),
	})
	require.NoError(t, err)
	set, err := keys.NewSet(keys.SigningRing, k)
	require.NoError(t, err)
	return keys.NewRing(set)
}

// TestSignedAudience: SPEC §9 audiences[].sign. The signed audience's
// access tokens are nested JWTs signed by the signing ring, and introspect
// active; the other audience's are unchanged. A resource server holding
// the signed audience's key forges tokens: an unsigned one and one signed
// with a key of its own. Introspection calls both inactive, and the
// genuine token stays active.
func TestSignedAudience(t *testing.T) {
	signing := signingRing(t)
	f := newFixtureConfig(t, fixtureConfig{signing: signing, opts: []endpoint.Option{endpoint.WithSignedAudiences(apiAud)}})

	tok := f.backendToken() // backend's default audience: apiAud
	hdr, err := base64URL.DecodeString(tok[:strings.IndexByte(tok, '.')])
	require.NoError(t, err)
	require.Contains(t, string(hdr), `"cty":"JWT"`, "RFC 7519 §5.2: a nested JWT says so")

	src, err := crypttoken.RingKeys(signing, f.clock.Now)
	require.NoError(t, err)
	strict, err := crypttoken.NewOpener(f.rings[apiAud], crypttoken.Expected{Issuer: testIssuer, Audience: apiAud, Time: f.clock.Now},
		crypttoken.WithSignedTokens(src))
	require.NoError(t, err)
	c, err := strict.Open(tok)
	require.NoError(t, err, "a resource server verifying signatures opens the issuer's token")
	require.Equal(t, "backend", c.ClientID)

	active := body(t, f.introspect(form("token", tok), asRS()))
	require.Equal(t, true, active["active"])

	// The attacker holds apiAud's key.
	unsigned := f.sealAccess(apiAud, time.Minute)
	attackerKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	selfSigner, err := keys.NewSigningKey(signing.Load().Keys()[0].ID, keys.ES256, attackerKey, keys.Lifecycle{
		Created: t0.Add(-time.Hour), Activates: t0.Add(-time.Hour), Retires: t0.Add(time.Hour), Expires: t0.Add(2 * time.Hour),
	})
	require.NoError(t, err)
	selfSet, err := keys.NewSet(keys.SigningRing, selfSigner)
	require.NoError(t, err)
	forger, err := crypttoken.NewSealer(f.rings[apiAud], crypttoken.WithClock(f.clock.Now), crypttoken.WithSigningRing(keys.NewRing(selfSet)))
	require.NoError(t, err)
	selfSigned, err := forger.Seal(crypttoken.TypeAccess, &crypttoken.Claims{Issuer: testIssuer, Subject: "backend", Audience: []string{apiAud},
		Expiry: f.clock.Now().Add(time.Minute), ClientID: "backend", Scope: "read write admin"})
	require.NoError(t, err)

	for name, forged := range map[string]string{"unsigned": unsigned, "self-signed under the issuer's kid": selfSigned} {
		_, err := strict.Open(forged)
		require.Truef(t, errors.Is(err, crypttoken.ErrSignature), "%s: resource server: %v", name, err)
		isInactive(t, f.introspect(form("token", forged), asRS()))
	}
	_, err = strict.Open(selfSigned)
	require.True(t, errors.Is(err, jws.ErrSignature))
	require.Equal(t, true, body(t, f.introspect(form("token", tok), asRS()))["active"], "the victim's token after the attack")

	// The other audience is not signed.
	other := mustTokens(t, f.token(form("grant_type", "client_credentials", "resource", otherAud), basic("multi", backendSecret))).Access
	hdr, err = base64URL.DecodeString(other[:strings.IndexByte(other, '.')])
	require.NoError(t, err)
	require.NotContains(t, string(hdr), "cty")
}

func TestSignedAudienceConfig(t *testing.T) {
	tests := []struct {
		name    string
		signing *keys.Ring
		names   []string
	}{
		{name: "unknown audience", signing: signingRing(t), names: []string{"https://nowhere.example.com"}},
		{name: "no signing ring", names: []string{apiAud}},
		{name: "a ring of symmetric keys", signing: testRing(t, "sym"), names: []string{apiAud}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := endpoint.New(testIssuer, endpoint.Rings{Internal: testRing(t, keys.InternalRing),
				Audiences: map[string]*keys.Ring{apiAud: testRing(t, apiAud)}, Default: apiAud, Signing: tt.signing},
				&swapClients{}, &faultStore{}, endpoint.WithSignedAudiences(tt.names...))
			require.Error(t, err)
		})
	}
}

// TestSignedAudienceDelivery: the key delivery tells each resource server
// which of its audiences are signed (keys.Delivery.Signed), authenticated
// with the rest of it, so that the resource server requires signatures.
func TestSignedAudienceDelivery(t *testing.T) {
	f := newStatusFixture(t, endpoint.WithSignedAudiences(otherAud))
	d, err := f.open(t, "rs", f.delivery(t, f.srv, "rs").Body)
	require.NoError(t, err)
	require.Equal(t, map[string]bool{otherAud: true}, d.Signed)
	od, err := f.open(t, "rs-other", f.delivery(t, f.srv, "rs-other").Body)
	require.NoError(t, err)
	require.Equal(t, map[string]bool{otherAud: true}, od.Signed)

	plain := newStatusFixture(t)
	d, err = plain.open(t, "rs", plain.delivery(t, plain.srv, "rs").Body)
	require.NoError(t, err)
	require.Empty(t, d.Signed)
}
