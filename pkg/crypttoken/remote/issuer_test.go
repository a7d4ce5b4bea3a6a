package remote

// fakeIssuer: the issuer's side of SPEC §9 built from the project's own
// primitives (keys.SealDelivery, statuslist.Sign, keys.ExportJWKS), served
// over TLS by httptest, with switches for an outage and for every kind of
// tampering the tests try. The end-to-end tests in internal/e2e run the
// real issuer; this one lets the unit tests attack the client.

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/sealedtoken/issuer/pkg/crypttoken"
	"github.com/sealedtoken/issuer/pkg/jws"
	"github.com/sealedtoken/issuer/pkg/keys"
	"github.com/sealedtoken/issuer/pkg/statuslist"
)

const (
	testRS     = "orders-api"
	testAud    = "https://orders.example.com"
	testAudB   = "https://billing.example.com"
	listPrefix = "/statuslists/"
)

type fakeIssuer struct {
	t   testing.TB
	srv *httptest.Server
	url string

	rsPrivate []byte          // the resource server's private JWK Set
	rs        *keys.Recipient // its public half, as registered

	mu       sync.Mutex
	signing  *keys.Key            // the active signing key
	verify   []*keys.Key          // published signing keys
	rings    map[string]*keys.Set // audience -> keys delivered
	signed   map[string]bool
	version  int // bumped when the delivery's content changes
	lists    map[string]*statuslist.List
	listIAT  map[string]time.Time // a fixed iat per list, for rollback tests; zero: now
	ttl      time.Duration
	noAgg    bool                                        // leave lists out of the aggregation
	delivery func(d *keys.Delivery) (string, error)      // replaces the delivery when set
	list     func(uri string, l *statuslist.List) string // replaces a list token when set

	down   atomic.Bool // answer 503 to everything
	counts sync.Map    // path -> *atomic.Int64 of requests
	status sync.Map    // path + " " + code -> *atomic.Int64
}

