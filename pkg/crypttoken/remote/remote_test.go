package remote

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sealedtoken/issuer/pkg/crypttoken"
	"github.com/sealedtoken/issuer/pkg/jws"
	"github.com/sealedtoken/issuer/pkg/keys"
	"github.com/sealedtoken/issuer/pkg/statuslist"
)

// TestNewAndOpen: from the issuer URL, the id and the private key alone,
// the Client opens its audiences' tokens and refuses a revoked one; it
// refuses to make an Opener of an audience not delivered to it.
func TestNewAndOpen(t *testing.T) {
	f := newFakeIssuer(t)
	f.revoke("1", 7)
	c := f.mustClient(t)
	if got := c.Audiences(); len(got) != 2 || got[0] != testAudB || got[1] != testAud {
		t.Fatalf("audiences %q", got)
	}
	o, err := c.Opener(testAud)
	must(t, err)
	claims, err := o.Open(f.token(testAud, "1", 6))
	if err != nil || claims.Subject != "u-1" {
		t.Fatalf("valid token: %v", err)
	}
	if _, err := o.Open(f.token(testAud, "1", 7)); !errors.Is(err, crypttoken.ErrRevoked) {
		t.Fatalf("revoked token: %v, want ErrRevoked", err)
	}
	if _, err := o.Open(f.token(testAudB, "1", 6)); !errors.Is(err, crypttoken.ErrUnknownKey) {
		t.Fatalf("token of another audience: %v, want ErrUnknownKey", err)
	}
	if _, err := c.Opener("https://unknown.example.com"); !errors.Is(err, ErrAudience) {
		t.Fatalf("Opener of an undelivered audience: %v", err)
	}
	if h := c.Health(); h.Lists != 1 || h.KeysSynced.IsZero() || h.LastError != nil {
		t.Errorf("health %+v", h)
	}
}

// TestRevocationWithinTTL: a bit set at the issuer after the Client
// started is refused within the list's ttl plus one fetch; the other
// tokens of the list are untouched.
func TestRevocationWithinTTL(t *testing.T) {
	f := newFakeIssuer(t)
	f.ttl = time.Second
	c := f.mustClient(t, WithPollInterval(time.Hour))
	o, err := c.Opener(testAud)
	must(t, err)
	victim, other := f.token(testAud, "1", 40), f.token(testAud, "1", 41)
	if _, err := o.Open(victim); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "no conditional request (If-None-Match) answered 304 while the list did not change", func() bool {
		return f.answered(listPrefix+"1", http.StatusNotModified) > 0
	})
	f.revoke("1", 40)
	start := time.Now()
	eventually(t, 5*time.Second, "revocation not seen", func() bool {
		_, err := o.Open(victim)
		return errors.Is(err, crypttoken.ErrRevoked)
	})
	if took := time.Since(start); took > f.ttl+time.Second {
		t.Errorf("revocation seen after %s, more than ttl %s plus a second", took, f.ttl)
	}
	if _, err := o.Open(other); err != nil {
		t.Errorf("another token of the list: %v", err)
	}
}

// TestRotationFollowed: a key the issuer adds is delivered at the next
// poll and the same Opener opens its tokens; the old key's tokens still
// open. Three rotations.
func TestRotationFollowed(t *testing.T) {
	f := newFakeIssuer(t)
	c := f.mustClient(t, WithPollInterval(50*time.Millisecond))
	o, err := c.Opener(testAud)
	must(t, err)
	var old []string
	for i := range 3 {
		old = append(old, f.token(testAud, "1", uint64(i)))
		f.rotate(testAud)
		fresh := f.token(testAud, "1", 100+uint64(i))
		eventually(t, 5*time.Second, "new key not delivered", func() bool { _, err := o.Open(fresh); return err == nil })
		for _, tok := range old {
			if _, err := o.Open(tok); err != nil {
				t.Fatalf("rotation %d: older token: %v", i, err)
			}
		}
	}
	if n := f.answered("/resource-keys", 200); n != 4 {
		t.Errorf("%d deliveries answered 200, want 4 (the first and one per rotation; the rest 304)", n)
	}
}

