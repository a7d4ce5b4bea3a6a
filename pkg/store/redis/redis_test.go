package redis

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/sealedtoken/issuer/pkg/store"
	"github.com/sealedtoken/issuer/pkg/store/redis/redistest"
	"github.com/sealedtoken/issuer/pkg/store/storetest"
)

// TestMain silences go-redis's own logger, which reports failed dials on
// stderr during the outage tests.
func TestMain(m *testing.M) {
	goredis.SetLogger(quiet{})
	os.Exit(m.Run())
}

type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

func newStore(t testing.TB, url string, opts ...Option) *Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := New(ctx, url, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// raw returns a plain go-redis client to inspect the server.
func raw(t testing.TB, url string) *goredis.Client {
	t.Helper()
	o, err := goredis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	c := goredis.NewClient(o)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestConformance(t *testing.T) {
	srv := redistest.Start(t)
	storetest.Run(t, func(t *testing.T) store.Store { return newStore(t, srv.URL) })
}

// TestConformancePrefix runs the suite again under a hash-tagged prefix,
// the form a Redis Cluster deployment would pin to one slot.
func TestConformancePrefix(t *testing.T) {
	srv := redistest.Start(t)
	storetest.Run(t, func(t *testing.T) store.Store {
		return newStore(t, srv.URL, WithPrefix("{tenant-a}:"))
	})
}

// TestReplicasShareState is SPEC §7 at the store level: two stores (two
// replicas) on one server see each other's writes, also under races.
func TestReplicasShareState(t *testing.T) {
	srv := redistest.Start(t)
	a, b := newStore(t, srv.URL), newStore(t, srv.URL)
	ctx := t.Context()
	exp := time.Now().Add(time.Minute)

	if err := a.RedeemCode(ctx, "code-1", exp); err != nil {
		t.Fatal(err)
	}
	if err := b.RedeemCode(ctx, "code-1", exp); !errors.Is(err, store.ErrCodeReused) {
		t.Fatalf("code redeemed on a, then on b: %v, want ErrCodeReused", err)
	}
	if err := a.RotateRefresh(ctx, "fam-1", 0, exp); err != nil {
		t.Fatal(err)
	}
	if err := b.RotateRefresh(ctx, "fam-1", 0, exp); !errors.Is(err, store.ErrRefreshReused) {
		t.Fatalf("generation 0 on b after rotation on a: %v, want ErrRefreshReused", err)
	}
	if ok, err := a.FamilyRevoked(ctx, "fam-1"); !ok || err != nil {
		t.Fatalf("family revoked on a after reuse on b: %v, %v", ok, err)
	}
	if err := b.RotateRefresh(ctx, "fam-2", 0, exp); err != nil {
		t.Fatal(err)
	}
	if g, revoked, err := a.RefreshState(ctx, "fam-2"); g != 1 || revoked || err != nil {
		t.Fatalf("state on a after rotation on b: %d, %v, %v; want 1, false, nil", g, revoked, err)
	}

	// Many codes, each redeemed at once on both replicas: one winner each.
	const codes = 200
	var wins atomic.Int64
	var wg sync.WaitGroup
	for i := range codes {
		for _, s := range []*Store{a, b} {
			wg.Go(func() {
				switch err := s.RedeemCode(ctx, fmt.Sprint("race-", i), exp); {
				case err == nil:
					wins.Add(1)
				case !errors.Is(err, store.ErrCodeReused):
					t.Errorf("code %d: %v", i, err)
				}
			})
		}
	}
	wg.Wait()
	if n := wins.Load(); n != codes {
		t.Fatalf("%d successful redemptions of %d codes, want exactly one each", n, codes)
	}
}

// TestKeysNamespacedAndExpiring checks every key the store writes carries
// the prefix and a TTL, and that the TTL matches exp.
func TestKeysNamespacedAndExpiring(t *testing.T) {
	srv := redistest.Start(t)
	for _, tc := range []struct {
		name, prefix string
	}{
		{"default prefix", DefaultPrefix},
		{"custom prefix", "acme-issuer/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := raw(t, srv.URL)
			ctx := t.Context()
			if err := c.FlushAll(ctx).Err(); err != nil {
				t.Fatal(err)
			}
			var opts []Option
			if tc.prefix != DefaultPrefix {
				opts = append(opts, WithPrefix(tc.prefix))
			}
			s := newStore(t, srv.URL, opts...)
			exp := time.Now().Add(time.Hour)
			for _, st := range []struct {
				name string
				err  error
				want error
			}{
				{"redeem", s.RedeemCode(ctx, "c", exp), nil},
				{"rotate", s.RotateRefresh(ctx, "f", 0, exp), nil},
				{"revoke family", s.RevokeFamily(ctx, "g", exp), nil},
				{"revoke token", s.RevokeToken(ctx, "t", exp), nil},
				{"rotate h", s.RotateRefresh(ctx, "h", 0, exp), nil},
				{"reuse h", s.RotateRefresh(ctx, "h", 0, exp), store.ErrRefreshReused},
				{"use once", s.UseOnce(ctx, "dpop", "j", exp), nil},
				{"put record", s.PutRecord(ctx, "par", "r", []byte("v"), exp), nil},
				{"add status list", s.AddStatusList(ctx, "l1", exp), nil},
				{"set status", s.SetStatus(ctx, "l1", 7, exp), nil},
			} {
				if !errors.Is(st.err, st.want) || (st.want == nil) != (st.err == nil) {
					t.Fatalf("%s: %v, want %v", st.name, st.err, st.want)
				}
			}
			if ok, err := s.AcquireLease(ctx, "l", "me", time.Hour); !ok || err != nil {
				t.Fatalf("lease: %v, %v", ok, err)
			}
			keys, err := c.Keys(ctx, "*").Result()
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]bool{
				tc.prefix + "code:c": true, tc.prefix + "fam:{f}": true, tc.prefix + "famrev:{g}": true,
				tc.prefix + "tok:t": true, tc.prefix + "fam:{h}": true, tc.prefix + "famrev:{h}": true,
				tc.prefix + "lease:l": true, tc.prefix + "once:4:dpop:j": true, tc.prefix + "rec:3:par:r": true,
				tc.prefix + "statuslists": true, tc.prefix + "st:{l1}": true, tc.prefix + "stexp:{l1}": true,
			}
			if len(keys) != len(want) {
				t.Fatalf("keys %q, want %d keys", keys, len(want))
			}
			for _, k := range keys {
				if !want[k] {
					t.Errorf("unexpected key %q", k)
				}
				ttl, err := c.PTTL(ctx, k).Result()
				if err != nil {
					t.Fatal(err)
				}
				if ttl <= 59*time.Minute || ttl > time.Hour+time.Second {
					t.Errorf("key %q has TTL %v, want about an hour", k, ttl)
				}
			}
		})
	}
}

