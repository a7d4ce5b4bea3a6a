package server_test

import (
	"context"
	"encoding/base64"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/sealedtoken/issuer/internal/config"
	"github.com/sealedtoken/issuer/internal/server"
	"github.com/sealedtoken/issuer/pkg/crypttoken"
	"github.com/sealedtoken/issuer/pkg/store"
	"github.com/sealedtoken/issuer/pkg/store/file"
	"github.com/sealedtoken/issuer/pkg/store/memory"
)

// TestFileStoreIsTheDefault (SPEC §7, issue 8 part 1): a configuration that
// names no store gets the file store under data_dir, a 0600 file in a 0700
// directory; what one App acknowledged the next App on the same data_dir
// still refuses; and memory is not silently chosen.
func TestFileStoreIsTheDefault(t *testing.T) {
	cfg := devConfig(t, "127.0.0.1:8443", "")
	if !cfg.Store.IsFile() || cfg.StorePath != filepath.Join(cfg.DataDir, config.DefaultStorePath) {
		t.Fatalf("default store %s at %s, want file at %s", cfg.Store, cfg.StorePath, filepath.Join(cfg.DataDir, config.DefaultStorePath))
	}
	log := &syncBuf{}
	app, err := server.Build(context.Background(), cfg, server.Options{Log: zerolog.New(log)})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := app.Store.(*file.Store); !ok {
		t.Fatalf("store is %T, want *file.Store", app.Store)
	}
	for p, want := range map[string]os.FileMode{cfg.StorePath: 0o600, filepath.Dir(cfg.StorePath): 0o700} {
		fi, err := os.Stat(p)
		if err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v (%v), want %04o", p, fi.Mode().Perm(), err, want)
		}
	}
	ctx, exp := context.Background(), time.Now().Add(time.Hour)
	if err := app.Store.RedeemCode(ctx, "code-1", exp); err != nil {
		t.Fatal(err)
	}
	if err := app.Store.RevokeToken(ctx, "jti-1", exp); err != nil {
		t.Fatal(err)
	}
	if got, _ := log.snapshot(); strings.Contains(got, "forgets") || !strings.Contains(got, "file store opened") {
		t.Errorf("log of a file-store start:\n%s", got)
	}
	if err := app.Close(); err != nil {
		t.Fatal(err)
	}

	app, err = server.Build(context.Background(), cfg, server.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	if err := app.Store.RedeemCode(ctx, "code-1", exp); !errors.Is(err, store.ErrCodeReused) {
		t.Fatalf("code redeemed before the restart: %v, want ErrCodeReused", err)
	}
	if r, err := app.Store.TokenRevoked(ctx, "jti-1"); !r || err != nil {
		t.Fatalf("token revoked before the restart: %v %v", r, err)
	}
	if err := app.Ready(ctx); err != nil {
		t.Fatalf("Ready with the file store: %v", err)
	}
}