// TestRefusedDelivery: a tampered, misaddressed, replayed or expired
// delivery is refused with its typed error, reported, and the keys held
// are kept; without keys held, New fails with the same error.
func TestRefusedDelivery(t *testing.T) {
	other, err := keys.GenerateRecipient(keys.CurveX25519, false)
	must(t, err)
	tests := []struct {
		name    string
		forge   func(f *fakeIssuer, d *keys.Delivery) (string, error)
		want    []error
		rollbak bool
	}{
		{name: "signed by a key the issuer does not publish", want: []error{ErrDelivery, keys.ErrDeliverySignature, jws.ErrSignature},
			forge: func(f *fakeIssuer, d *keys.Delivery) (string, error) {
				return keys.SealDelivery(d, attackerSigner(f.t, f.signing.ID), f.rs)
			}},
		{name: "signed by an unknown kid", want: []error{ErrDelivery, keys.ErrDeliverySignature, jws.ErrUnknownKey},
			forge: func(f *fakeIssuer, d *keys.Delivery) (string, error) {
				return keys.SealDelivery(d, attackerSigner(f.t, "attacker"), f.rs)
			}},
		{name: "RFC 8725 §3.11 a JWT of another type signed by the issuer", want: []error{ErrDelivery, keys.ErrDeliverySignature, jws.ErrType},
			forge: func(f *fakeIssuer, d *keys.Delivery) (string, error) { return f.sealWithType(d, "JWT") }},
		{name: "control: the same construction with the right type is accepted", want: nil,
			forge: func(f *fakeIssuer, d *keys.Delivery) (string, error) { return f.sealWithType(d, keys.DeliveryType) }},
		{name: "another resource server's delivery replayed (encrypted to it)", want: []error{ErrDelivery, keys.ErrDeliveryDecrypt},
			forge: func(f *fakeIssuer, d *keys.Delivery) (string, error) {
				d.ResourceServer = "other-rs"
				return keys.SealDelivery(d, f.signing, other.Public())
			}},
		{name: "another resource server's delivery re-encrypted to this one (sub)", want: []error{ErrDelivery, keys.ErrDeliveryRecipient},
			forge: func(f *fakeIssuer, d *keys.Delivery) (string, error) {
				d.ResourceServer = "other-rs"
				return keys.SealDelivery(d, f.signing, f.rs)
			}},
		{name: "expired", want: []error{ErrDelivery, keys.ErrDeliveryExpired},
			forge: func(f *fakeIssuer, d *keys.Delivery) (string, error) {
				d.IssuedAt, d.Expiry = time.Now().Add(-2*time.Hour), time.Now().Add(-time.Hour)
				return keys.SealDelivery(d, f.signing, f.rs)
			}},
		{name: "from another issuer", want: []error{ErrDelivery, keys.ErrDeliveryClaims, jws.ErrIssuer},
			forge: func(f *fakeIssuer, d *keys.Delivery) (string, error) {
				d.Issuer = "https://evil.example.com"
				return keys.SealDelivery(d, f.signing, f.rs)
			}},
		{name: "an older delivery replayed (rollback)", want: []error{ErrRollback}, rollbak: true,
			forge: func(f *fakeIssuer, d *keys.Delivery) (string, error) {
				d.IssuedAt = time.Now().Add(-10 * time.Minute)
				d.Audiences = map[string]*keys.Set{testAud: mustSet(f.t, testAud)}
				return keys.SealDelivery(d, f.signing, f.rs)
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeIssuer(t)
			var reported errs
			c := f.mustClient(t, WithPollInterval(20*time.Millisecond), WithMaxBackoff(50*time.Millisecond), WithOnError(reported.add))
			o, err := c.Opener(testAud)
			must(t, err)
			victim := f.token(testAud, "1", 1)
			f.mu.Lock()
			f.delivery = func(d *keys.Delivery) (string, error) { return tt.forge(f, d) }
			f.mu.Unlock()
			if tt.want == nil {
				// The control row: a delivery built the same way but
				// right is taken, and nothing is reported.
				before := f.answered("/resource-keys", 200)
				f.mu.Lock()
				f.version++
				f.mu.Unlock()
				eventually(t, 5*time.Second, "the delivery was not fetched again", func() bool {
					return f.answered("/resource-keys", 200) > before
				})
				time.Sleep(100 * time.Millisecond)
				if errs := reported.list(); len(errs) != 0 {
					t.Fatalf("a well-formed delivery was refused: %v", errs)
				}
				if _, err := o.Open(victim); err != nil {
					t.Fatal(err)
				}
				return
			}
			eventually(t, 5*time.Second, "the forged delivery was not reported", func() bool {
				for _, err := range reported.list() {
					if matchesAll(err, tt.want) {
						return true
					}
				}
				return false
			})
			if _, err := o.Open(victim); err != nil {
				t.Fatalf("the keys held were not kept: %v", err)
			}
			if tt.rollbak {
				return // a rollback needs a delivery held to roll back from
			}
			_, err = f.client(t)
			if !matchesAll(err, tt.want) {
				t.Fatalf("New against the forged delivery: %v, want %v", err, tt.want)
			}
		})
	}
}