func TestUnixMilli(t *testing.T) {
	base := time.UnixMilli(1_767_225_600_000)
	for _, tc := range []struct {
		name string
		exp  time.Time
		want string
	}{
		{"whole millisecond", base, "1767225600000"},
		{"rounds up a nanosecond", base.Add(time.Nanosecond), "1767225600001"},
		{"rounds up almost a millisecond", base.Add(time.Millisecond - 1), "1767225600001"},
		{"epoch is clamped to 1", time.Unix(0, 0), "1"},
		{"zero time is clamped to 1", time.Time{}, "1"},
		{"before 1970 is clamped to 1", time.Date(1969, 1, 1, 0, 0, 0, 0, time.UTC), "1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := unixMilli(tc.exp); got != tc.want {
				t.Fatalf("unixMilli = %s, want %s", got, tc.want)
			}
		})
	}
}

// TestPastExp checks an exp already past stores nothing, as documented in
// package store, and never errs.
func TestPastExp(t *testing.T) {
	srv := redistest.Start(t)
	s := newStore(t, srv.URL)
	ctx := t.Context()
	for _, exp := range []time.Time{{}, time.Unix(1, 0), time.Now().Add(-time.Second)} {
		if err := s.RedeemCode(ctx, "c", exp); err != nil {
			t.Fatalf("RedeemCode(%v): %v", exp, err)
		}
		if err := s.RotateRefresh(ctx, "f", 0, exp); err != nil {
			t.Fatalf("RotateRefresh(%v): %v", exp, err)
		}
		if err := s.RevokeToken(ctx, "t", exp); err != nil {
			t.Fatalf("RevokeToken(%v): %v", exp, err)
		}
		if err := s.RevokeFamily(ctx, "g", exp); err != nil {
			t.Fatalf("RevokeFamily(%v): %v", exp, err)
		}
	}
	// Redis may keep a key set with a past PXAT until it reclaims it, but
	// no command sees it; KEYS skips expired keys.
	if keys, err := raw(t, srv.URL).Keys(ctx, "*").Result(); len(keys) != 0 || err != nil {
		t.Fatalf("KEYS = %q, %v; want nothing stored", keys, err)
	}
}