// TestFileStoreOneProcess: a second issuer on the same data_dir stops at
// start with an error naming the file, instead of sharing it.
func TestFileStoreOneProcess(t *testing.T) {
	cfg := devConfig(t, "127.0.0.1:8443", "")
	app, err := server.Build(context.Background(), cfg, server.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	_, err = server.Build(context.Background(), cfg, server.Options{})
	if !errors.Is(err, file.ErrLocked) || !strings.Contains(err.Error(), cfg.StorePath) {
		t.Fatalf("second Build on one data_dir: %v, want file.ErrLocked naming %s", err, cfg.StorePath)
	}
}

// TestFileStoreCorruptStopsStart: a damaged store file stops the start
// with an error naming it, and is left as it was.
func TestFileStoreCorruptStopsStart(t *testing.T) {
	cfg := devConfig(t, "127.0.0.1:8443", "")
	if err := os.MkdirAll(filepath.Dir(cfg.StorePath), 0o700); err != nil {
		t.Fatal(err)
	}
	junk := []byte(strings.Repeat("not a store ", 1000))
	if err := os.WriteFile(cfg.StorePath, junk, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := server.Build(context.Background(), cfg, server.Options{})
	if !errors.Is(err, file.ErrCorrupt) || !strings.Contains(err.Error(), cfg.StorePath) {
		t.Fatalf("Build over a damaged store: %v, want file.ErrCorrupt naming %s", err, cfg.StorePath)
	}
	if b, _ := os.ReadFile(cfg.StorePath); string(b) != string(junk) {
		t.Fatal("the damaged file was changed")
	}
}

// TestMemoryStoreWarns (SPEC §7): store: memory logs at start that it
// forgets everything on restart.
func TestMemoryStoreWarns(t *testing.T) {
	cfg := devConfig(t, "127.0.0.1:8443", "memory")
	log := &syncBuf{}
	app, err := server.Build(context.Background(), cfg, server.Options{Log: zerolog.New(log)})
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	got, _ := log.snapshot()
	if !strings.Contains(got, `"level":"warn"`) || !strings.Contains(got, "forgets every redeemed code") {
		t.Fatalf("no warning for store: memory in the log:\n%s", got)
	}
	if _, err := os.Stat(cfg.StorePath); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("store: memory created %s (%v)", cfg.StorePath, err)
	}
}

// TestReplayRevocationLandsInFullStore is issue 8 part 3, attacked as
// reported: with limits.memory_store_entries 1000, an authenticated
// client's own revocations fill the refresh-family table until the store
// refuses it (503). The victim's code is then replayed (stolen and used by
// the attacker after the victim redeemed it): the revocation of the
// victim's grant must still land (RFC 6749 §4.1.2), and the replay is
// answered invalid_grant, not 503.
func TestReplayRevocationLandsInFullStore(t *testing.T) {
	cfg, err := config.Parse([]byte(loginYAML(t.TempDir(), "")), "login.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Limits.MemoryStoreEntries = 1000
	app, err := server.Build(context.Background(), cfg, server.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	ring, _ := app.Keys.Ring(loginAudience)
	op, err := crypttoken.NewOpener(ring, crypttoken.Expected{Issuer: loginIssuer, Audience: loginAudience})
	if err != nil {
		t.Fatal(err)
	}
	a := &loginApp{app: app, log: &syncBuf{}, opener: op}

	// The victim signs in and redeems a code.
	q := url.Values{"response_type": {"code"}, "client_id": {"first"}, "state": {"s"},
		"code_challenge": {"WuYLu9dZlvpRi1QPQ7SjbNzFXP1u16cDzk9P91Y-c8M"}, "code_challenge_method": {"S256"}}
	code := codeOf(t, a.get(q, map[string]string{"X-Remote-User": "alice"})).Get("code")
	victim := a.exchange(t, "first", firstSecret, code, url.Values{"code_verifier": {verifier}})
	if victim.FamilyID == "" {
		t.Fatal("the victim's access token carries no family")
	}

	// The attacker fills the family table with its own revocations, as
	// /revoke of its refresh tokens writes them.
	ctx, exp := context.Background(), time.Now().Add(time.Hour)
	n := 0
	for ; n < 2000; n++ {
		err := app.Store.RevokeFamily(ctx, "attacker-family-"+strconv.Itoa(n), exp)
		if errors.Is(err, memory.ErrFull) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if n == 2000 {
		t.Fatal("the family table never filled")
	}

	// The attacker replays the victim's code.
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {verifier}}
	resp := do(app.Handler.ServeFastHTTP, req{method: "POST", uri: "/token", body: form.Encode(), header: map[string]string{
		"Content-Type":      "application/x-www-form-urlencoded",
		"Authorization":     "Basic " + base64.StdEncoding.EncodeToString([]byte("first:"+firstSecret)),
		"X-Forwarded-Proto": "https",
	}})
	if resp.StatusCode() != 400 || !strings.Contains(string(resp.Body()), `"invalid_grant"`) {
		t.Fatalf("replay into a full store: %d %s, want 400 invalid_grant", resp.StatusCode(), resp.Body())
	}
	if r, err := app.Store.FamilyRevoked(ctx, victim.FamilyID); !r || err != nil {
		t.Fatalf("the replayed code's grant is not revoked: %v %v", r, err)
	}
	// The attacker's own writes are still refused.
	if err := app.Store.RevokeFamily(ctx, "attacker-family-more", exp); !errors.Is(err, memory.ErrFull) {
		t.Fatalf("attacker write after the replay: %v, want ErrFull", err)
	}
}
