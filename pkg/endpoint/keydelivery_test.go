package endpoint_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sealedtoken/issuer/pkg/endpoint"
	"github.com/sealedtoken/issuer/pkg/keys"
)

// delivery fetches resource server id's key delivery from srv.
func (f *statusFixture) delivery(t testing.TB, srv *endpoint.Server, id string, opts ...reqOpt) *endpoint.Response {
	t.Helper()
	resp, _ := get(srv, keysPath+"?resource_server="+id, opts...)
	return resp
}

// open opens a delivery with resource server id's private keys.
func (f *statusFixture) open(t testing.TB, id string, tok []byte) (*keys.Delivery, error) {
	t.Helper()
	return keys.OpenDelivery(string(tok), f.rsKeys[id], f.issuerKeys, keys.DeliveryExpected{
		Issuer: testIssuer, ResourceServer: id, Time: f.clock.Now,
	})
}

// TestResourceKeys checks the key delivery endpoint (SPEC §9), one rule
// per row.
func TestResourceKeys(t *testing.T) {
	f := newStatusFixture(t)
	resp := f.delivery(t, f.srv, "rs")
	require.Equal(t, 200, resp.Status, "%s", resp.Body)
	d, err := f.open(t, "rs", resp.Body)
	require.NoError(t, err)
	meta := body(t, f.srv.Metadata())
	other := f.delivery(t, f.srv, "rs-other")
	od, err := f.open(t, "rs-other", other.Body)
	require.NoError(t, err)
	tests := []struct {
		name string
		ok   bool
	}{
		{"SPEC §9: resource_keys_endpoint in the metadata (RFC 8414 §2)", meta["resource_keys_endpoint"] == testIssuer+keysPath},
		{"RFC 7519 §10.3.1: application/jwt", hdr(resp, "Content-Type") == "application/jwt"},
		{"SPEC §9: a short public Cache-Control", hdr(resp, "Cache-Control") == "public, max-age=60"},
		{"RFC 9110 §8.8.3: an ETag", strings.HasPrefix(hdr(resp, "ETag"), `W/"`)},
		{"SPEC §9: iss and sub", d.Issuer == testIssuer && d.ResourceServer == "rs"},
		{"SPEC §9: exp within KeyDeliveryLifetime", !d.Expiry.After(t0.Add(endpoint.KeyDeliveryLifetime)) && d.Expiry.After(t0)},
		{"SPEC §9: every audience of the resource server", len(d.Audiences) == 2 && d.Audiences[apiAud] != nil && d.Audiences[otherAud] != nil},
		{"SPEC §9: the ring's openable keys", sameKeys(d.Audiences[apiAud], f.rings[apiAud].Load())},
		{"SPEC §9: with their lifecycle", sameLifecycle(d.Audiences[apiAud], f.rings[apiAud].Load())},
		{"SPEC §9: never an audience not registered for it", len(od.Audiences) == 1 && od.Audiences[otherAud] != nil},
		{"SPEC §3: never the internal ring", od.Audiences[keys.InternalRing] == nil && d.Audiences[keys.InternalRing] == nil},
		{"SPEC §9: X25519 resource servers", other.Status == 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { require.True(t, tt.ok) })
	}
}

func sameKeys(got, want *keys.Set) bool {
	if got == nil || got.Len() != want.Len() {
		return false
	}
	for _, w := range want.Keys() {
		g, ok := got.Lookup(w.ID)
		if !ok || g.Alg != w.Alg || !slices.Equal(g.Material(), w.Material()) {
			return false
		}
	}
	return true
}

func sameLifecycle(got, want *keys.Set) bool {
	for _, w := range want.Keys() {
		g, ok := got.Lookup(w.ID)
		if !ok || !g.Activates.Equal(w.Activates) || !g.Retires.Equal(w.Retires) || !g.Expires.Equal(w.Expires) {
			return false
		}
	}
	return true
}

// TestResourceKeysAttacks is what an attacker tries at the endpoint; the
// victim (each resource server) still gets its keys.
func TestResourceKeysAttacks(t *testing.T) {
	f := newStatusFixture(t)
	rsOther := f.delivery(t, f.srv, "rs-other")
	tests := []struct {
		name   string
		path   string
		status int
		check  func(t *testing.T, r *endpoint.Response)
	}{
		{name: "SPEC §9: rs-other's delivery does not decrypt for rs", path: keysPath + "?resource_server=rs-other", status: 200, check: func(t *testing.T, r *endpoint.Response) {
			_, err := keys.OpenDelivery(string(r.Body), f.rsKeys["rs"], f.issuerKeys, keys.DeliveryExpected{Issuer: testIssuer, ResourceServer: "rs-other", Time: f.clock.Now})
			require.ErrorIs(t, err, keys.ErrDeliveryDecrypt)
		}},
		{name: "SPEC §9: an unknown resource server is 404", path: keysPath + "?resource_server=nobody", status: 404},
		{name: "SPEC §9: a client's id is 404", path: keysPath + "?resource_server=backend", status: 404},
		{name: "SPEC §9: a resource server without keys is 404", path: keysPath + "?resource_server=rs-secret", status: 404},
		{name: "SPEC §9: the internal ring's name is 404", path: keysPath + "?resource_server=internal", status: 404},
		{name: "RFC 6749 §3.1: a missing parameter is invalid_request", path: keysPath, status: 400},
		{name: "RFC 6749 §3.1: a repeated parameter is invalid_request", path: keysPath + "?resource_server=rs&resource_server=rs-other", status: 400},
		{name: "RFC 9110 §15.5.6: POST is 405", path: keysPath + "?resource_server=rs", status: 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts []reqOpt
			if tt.status == 405 {
				opts = append(opts, method("POST"))
			}
			resp, res := get(f.srv, tt.path, opts...)
			require.Equal(t, tt.status, resp.Status, "%s", resp.Body)
			if tt.status == 400 || tt.status == 405 {
				require.NotNil(t, res.Err)
			}
			if tt.status == 404 {
				require.NotContains(t, string(resp.Body), "keys", "a 404 carries no key")
			}
			if tt.check != nil {
				tt.check(t, resp)
			}
		})
	}
	// A resource server with keys only (no secret) gets its keys and cannot
	// authenticate at introspection.
	d, err := f.open(t, "rs-keys", f.delivery(t, f.srv, "rs-keys").Body)
	require.NoError(t, err)
	require.Len(t, d.Audiences, 1)
	resp := f.introspect(form("token", f.backendToken()), basic("rs-keys", ""))
	require.Equal(t, 401, resp.Status)
	// The victims still open theirs.
	_, err = f.open(t, "rs-other", rsOther.Body)
	require.NoError(t, err)
	_, err = f.open(t, "rs", f.delivery(t, f.srv, "rs").Body)
	require.NoError(t, err)
}