// TestGenerationPrecision checks generations beyond 2^53, which Lua's
// doubles cannot hold, are compared and advanced exactly.
func TestGenerationPrecision(t *testing.T) {
	srv := redistest.Start(t)
	s, c := newStore(t, srv.URL), raw(t, srv.URL)
	ctx := t.Context()
	exp := time.Now().Add(time.Hour)
	const gen = 1<<60 + 1
	if err := c.Set(ctx, DefaultPrefix+"fam:{f}", strconv.FormatUint(gen, 10)+":"+unixMilli(exp), time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.RotateRefresh(ctx, "f", gen-1, exp); !errors.Is(err, store.ErrRefreshReused) {
		t.Fatalf("generation 2^60: %v, want ErrRefreshReused", err)
	}
	if err := c.Del(ctx, DefaultPrefix+"famrev:{f}").Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.RotateRefresh(ctx, "f", gen, exp); err != nil {
		t.Fatalf("generation 2^60+1: %v", err)
	}
	rec, err := c.Get(ctx, DefaultPrefix+"fam:{f}").Result()
	if err != nil {
		t.Fatal(err)
	}
	if want := strconv.FormatUint(gen+1, 10) + ":"; !strings.HasPrefix(rec, want) {
		t.Fatalf("record %q, want generation %s", rec, want)
	}
	if g, revoked, err := s.RefreshState(ctx, "f"); g != gen+1 || revoked || err != nil {
		t.Fatalf("RefreshState = %d, %v, %v; want %d, false, nil", g, revoked, err, uint64(gen+1))
	}
}

// TestMalformedStatus checks a status-list member the store did not write
// fails closed, and that the error repeats nothing of it.
func TestMalformedStatus(t *testing.T) {
	srv := redistest.Start(t)
	s, c := newStore(t, srv.URL), raw(t, srv.URL)
	ctx := t.Context()
	for i, m := range []string{"garbage", "-1", "4294967296", "1.5"} {
		list := "l" + strconv.Itoa(i)
		if err := c.SAdd(ctx, DefaultPrefix+"st:{"+list+"}", "3", m).Err(); err != nil {
			t.Fatal(err)
		}
		idx, err := s.StatusIndexes(ctx, list)
		if !errors.Is(err, store.ErrUnavailable) || idx != nil {
			t.Fatalf("StatusIndexes over member %q: %v, %v; want nil, ErrUnavailable", m, idx, err)
		}
		if strings.Contains(err.Error(), m) {
			t.Fatalf("StatusIndexes error %q repeats the member", err)
		}
	}
}

// TestMalformedRecord checks a record the store did not write fails closed.
func TestMalformedRecord(t *testing.T) {
	srv := redistest.Start(t)
	s, c := newStore(t, srv.URL), raw(t, srv.URL)
	ctx := t.Context()
	if err := c.Set(ctx, DefaultPrefix+"fam:{f}", "garbage", time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.RotateRefresh(ctx, "f", 0, time.Now().Add(time.Hour)); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("rotation over a malformed record: %v, want ErrUnavailable", err)
	}
	for _, rec := range []string{"garbage", "01:5", "1:", ":5", "-1:5", "18446744073709551616:5"} {
		if err := c.Set(ctx, DefaultPrefix+"fam:{g}", rec, time.Hour).Err(); err != nil {
			t.Fatal(err)
		}
		if g, _, err := s.RefreshState(ctx, "g"); !errors.Is(err, store.ErrUnavailable) || g != 0 {
			t.Fatalf("RefreshState over record %q: %d, %v; want 0, ErrUnavailable", rec, g, err)
		} else if strings.Contains(err.Error(), rec) {
			t.Fatalf("RefreshState error %q repeats the record", err)
		}
	}
	if err := c.HSet(ctx, DefaultPrefix+"code:x", "a", "b").Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.RedeemCode(ctx, "x", time.Now().Add(time.Hour)); !errors.Is(err, store.ErrCodeReused) {
		// SET NX fails on any existing key, whatever its type.
		t.Fatalf("code over a foreign key: %v, want ErrCodeReused", err)
	}
}

// TestScriptCacheFlush checks the scripts survive SCRIPT FLUSH (as after a
// server restart): EVALSHA falls back to EVAL.
func TestScriptCacheFlush(t *testing.T) {
	srv := redistest.Start(t)
	s := newStore(t, srv.URL)
	ctx := t.Context()
	if err := raw(t, srv.URL).ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	exp := time.Now().Add(time.Hour)
	if err := s.RotateRefresh(ctx, "f", 0, exp); err != nil {
		t.Fatalf("rotation after SCRIPT FLUSH: %v", err)
	}
	if err := s.RevokeToken(ctx, "t", exp); err != nil {
		t.Fatalf("revocation after SCRIPT FLUSH: %v", err)
	}
	if ok, err := s.AcquireLease(ctx, "l", "a", time.Minute); !ok || err != nil {
		t.Fatalf("lease after SCRIPT FLUSH: %v, %v", ok, err)
	}
}

func TestNewURL(t *testing.T) {
	srv := redistest.Start(t)
	const secret = "s3cr3t-pa55"
	ctx := t.Context()
	for _, tc := range []struct {
		name string
		url  string
		want error
	}{
		{"bad port", "redis://:" + secret + "@127.0.0.1:notaport/0", ErrURL},
		{"control character", "redis://:" + secret + "@127.0.0.1/0\x7f", ErrURL},
		{"http scheme", "http://:" + secret + "@127.0.0.1:6379/0", ErrURL},
		{"unix scheme", "unix:///tmp/redis.sock", ErrURL},
		{"no scheme", "127.0.0.1:6379", ErrURL},
		{"empty", "", ErrURL},
		{"no host", "redis:///0", ErrURL},
		{"bad database", "redis://:" + secret + "@127.0.0.1:6379/zero", ErrURL},
		{"two path parts", "redis://127.0.0.1:6379/0/1", ErrURL},
		{"bad query option", "redis://:" + secret + "@127.0.0.1:6379/0?dial_timeout=soon", ErrURL},
		{"unknown query option", "redis://127.0.0.1:6379/0?colour=blue", ErrURL},
		{"fragment", "redis://127.0.0.1:6379/0#x", ErrURL},
		{"nothing listening", "redis://:" + secret + "@127.0.0.1:1/0", store.ErrUnavailable},
		{"valid", srv.URL, nil},
		{"valid with db and options", "redis://" + srv.Addr + "/3?read_timeout=2s&pool_size=4", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(ctx, tc.url)
			if s != nil {
				defer s.Close()
			}
			if tc.want == nil {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("New: error %v, want %v", err, tc.want)
			}
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("error %q repeats the password", err)
			}
		})
	}
}