func newFakeIssuer(t testing.TB) *fakeIssuer {
	t.Helper()
	f := &fakeIssuer{t: t, rings: map[string]*keys.Set{}, signed: map[string]bool{},
		lists: map[string]*statuslist.List{}, listIAT: map[string]time.Time{}, ttl: 2 * time.Second}
	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	f.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // handshakes the tests make fail on purpose
	f.srv.StartTLS()
	t.Cleanup(f.srv.Close)
	f.url = f.srv.URL
	rs, err := keys.GenerateRecipient(keys.CurveP256, false)
	must(t, err)
	f.rsPrivate, err = rs.PrivateJWKS()
	must(t, err)
	f.rs = rs.Public()
	f.signing = f.newSigningKey()
	f.verify = []*keys.Key{f.signing}
	f.rings[testAud] = mustSet(t, testAud, f.newAudienceKey(time.Now().Add(-time.Minute)))
	f.rings[testAudB] = mustSet(t, testAudB, f.newAudienceKey(time.Now().Add(-time.Minute)))
	l, err := statuslist.New(1, 1024)
	must(t, err)
	f.lists[f.listURI("1")] = l
	return f
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func mustSet(t testing.TB, name string, ks ...*keys.Key) *keys.Set {
	t.Helper()
	s, err := keys.NewSet(name, ks...)
	must(t, err)
	return s
}

func (f *fakeIssuer) newSigningKey() *keys.Key {
	now := time.Now()
	k, err := keys.Generate(keys.ES256, keys.Lifecycle{Created: now.Add(-time.Hour), Activates: now.Add(-time.Hour),
		Retires: now.Add(time.Hour), Expires: now.Add(48 * time.Hour)})
	must(f.t, err)
	return k
}

// newAudienceKey returns an A256KW key active from activates for an hour.
func (f *fakeIssuer) newAudienceKey(activates time.Time) *keys.Key {
	k, err := keys.Generate(keys.A256KW, keys.Lifecycle{Created: activates.Add(-time.Minute), Activates: activates,
		Retires: activates.Add(time.Hour), Expires: activates.Add(2 * time.Hour)})
	must(f.t, err)
	return k
}

func (f *fakeIssuer) listURI(id string) string { return f.url + listPrefix + id }

// count returns how many requests path had.
func (f *fakeIssuer) count(path string) int64 {
	v, ok := f.counts.Load(path)
	if !ok {
		return 0
	}
	return v.(*atomic.Int64).Load()
}

// answered returns how many requests to path were answered with code.
func (f *fakeIssuer) answered(path string, code int) int64 {
	v, ok := f.status.Load(fmt.Sprintf("%s %d", path, code))
	if !ok {
		return 0
	}
	return v.(*atomic.Int64).Load()
}

func (f *fakeIssuer) serve(w http.ResponseWriter, r *http.Request) {
	v, _ := f.counts.LoadOrStore(r.URL.Path, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
	code, ctype, body, etag := f.answer(r)
	if etag != "" {
		w.Header().Set("ETag", etag)
		if r.Header.Get("If-None-Match") == etag && code == 200 {
			code, body = http.StatusNotModified, ""
		}
	}
	s, _ := f.status.LoadOrStore(fmt.Sprintf("%s %d", r.URL.Path, code), new(atomic.Int64))
	s.(*atomic.Int64).Add(1)
	if ctype != "" {
		w.Header().Set("Content-Type", ctype)
	}
	w.WriteHeader(code)
	_, _ = w.Write([]byte(body))
}

func etagOf(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return `"` + hex.EncodeToString(h[:8]) + `"`
}

func (f *fakeIssuer) answer(r *http.Request) (code int, ctype, body, etag string) {
	if f.down.Load() {
		return http.StatusServiceUnavailable, "", "", ""
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now()
	switch p := r.URL.Path; {
	case p == wellKnown:
		m := map[string]string{"issuer": f.url, metaJWKSURI: f.url + "/jwks.json",
			metaResourceKeys: f.url + "/resource-keys", metaAggregation: f.url + "/statuslists"}
		b, _ := json.Marshal(m)
		return 200, "application/json", string(b), etagOf(string(b))
	case p == "/jwks.json":
		set := mustSet(f.t, keys.SigningRing, f.verify...)
		b, err := keys.ExportJWKS(set, now)
		must(f.t, err)
		return 200, "application/jwk-set+json", string(b), etagOf(string(b))
	case p == "/resource-keys":
		if r.URL.Query().Get(keys.DeliveryParameter) != testRS {
			return 404, "", "", ""
		}
		d := &keys.Delivery{Issuer: f.url, ResourceServer: testRS, IssuedAt: now.Add(-time.Second), Expiry: now.Add(time.Hour),
			Audiences: f.rings, Signed: f.signed}
		var tok string
		var err error
		if f.delivery != nil {
			tok, err = f.delivery(d)
		} else {
			tok, err = keys.SealDelivery(d, f.signing, f.rs)
		}
		must(f.t, err)
		return 200, keys.DeliveryMediaType, tok, etagOf("delivery", fmt.Sprint(f.version), fmt.Sprint(f.delivery != nil))
	case p == "/statuslists":
		agg := statuslist.Aggregation{}
		if !f.noAgg {
			for uri := range f.lists {
				agg.StatusLists = append(agg.StatusLists, uri)
			}
		}
		b := agg.AppendJSON(nil)
		return 200, "application/json", string(b), etagOf(string(b))
	case strings.HasPrefix(p, listPrefix):
		uri := f.url + p
		l := f.lists[uri]
		if l == nil {
			return 404, "", "", ""
		}
		if f.list != nil {
			tok := f.list(uri, l)
			return 200, statuslist.MediaType, tok, etagOf(tok)
		}
		iat := f.listIAT[uri]
		if iat.IsZero() {
			iat = now.Add(-time.Second)
		}
		tok, err := statuslist.Sign(f.signing, &statuslist.Token{Subject: uri, IssuedAt: iat, Expiry: iat.Add(time.Hour), TTL: f.ttl, List: l})
		must(f.t, err)
		return 200, statuslist.MediaType, tok, etagOf(string(l.Bytes()))
	}
	return 404, "", "", ""
}

// revoke sets the status of idx in the list id.
func (f *fakeIssuer) revoke(id string, idx uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	must(f.t, f.lists[f.listURI(id)].Set(idx, statuslist.Invalid))
}

// addList publishes a new, empty list.
func (f *fakeIssuer) addList(id string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	l, err := statuslist.New(1, 1024)
	must(f.t, err)
	uri := f.listURI(id)
	f.lists[uri] = l
	return uri
}

// sealer returns a Sealer of audience's active key (and signing, if sign).
func (f *fakeIssuer) sealer(aud string, sign bool) *crypttoken.Sealer {
	f.mu.Lock()
	set := f.rings[aud]
	sk := f.signing
	f.mu.Unlock()
	var opts []crypttoken.Option
	if sign {
		opts = append(opts, crypttoken.WithSigningRing(keys.NewRing(mustSet(f.t, keys.SigningRing, sk))))
	}
	s, err := crypttoken.NewSealer(keys.NewRing(set), opts...)
	must(f.t, err)
	return s
}

// token returns an access token for aud whose status is idx of list id
// (no status when id is "").
func (f *fakeIssuer) token(aud, id string, idx uint64) string {
	return f.tokenWith(f.sealer(aud, false), aud, id, idx)
}

func (f *fakeIssuer) tokenWith(s *crypttoken.Sealer, aud, id string, idx uint64) string {
	f.t.Helper()
	c := &crypttoken.Claims{Issuer: f.url, Subject: "u-1", Audience: []string{aud}, Expiry: time.Now().Add(5 * time.Minute),
		ClientID: "webapp", Scope: "read"}
	if id != "" {
		c.Status = crypttoken.StatusRef{Index: idx, URI: f.listURI(id)}
	}
	tok, err := s.Seal(crypttoken.TypeAccess, c)
	must(f.t, err)
	return tok
}

// rotate adds a new key to aud's ring, active now, and retires none.
func (f *fakeIssuer) rotate(aud string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ks := append(f.rings[aud].Keys(), f.newAudienceKey(time.Now().Add(-time.Second)))
	f.rings[aud] = mustSet(f.t, aud, ks...)
	f.version++
}

// sealWithType seals d as SealDelivery does, but with the signed JWT's
// "typ" set to typ: built with go-jose, encrypted to the resource
// server's registered key.
func (f *fakeIssuer) sealWithType(d *keys.Delivery, typ string) (string, error) {
	claims, err := keys.DeliveryClaims(d)
	if err != nil {
		return "", err
	}
	signed, err := jws.Sign(f.signing, jws.Protected{Type: typ}, claims)
	if err != nil {
		return "", err
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(f.rs.PublicJWKS(), &set); err != nil {
		return "", err
	}
	k := set.Keys[0]
	enc, err := jose.NewEncrypter(jose.A256GCM, jose.Recipient{Algorithm: jose.ECDH_ES_A256KW, Key: k.Key, KeyID: k.KeyID},
		(&jose.EncrypterOptions{}).WithContentType("JWT"))
	if err != nil {
		return "", err
	}
	obj, err := enc.Encrypt([]byte(signed))
	if err != nil {
		return "", err
	}
	return obj.CompactSerialize()
}

// attackerSigner is a signing key nobody published, under the issuer's
// kid when kid is set.
func attackerSigner(t testing.TB, kid string) jws.Signer {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(t, err)
	s, err := jws.NewSigner(jws.ES256, k, kid)
	must(t, err)
	return s
}

// client returns a Client of f with the test's HTTP client and opts.
func (f *fakeIssuer) client(t testing.TB, opts ...Option) (*Client, error) {
	t.Helper()
	all := append([]Option{WithHTTPClient(f.srv.Client()), WithRequestTimeout(5 * time.Second)}, opts...)
	return New(t.Context(), f.url, testRS, f.rsPrivate, all...)
}

func (f *fakeIssuer) mustClient(t testing.TB, opts ...Option) *Client {
	t.Helper()
	c, err := f.client(t, opts...)
	must(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// errs collects what a Client reports.
type errs struct {
	mu  sync.Mutex
	all []error
}

func (e *errs) add(err error) {
	e.mu.Lock()
	e.all = append(e.all, err)
	e.mu.Unlock()
}

func (e *errs) list() []error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]error(nil), e.all...)
}

// eventually polls cond every 10 ms for up to d.
func eventually(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