func matchesAll(err error, want []error) bool {
	if err == nil {
		return false
	}
	for _, w := range want {
		if !errors.Is(err, w) {
			return false
		}
	}
	return true
}

// TestRefusedStatusList: a status list token that is forged, of the wrong
// type, served at another list's URI, expired, older than the copy held,
// or a zip bomb is refused with its typed error and reported; the list
// held is kept, so a revoked token stays revoked.
func TestRefusedStatusList(t *testing.T) {
	tests := []struct {
		name  string
		forge func(f *fakeIssuer, uri string, l *statuslist.List) string
		want  []error
	}{
		{name: "signed by a key the issuer does not publish", want: []error{ErrStatusList, jws.ErrSignature},
			forge: func(f *fakeIssuer, uri string, l *statuslist.List) string {
				return signList(f.t, attackerSigner(f.t, f.signing.ID), uri, time.Now(), emptyList(f.t))
			}},
		{name: "a JWT of another type (RFC 8725 §3.11)", want: []error{ErrStatusList, jws.ErrType},
			forge: func(f *fakeIssuer, uri string, l *statuslist.List) string {
				tok, err := jws.Sign(f.signing, jws.Protected{Type: "JWT"}, []byte(`{"sub":"`+uri+`","iat":`+unix(time.Now())+`,"status_list":{"bits":1,"lst":"eNrbuRgAAhcBXQ"}}`))
				must(f.t, err)
				return tok
			}},
		{name: "another list's token served at this URI (draft §8.3 step 4a)", want: []error{ErrStatusList, statuslist.ErrSubject},
			forge: func(f *fakeIssuer, uri string, l *statuslist.List) string {
				return signList(f.t, f.signing, f.listURI("2"), time.Now(), emptyList(f.t))
			}},
		{name: "expired", want: []error{ErrStatusList, jws.ErrExpired},
			forge: func(f *fakeIssuer, uri string, l *statuslist.List) string {
				tok, err := statuslist.Sign(f.signing, &statuslist.Token{Subject: uri, IssuedAt: time.Now().Add(-2 * time.Hour),
					Expiry: time.Now().Add(-time.Hour), List: emptyList(f.t)})
				must(f.t, err)
				return tok
			}},
		{name: "older than the copy held (rollback un-revokes)", want: []error{ErrRollback},
			forge: func(f *fakeIssuer, uri string, l *statuslist.List) string {
				return signList(f.t, f.signing, uri, time.Now().Add(-time.Hour), emptyList(f.t))
			}},
		{name: "a zip bomb", want: []error{ErrStatusList, statuslist.ErrTooLarge},
			forge: func(f *fakeIssuer, uri string, l *statuslist.List) string {
				big, err := statuslist.New(8, statuslist.DefaultMaxBytes+1)
				must(f.t, err)
				return signList(f.t, f.signing, uri, time.Now(), big)
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeIssuer(t)
			f.ttl = time.Second
			f.revoke("1", 3)
			var reported errs
			c := f.mustClient(t, WithPollInterval(50*time.Millisecond), WithMaxBackoff(100*time.Millisecond), WithOnError(reported.add))
			o, err := c.Opener(testAud)
			must(t, err)
			revoked := f.token(testAud, "1", 3)
			f.mu.Lock()
			f.list = func(uri string, l *statuslist.List) string { return tt.forge(f, uri, l) }
			f.mu.Unlock()
			eventually(t, 5*time.Second, "the forged list was not reported", func() bool {
				for _, err := range reported.list() {
					if matchesAll(err, tt.want) {
						return true
					}
				}
				return false
			})
			if _, err := o.Open(revoked); !errors.Is(err, crypttoken.ErrRevoked) {
				t.Fatalf("the list held was not kept: the revoked token: %v", err)
			}
		})
	}
}