// TestResourceKeysCaching checks ETags and rebuilding: stable while the
// rings do not change, equal across replicas though each encrypts its
// own, 304 on a match, and new once a ring rotates or the exp grid moves.
func TestResourceKeysCaching(t *testing.T) {
	f := newStatusFixture(t)
	first := f.delivery(t, f.srv, "rs")
	etag := hdr(first, "ETag")
	f.clock.Advance(time.Minute)
	again := f.delivery(t, f.srv, "rs")
	require.Equal(t, string(first.Body), string(again.Body), "a delivery is built once per ring version")
	replica := f.replica(t, f.newAllocator(t))
	theirs := f.delivery(t, replica, "rs")
	require.NotEqual(t, string(first.Body), string(theirs.Body), "each replica encrypts with its own randomness")
	require.Equal(t, etag, hdr(theirs, "ETag"), "the ETag names the content, the same on every replica")
	r304 := f.delivery(t, replica, "rs", header("If-None-Match", etag))
	require.Equal(t, 304, r304.Status)
	require.Empty(t, r304.Body)
	require.NotEqual(t, etag, hdr(f.delivery(t, f.srv, "rs-other"), "ETag"), "another resource server, another ETag")

	// A rotation: a new pending key in apiAud's ring.
	set := f.rings[apiAud].Load()
	p := keys.Policy{RotateEvery: 24 * time.Hour, Propagation: time.Hour, MaxTokenTTL: accessTTL + leeway}
	rotated, err := keys.Rotate(set, f.clock.Now(), p)
	require.NoError(t, err)
	f.rings[apiAud].Store(rotated)
	after := f.delivery(t, f.srv, "rs", header("If-None-Match", etag))
	require.Equal(t, 200, after.Status, "a rotated ring is a new delivery")
	d, err := f.open(t, "rs", after.Body)
	require.NoError(t, err)
	require.Equal(t, rotated.Len(), d.Audiences[apiAud].Len(), "the pending key is delivered before it seals")
	require.Equal(t, hdr(after, "ETag"), hdr(f.delivery(t, replica, "rs"), "ETag"))

	// The exp grid moves every quarter of the lifetime.
	before := hdr(f.delivery(t, f.srv, "rs"), "ETag")
	f.clock.Advance(endpoint.KeyDeliveryLifetime / 4)
	require.NotEqual(t, before, hdr(f.delivery(t, f.srv, "rs"), "ETag"))
}

// TestPublishedWithoutSigningKey: a signing ring without an active key (a
// failed rotation) makes the lists and deliveries answer 503 with
// Retry-After, never a 500, and they come back with a key.
func TestPublishedWithoutSigningKey(t *testing.T) {
	f := newStatusFixture(t)
	ref := f.statusOf(t, apiAud, f.backendToken())
	good := f.signing.Load()
	k, _ := good.Sealing(f.clock.Now())
	retired, err := keys.NewSigningKey(k.ID+"-r", keys.ES256, testSigner(t), keys.Lifecycle{
		Created: t0.Add(-2 * time.Hour), Activates: t0.Add(-2 * time.Hour), Retires: t0.Add(-time.Hour), Expires: t0.Add(time.Hour)})
	require.NoError(t, err)
	set, err := keys.NewSet(keys.SigningRing, retired)
	require.NoError(t, err)
	f.signing.Store(set)
	for _, path := range []string{strings.TrimPrefix(ref.URI, testIssuer), keysPath + "?resource_server=rs"} {
		resp, res := get(f.srv, path)
		require.Equal(t, 503, resp.Status, path)
		require.Equal(t, endpoint.TemporarilyUnavailable, res.Err.Code)
		require.NotEmpty(t, hdr(resp, "Retry-After"))
	}
	f.signing.Store(good)
	f.clock.Advance(6 * time.Second)
	require.False(t, f.revoked(t, f.srv, ref))
	require.Equal(t, 200, f.delivery(t, f.srv, "rs").Status)
}

func testSigner(t testing.TB) crypto.Signer {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	return k
}