func TestNewOptions(t *testing.T) {
	srv := redistest.Start(t)
	for _, tc := range []struct {
		name string
		opt  Option
		want error
	}{
		{"nil option", nil, nil},
		{"prefix", WithPrefix("x:"), nil},
		{"empty prefix", WithPrefix(""), store.ErrInvalidArgument},
		{"timeout", WithTimeout(time.Second), nil},
		{"zero timeout", WithTimeout(0), store.ErrInvalidArgument},
		{"pool size", WithPoolSize(2), nil},
		{"zero pool size", WithPoolSize(0), store.ErrInvalidArgument},
		{"nil TLS config", WithTLSConfig(nil), store.ErrInvalidArgument},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(t.Context(), srv.URL, tc.opt)
			if s != nil {
				defer s.Close()
			}
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("New: error %v, want %v", err, tc.want)
			}
		})
	}
}

// TestDatabase checks the URL's database number is used.
func TestDatabase(t *testing.T) {
	srv := redistest.Start(t)
	s := newStore(t, "redis://"+srv.Addr+"/5")
	ctx := t.Context()
	if err := s.RedeemCode(ctx, "c", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	for db, want := range map[int]int64{0: 0, 5: 1} {
		n, err := raw(t, "redis://"+srv.Addr+"/"+strconv.Itoa(db)).Exists(ctx, DefaultPrefix+"code:c").Result()
		if err != nil || n != want {
			t.Fatalf("EXISTS in db %d = %d, %v; want %d", db, n, err, want)
		}
	}
}

// TestPassword checks authentication and that a wrong password is an
// error that never repeats it.
func TestPassword(t *testing.T) {
	const pw = "correct-horse-battery"
	srv := redistest.Start(t, "--requirepass", pw)
	ctx := t.Context()
	for _, tc := range []struct {
		name, url string
		ok        bool
	}{
		{"right password", "redis://:" + pw + "@" + srv.Addr + "/0", true},
		{"right password, default user", "redis://default:" + pw + "@" + srv.Addr + "/0", true},
		{"wrong password", "redis://:wrong-" + pw + "@" + srv.Addr + "/0", false},
		{"no password", "redis://" + srv.Addr + "/0", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(ctx, tc.url)
			if tc.ok {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				defer s.Close()
				if err := s.RedeemCode(ctx, "c-"+tc.name, time.Now().Add(time.Minute)); err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				s.Close()
				t.Fatal("New succeeded")
			}
			if !errors.Is(err, store.ErrUnavailable) {
				t.Fatalf("New: %v, want ErrUnavailable", err)
			}
			if strings.Contains(err.Error(), pw) {
				t.Fatalf("error %q repeats the password", err)
			}
		})
	}
}