func emptyList(t testing.TB) *statuslist.List {
	l, err := statuslist.New(1, 1024)
	must(t, err)
	return l
}

func signList(t testing.TB, s jws.Signer, uri string, iat time.Time, l *statuslist.List) string {
	t.Helper()
	tok, err := statuslist.Sign(s, &statuslist.Token{Subject: uri, IssuedAt: iat, Expiry: iat.Add(2 * time.Hour), TTL: time.Second, List: l})
	must(t, err)
	return tok
}

func unix(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// TestMissingListFetchedOnce: a token naming a list the Client does not
// hold yet (an issuer replica's new list) is refused as unknown, and
// however many such tokens arrive at once, the list is fetched once; then
// the token opens.
func TestMissingListFetchedOnce(t *testing.T) {
	f := newFakeIssuer(t)
	f.noAgg = true // the list is not announced: only the token names it
	c := f.mustClient(t, WithPollInterval(time.Hour))
	o, err := c.Opener(testAud)
	must(t, err)
	f.addList("new")
	tok := f.token(testAud, "new", 5)
	var wg sync.WaitGroup
	var unknown atomic.Int64
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				if _, err := o.Open(tok); errors.Is(err, crypttoken.ErrStatusUnknown) {
					unknown.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if unknown.Load() == 0 {
		t.Fatal("the token opened before its list was fetched")
	}
	eventually(t, 5*time.Second, "the list never arrived", func() bool { _, err := o.Open(tok); return err == nil })
	if n := f.count(listPrefix + "new"); n != 1 {
		t.Errorf("the new list was fetched %d times, want once", n)
	}
}

// TestMissingForeignList: a token sealed by a holder of the audience key
// can name any URI; the Client fetches only lists of the issuer's origin,
// so the token cannot make it call elsewhere (SSRF), and the token is
// refused.
func TestMissingForeignList(t *testing.T) {
	var hits atomic.Int64
	elsewhere := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer elsewhere.Close()
	f := newFakeIssuer(t)
	c := f.mustClient(t, WithPollInterval(time.Hour))
	o, err := c.Opener(testAud)
	must(t, err)
	s := f.sealer(testAud, false)
	for _, uri := range []string{elsewhere.URL + "/statuslists/1", "http://" + strings.TrimPrefix(f.url, "https://") + "/statuslists/1", "file:///etc/passwd"} {
		tok, err := s.Seal(crypttoken.TypeAccess, &crypttoken.Claims{Issuer: f.url, Audience: []string{testAud},
			Expiry: time.Now().Add(time.Minute), Status: crypttoken.StatusRef{Index: 1, URI: uri}})
		must(t, err)
		for range 3 {
			if _, err := o.Open(tok); !errors.Is(err, crypttoken.ErrStatusUnknown) {
				t.Fatalf("%s: %v, want ErrStatusUnknown", uri, err)
			}
		}
	}
	time.Sleep(200 * time.Millisecond) // give the background goroutine its chance
	if hits.Load() != 0 {
		t.Fatalf("the Client fetched a URI of another origin %d times", hits.Load())
	}
	// The victim's own token still opens.
	if _, err := o.Open(f.token(testAud, "1", 2)); err != nil {
		t.Fatal(err)
	}
}

// TestBackoff: while the issuer fails, the Client retries with growing
// waits instead of at every interval.
func TestBackoff(t *testing.T) {
	for fails, want := range map[int]time.Duration{1: 250 * time.Millisecond, 2: 500 * time.Millisecond, 3: time.Second, 10: 2 * time.Second} {
		for range 20 {
			d := backoff(fails, time.Second, 2*time.Second)
			if d < want/2 || d > want {
				t.Fatalf("backoff(%d) = %s, want within [%s, %s]", fails, d, want/2, want)
			}
		}
	}
	f := newFakeIssuer(t)
	var reported errs
	c := f.mustClient(t, WithPollInterval(20*time.Millisecond), WithMaxBackoff(400*time.Millisecond), WithOnError(reported.add))
	o, err := c.Opener(testAud)
	must(t, err)
	tok := f.token(testAud, "1", 1)
	before := f.count(wellKnown)
	f.down.Store(true)
	time.Sleep(1500 * time.Millisecond)
	polls := f.count(wellKnown) - before
	// Every 20 ms would be 75 polls; with backoff from 5 ms doubling to
	// 400 ms it is about 10.
	if polls > 20 || polls < 2 {
		t.Errorf("%d metadata requests in 1.5 s while the issuer failed", polls)
	}
	if len(reported.list()) == 0 || !errors.Is(c.Health().LastError, ErrFetch) {
		t.Errorf("failures not reported: %v", c.Health().LastError)
	}
	if _, err := o.Open(tok); err != nil {
		t.Fatalf("with the issuer down: %v", err)
	}
	f.down.Store(false)
	eventually(t, 5*time.Second, "no recovery", func() bool { return c.Health().LastError == nil })
}

// TestCache: the cache file is 0600, replaced atomically, holds no key
// in clear; a Client restarted while the issuer is down starts from it
// and still verifies, revocations included.
func TestCache(t *testing.T) {
	f := newFakeIssuer(t)
	f.revoke("1", 9)
	path := filepath.Join(t.TempDir(), "rs-cache.json")
	c := f.mustClient(t, WithCacheFile(path))
	valid, revoked := f.token(testAud, "1", 8), f.token(testAud, "1", 9)
	must(t, c.Close())

	fi, err := os.Stat(path)
	must(t, err)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("cache mode %v, want 0600", fi.Mode().Perm())
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("the cache directory holds %d files (temporary files left?)", len(entries))
	}
	data, err := os.ReadFile(path)
	must(t, err)
	f.mu.Lock()
	for _, k := range f.rings[testAud].Keys() {
		if strings.Contains(string(data), b64(k.Material())) {
			t.Error("the cache holds an audience key in clear")
		}
	}
	f.mu.Unlock()

	f.down.Store(true)
	if _, err := f.client(t); !errors.Is(err, ErrFetch) {
		t.Fatalf("New without cache while the issuer is down: %v, want ErrFetch", err)
	}
	var reported errs
	c2 := f.mustClient(t, WithCacheFile(path), WithOnError(reported.add))
	o, err := c2.Opener(testAud)
	must(t, err)
	if _, err := o.Open(valid); err != nil {
		t.Fatalf("from the cache: %v", err)
	}
	if _, err := o.Open(revoked); !errors.Is(err, crypttoken.ErrRevoked) {
		t.Fatalf("revoked, from the cache: %v", err)
	}
	if len(reported.list()) == 0 || !errors.Is(reported.list()[0], ErrFetch) {
		t.Errorf("the outage was not reported: %v", reported.list())
	}
	f.down.Store(false)
}

// TestCacheRefused: a cache file that was altered, or that others may
// write, is not used.
func TestCacheRefused(t *testing.T) {
	f := newFakeIssuer(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "cache.json")
	must(t, f.mustClient(t, WithCacheFile(path)).Close())
	good, err := os.ReadFile(path)
	must(t, err)
	f.down.Store(true)
	tests := []struct {
		name  string
		write func()
	}{
		{name: "a delivery byte flipped", write: func() {
			doc, err := parseCache(good)
			must(t, err)
			b := []byte(doc.Delivery.Body)
			b[len(b)/2] ^= 1
			if b[len(b)/2] == '.' {
				b[len(b)/2+1] ^= 1
			}
			doc.Delivery.Body = string(b)
			writeDoc(t, path, doc)
		}},
		{name: "a list replaced by another list's token", write: func() {
			doc, err := parseCache(good)
			must(t, err)
			doc.Lists[0].URL = f.listURI("other")
			writeDoc(t, path, doc)
		}},
		{name: "another resource server's cache", write: func() {
			doc, err := parseCache(good)
			must(t, err)
			doc.ResourceServer = "other-rs"
			writeDoc(t, path, doc)
		}},
		{name: "writable by others", write: func() {
			must(t, os.WriteFile(path, good, 0o600))
			must(t, os.Chmod(path, 0o666))
		}},
		{name: "truncated", write: func() { must(t, os.WriteFile(path, good[:len(good)/2], 0o600)) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.write()
			var reported errs
			c, err := f.client(t, WithCacheFile(path), WithOnError(reported.add))
			if tt.name == "a list replaced by another list's token" {
				// The keys are good: the Client starts, without that list.
				must(t, err)
				defer c.Close()
				if c.StatusLists().Len() != 0 {
					t.Error("the misplaced list was loaded")
				}
			} else if err == nil {
				c.Close()
				t.Fatal("New started from a bad cache with the issuer down")
			}
			found := false
			for _, e := range reported.list() {
				found = found || errors.Is(e, ErrCache)
			}
			if !found {
				t.Errorf("ErrCache not reported: %v", reported.list())
			}
		})
	}
}

func writeDoc(t testing.TB, path string, doc *cacheDoc) {
	t.Helper()
	b, err := json.Marshal(doc)
	must(t, err)
	must(t, os.WriteFile(path, b, 0o600))
	must(t, os.Chmod(path, 0o600))
}

// TestSignedAudience: when the delivery says the audience is signed, the
// Opener requires the issuer's signature: a token forged by another holder
// of the audience key is refused, the issuer's opens.
func TestSignedAudience(t *testing.T) {
	f := newFakeIssuer(t)
	f.signed[testAud] = true
	c := f.mustClient(t, WithPollInterval(50*time.Millisecond))
	o, err := c.Opener(testAud)
	must(t, err)
	if _, err := o.Open(f.tokenWith(f.sealer(testAud, true), testAud, "1", 1)); err != nil {
		t.Fatalf("signed token: %v", err)
	}
	forged := f.token(testAud, "1", 1)
	if _, err := o.Open(forged); !errors.Is(err, crypttoken.ErrSignature) {
		t.Fatalf("unsigned forgery: %v, want ErrSignature", err)
	}
	// The issuer stops signing: the next delivery says so, and unsigned
	// tokens open again.
	f.mu.Lock()
	f.signed = map[string]bool{}
	f.version++
	f.mu.Unlock()
	eventually(t, 5*time.Second, "signature still required", func() bool { _, err := o.Open(forged); return err == nil })
}

// TestNewErrors: New refuses bad arguments and an issuer that does not
// fit, with the typed error that says why.
func TestNewErrors(t *testing.T) {
	f := newFakeIssuer(t)
	wrongIssuer := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"issuer":"https://someone.else","jwks_uri":"https://x/j","resource_keys_endpoint":"https://x/k"}`))
	}))
	defer wrongIssuer.Close()
	noKeys := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"issuer":"https://` + r.Host + `","jwks_uri":"https://x/j"}`))
	}))
	defer noKeys.Close()
	ctx := t.Context()
	hc := WithHTTPClient(f.srv.Client())
	tests := []struct {
		name string
		new  func() (*Client, error)
		want error
	}{
		{name: "issuer not https", want: ErrConfig, new: func() (*Client, error) {
			return New(ctx, "http://issuer.example.com", testRS, f.rsPrivate)
		}},
		{name: "issuer with a query", want: ErrConfig, new: func() (*Client, error) {
			return New(ctx, f.url+"?x=1", testRS, f.rsPrivate, hc)
		}},
		{name: "empty id", want: ErrConfig, new: func() (*Client, error) { return New(ctx, f.url, "", f.rsPrivate, hc) }},
		{name: "public key only", want: ErrConfig, new: func() (*Client, error) {
			return New(ctx, f.url, testRS, f.rs.PublicJWKS(), hc)
		}},
		{name: "nil option", want: ErrConfig, new: func() (*Client, error) { return New(ctx, f.url, testRS, f.rsPrivate, nil) }},
		{name: "poll interval too short", want: ErrConfig, new: func() (*Client, error) {
			return New(ctx, f.url, testRS, f.rsPrivate, WithPollInterval(time.Millisecond))
		}},
		{name: "unknown resource server id (404)", want: ErrNotFound, new: func() (*Client, error) {
			return New(ctx, f.url, "nobody", f.rsPrivate, hc)
		}},
		{name: "another resource server's key", want: keys.ErrDeliveryDecrypt, new: func() (*Client, error) {
			other, _ := keys.GenerateRecipient(keys.CurveP256, false)
			priv, _ := other.PrivateJWKS()
			return New(ctx, f.url, testRS, priv, hc)
		}},
		{name: "RFC 8414 §3.3 metadata of another issuer", want: ErrMetadata, new: func() (*Client, error) {
			return New(ctx, wrongIssuer.URL, testRS, f.rsPrivate, WithHTTPClient(wrongIssuer.Client()))
		}},
		{name: "an issuer without key delivery", want: ErrMetadata, new: func() (*Client, error) {
			return New(ctx, noKeys.URL, testRS, f.rsPrivate, WithHTTPClient(noKeys.Client()))
		}},
		{name: "a resource server registered for no audience", want: ErrAudience, new: func() (*Client, error) {
			g := newFakeIssuer(t)
			g.rings = map[string]*keys.Set{}
			return New(ctx, g.url, testRS, g.rsPrivate, WithHTTPClient(g.srv.Client()))
		}},
		{name: "an issuer whose certificate is not trusted", want: ErrFetch, new: func() (*Client, error) {
			return New(ctx, f.url, testRS, f.rsPrivate)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := tt.new()
			if !errors.Is(err, tt.want) || c != nil {
				t.Fatalf("New = %v, %v; want %v", c, err, tt.want)
			}
		})
	}
}