func TestEvictionPolicy(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want error
	}{
		{"no maxmemory", nil, nil},
		{"maxmemory with noeviction", []string{"--maxmemory", "64mb", "--maxmemory-policy", "noeviction"}, nil},
		{"maxmemory with allkeys-lru", []string{"--maxmemory", "64mb", "--maxmemory-policy", "allkeys-lru"}, ErrEvictionPolicy},
		{"maxmemory with volatile-ttl", []string{"--maxmemory", "64mb", "--maxmemory-policy", "volatile-ttl"}, ErrEvictionPolicy},
		{"policy without maxmemory", []string{"--maxmemory-policy", "allkeys-lru"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := redistest.Start(t, tc.args...)
			s, err := New(t.Context(), srv.URL)
			if s != nil {
				defer s.Close()
			}
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("New: error %v, want %v", err, tc.want)
			}
		})
	}
}

// TestTLS connects with rediss:// to a TLS-only port, trusting a test CA.
func TestTLS(t *testing.T) {
	dir := t.TempDir()
	caPool, certFile, keyFile, caFile := makeCerts(t, dir)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tlsPort := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	_ = l.Close()
	redistest.Start(t, "--tls-port", tlsPort, "--tls-cert-file", certFile, "--tls-key-file", keyFile,
		"--tls-ca-cert-file", caFile, "--tls-auth-clients", "no")
	url := "rediss://127.0.0.1:" + tlsPort + "/0"
	ctx := t.Context()

	t.Run("trusted CA", func(t *testing.T) {
		s := newStore(t, url, WithTLSConfig(&tls.Config{RootCAs: caPool, MinVersion: tls.VersionTLS12}))
		if err := s.RedeemCode(ctx, "c", time.Now().Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := s.RedeemCode(ctx, "c", time.Now().Add(time.Minute)); !errors.Is(err, store.ErrCodeReused) {
			t.Fatalf("second redemption over TLS: %v", err)
		}
	})
	t.Run("unknown CA", func(t *testing.T) {
		s, err := New(ctx, url, WithTimeout(2*time.Second))
		if err == nil {
			s.Close()
			t.Fatal("New trusted a certificate from an unknown CA")
		}
		var uae x509.UnknownAuthorityError
		if !errors.Is(err, store.ErrUnavailable) || !errors.As(err, &uae) {
			t.Fatalf("New: %v, want ErrUnavailable caused by an unknown authority", err)
		}
	})
	t.Run("plain redis to TLS port", func(t *testing.T) {
		s, err := New(ctx, "redis://127.0.0.1:"+tlsPort+"/0", WithTimeout(500*time.Millisecond))
		if err == nil {
			s.Close()
			t.Fatal("New spoke plain text to a TLS port")
		}
		if !errors.Is(err, store.ErrUnavailable) {
			t.Fatalf("New: %v, want ErrUnavailable", err)
		}
	})
}

// makeCerts writes a CA and a server certificate for 127.0.0.1.
func makeCerts(t *testing.T, dir string) (pool *x509.CertPool, certFile, keyFile, caFile string) {
	t.Helper()
	newKey := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	caKey, srvKey := newKey(), newKey()
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "redistest CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	srvTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:    x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, ca, &srvKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(srvKey)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pool = x509.NewCertPool()
	pool.AddCert(ca)
	return pool, write("server.pem", "CERTIFICATE", srvDER), write("server-key.pem", "EC PRIVATE KEY", keyDER),
		write("ca.pem", "CERTIFICATE", caDER)
}

// call is one store method with arguments that touch existing state.
type call struct {
	name string
	do   func(ctx context.Context, s *Store) error
}

func allCalls(exp time.Time) []call {
	return []call{
		{"RedeemCode", func(ctx context.Context, s *Store) error { return s.RedeemCode(ctx, "outage-code", exp) }},
		{"RotateRefresh", func(ctx context.Context, s *Store) error { return s.RotateRefresh(ctx, "outage-fam", 0, exp) }},
		{"RevokeFamily", func(ctx context.Context, s *Store) error { return s.RevokeFamily(ctx, "outage-rev", exp) }},
		{"FamilyRevoked", func(ctx context.Context, s *Store) error { _, err := s.FamilyRevoked(ctx, "f"); return err }},
		{"RefreshState", func(ctx context.Context, s *Store) error { _, _, err := s.RefreshState(ctx, "f"); return err }},
		{"RevokeToken", func(ctx context.Context, s *Store) error { return s.RevokeToken(ctx, "outage-jti", exp) }},
		{"TokenRevoked", func(ctx context.Context, s *Store) error { _, err := s.TokenRevoked(ctx, "t"); return err }},
		{"Ping", func(ctx context.Context, s *Store) error { return s.Ping(ctx) }},
		{"AcquireLease", func(ctx context.Context, s *Store) error {
			_, err := s.AcquireLease(ctx, "outage-lease", "a", time.Minute)
			return err
		}},
		{"ReleaseLease", func(ctx context.Context, s *Store) error { return s.ReleaseLease(ctx, "outage-lease", "a") }},
	}
}

// expectUnavailable runs every method at once and checks each fails with
// store.ErrUnavailable within limit.
func expectUnavailable(t *testing.T, s *Store, limit time.Duration) {
	t.Helper()
	var wg sync.WaitGroup
	for _, c := range allCalls(time.Now().Add(time.Minute)) {
		wg.Go(func() {
			start := time.Now()
			err := c.do(context.Background(), s)
			took := time.Since(start)
			if !errors.Is(err, store.ErrUnavailable) {
				t.Errorf("%s during the outage: %v, want ErrUnavailable", c.name, err)
			}
			if took > limit {
				t.Errorf("%s took %v to fail, limit %v", c.name, took, limit)
			}
		})
	}
	wg.Wait()
}

const faultTimeout = 300 * time.Millisecond

// TestFaultPause stalls the server (SIGSTOP): every method fails with
// store.ErrUnavailable within the timeout; after SIGCONT the store works
// again, and a code redeemed before the outage is still refused. A
// redemption that timed out during the outage may have been applied when
// the server resumed, and is then refused: the store fails closed.
func TestFaultPause(t *testing.T) {
	srv := redistest.Start(t)
	s := newStore(t, srv.URL, WithTimeout(faultTimeout))
	ctx := t.Context()
	exp := time.Now().Add(time.Minute)
	if err := s.RedeemCode(ctx, "before", exp); err != nil {
		t.Fatal(err)
	}
	if err := s.RotateRefresh(ctx, "fam", 0, exp); err != nil {
		t.Fatal(err)
	}

	srv.Pause()
	expectUnavailable(t, s, 3*faultTimeout)
	// A caller's shorter deadline wins over the timeout.
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	start := time.Now()
	err := s.RedeemCode(short, "deadline", exp)
	cancel()
	if !errors.Is(err, store.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("redemption with a 50ms deadline: %v, want ErrUnavailable and context.DeadlineExceeded", err)
	}
	if took := time.Since(start); took > faultTimeout {
		t.Errorf("redemption with a 50ms deadline took %v", took)
	}
	srv.Resume()

	waitUp(t, s)
	if err := s.RedeemCode(ctx, "before", exp); !errors.Is(err, store.ErrCodeReused) {
		t.Fatalf("code redeemed before the outage: %v, want ErrCodeReused", err)
	}
	if err := s.RotateRefresh(ctx, "fam", 0, exp); !errors.Is(err, store.ErrRefreshReused) {
		t.Fatalf("generation superseded before the outage: %v, want ErrRefreshReused", err)
	}
	if err := s.RedeemCode(ctx, "outage-code", exp); err != nil && !errors.Is(err, store.ErrCodeReused) {
		t.Fatalf("code whose redemption timed out: %v", err)
	}
	if err := s.RedeemCode(ctx, "after", exp); err != nil {
		t.Fatalf("new code after the outage: %v", err)
	}
	if err := s.RedeemCode(ctx, "after", exp); !errors.Is(err, store.ErrCodeReused) {
		t.Fatalf("code redeemed after the outage: %v, want ErrCodeReused", err)
	}
}

// TestFaultStop kills the server: every method fails with
// store.ErrUnavailable within the timeout. A new server on the same
// address (a restart without persistence, so empty) is used again without
// a new Store.
func TestFaultStop(t *testing.T) {
	srv := redistest.Start(t)
	s := newStore(t, srv.URL, WithTimeout(faultTimeout))
	ctx := t.Context()
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	expectUnavailable(t, s, 3*faultTimeout)
	srv.Restart()
	waitUp(t, s)
	exp := time.Now().Add(time.Minute)
	if err := s.RedeemCode(ctx, "after-restart", exp); err != nil {
		t.Fatalf("redemption after restart: %v", err)
	}
	if err := s.RedeemCode(ctx, "after-restart", exp); !errors.Is(err, store.ErrCodeReused) {
		t.Fatalf("second redemption after restart: %v", err)
	}
}

// waitUp waits for the store to answer again; connections broken by the
// outage are replaced on use.
func waitUp(t *testing.T, s *Store) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := s.Ping(t.Context())
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("store not back after the outage: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestCloseThenUse(t *testing.T) {
	srv := redistest.Start(t)
	ctx := t.Context()
	s, err := New(ctx, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, c := range allCalls(time.Now().Add(time.Minute)) {
		if err := c.do(ctx, s); !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("%s after Close: %v, want ErrUnavailable", c.name, err)
		}
	}
}

func TestCancelledContext(t *testing.T) {
	srv := redistest.Start(t)
	s := newStore(t, srv.URL)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	for _, c := range allCalls(time.Now().Add(time.Minute)) {
		err := c.do(ctx, s)
		if !errors.Is(err, store.ErrUnavailable) || !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a cancelled ctx: %v, want ErrUnavailable and context.Canceled", c.name, err)
		}
	}
	if n, err := raw(t, srv.URL).DBSize(t.Context()).Result(); n != 0 || err != nil {
		t.Fatalf("DBSIZE = %d, %v; a cancelled call wrote", n, err)
	}
}

// BenchmarkRedeemCode redeems fresh codes from parallel goroutines against
// a local redis-server: one SET NX PXAT round trip each.
func BenchmarkRedeemCode(b *testing.B) {
	srv := redistest.Start(b)
	s := newStore(b, srv.URL)
	ctx := context.Background()
	exp := time.Now().Add(time.Minute)
	var n atomic.Uint64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		var buf []byte
		for pb.Next() {
			buf = fmt.Appendf(buf[:0], "code-%d", n.Add(1))
			if err := s.RedeemCode(ctx, string(buf), exp); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkRotateRefresh runs the rotation script, one family per
// goroutine.
func BenchmarkRotateRefresh(b *testing.B) {
	srv := redistest.Start(b)
	s := newStore(b, srv.URL)
	ctx := context.Background()
	exp := time.Now().Add(time.Hour)
	var n atomic.Uint64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		fid := fmt.Sprint("fam-", n.Add(1))
		var gen uint64
		for pb.Next() {
			if err := s.RotateRefresh(ctx, fid, gen, exp); err != nil {
				b.Error(err)
				return
			}
			gen++
		}
	})
}