// remoteGoroutines counts the goroutines running this package's code.
func remoteGoroutines() int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	return strings.Count(string(buf), "crypttoken/remote.(*Client)")
}

// TestNoGoroutineLeak: Close, and cancelling New's context, stop every
// goroutine the Client started.
func TestNoGoroutineLeak(t *testing.T) {
	f := newFakeIssuer(t)
	base := remoteGoroutines()
	for i := range 5 {
		c := f.mustClient(t, WithPollInterval(10*time.Millisecond))
		o, err := c.Opener(testAud)
		must(t, err)
		f.addList("leak-" + itoa(int64(i)))
		_, _ = o.Open(f.token(testAud, "leak-"+itoa(int64(i)), 1)) // a Missing fetch in flight
		must(t, c.Close())
		must(t, c.Close()) // idempotent
	}
	for range 3 {
		ctx, cancel := context.WithCancel(t.Context())
		c, err := New(ctx, f.url, testRS, f.rsPrivate, WithHTTPClient(f.srv.Client()), WithPollInterval(10*time.Millisecond))
		must(t, err)
		cancel()
		<-c.done
	}
	eventually(t, 5*time.Second, "goroutines left behind", func() bool { return remoteGoroutines() <= base })
	c := f.mustClient(t)
	must(t, c.Close())
	if _, err := c.Opener(testAud); !errors.Is(err, ErrClosed) {
		t.Fatalf("Opener after Close: %v", err)
	}
}

// TestPollFollowsMaxAge: the issuer's Cache-Control max-age on its keys
// shortens the poll interval (a short key propagation time), never below
// a second; a longer one does not lengthen it.
func TestPollFollowsMaxAge(t *testing.T) {
	for _, tt := range []struct {
		cc   string
		want time.Duration
	}{
		{cc: "public, max-age=2", want: 2 * time.Second},
		{cc: "max-age=0", want: time.Hour},
		{cc: "public, max-age=7200", want: time.Hour},
		{cc: `max-age="3"`, want: 3 * time.Second},
		{cc: "no-store", want: time.Hour},
		{cc: "max-age=x", want: time.Hour},
	} {
		c := &Client{cfg: config{interval: time.Hour}}
		c.maxAge[0] = maxAgeOf(tt.cc)
		if got := c.keysInterval(); got != tt.want {
			t.Errorf("Cache-Control %q: interval %s, want %s", tt.cc, got, tt.want)
		}
	}
	c := &Client{cfg: config{interval: time.Hour}}
	c.maxAge[1] = 100 * time.Millisecond
	if got := c.keysInterval(); got != time.Second {
		t.Errorf("max-age under a second: interval %s, want 1s", got)
	}
}

// TestRolledBack: a document older than the copy held is a rollback only
// beyond the leeway, which absorbs the replicas' clock differences.
func TestRolledBack(t *testing.T) {
	c := &Client{cfg: config{leeway: 30 * time.Second}}
	held := time.Unix(1_700_000_000, 0)
	for _, tt := range []struct {
		iat  time.Time
		want bool
	}{
		{held.Add(time.Second), false},
		{held, false},
		{held.Add(-29 * time.Second), false},
		{held.Add(-31 * time.Second), true},
		{held.Add(-time.Hour), true},
		{time.Time{}, true},
	} {
		if got := c.rolledBack(tt.iat, held); got != tt.want {
			t.Errorf("iat %s against %s: %v, want %v", tt.iat, held, got, tt.want)
		}
	}
	if c.rolledBack(held, time.Time{}) {
		t.Error("the first document is never a rollback")
	}
}

// TestUnlistedListKeptForAWhile: a list the aggregation stops naming is
// kept for a grace period (a replica's aggregation can lag behind a list
// just opened, while tokens already name it), then forgotten.
func TestUnlistedListKeptForAWhile(t *testing.T) {
	defer func(g time.Duration) { unlistedGrace = g }(unlistedGrace)
	unlistedGrace = 500 * time.Millisecond
	f := newFakeIssuer(t)
	f.revoke("1", 2)
	c := f.mustClient(t, WithPollInterval(20*time.Millisecond))
	o, err := c.Opener(testAud)
	must(t, err)
	revoked := f.token(testAud, "1", 2)
	f.mu.Lock()
	f.noAgg = true
	f.mu.Unlock()
	start := time.Now()
	eventually(t, 5*time.Second, "the unlisted list was never forgotten", func() bool { return c.StatusLists().Len() == 0 })
	if held := time.Since(start); held < unlistedGrace {
		t.Errorf("forgotten after %s, within the grace of %s", held, unlistedGrace)
	}
	// The issuer still serves it: a token naming it fetches it again.
	eventually(t, 5*time.Second, "the list was not fetched again", func() bool {
		_, err := o.Open(revoked)
		return errors.Is(err, crypttoken.ErrRevoked)
	})
}
