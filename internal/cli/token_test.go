package cli_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sealedtoken/issuer/internal/config"
	"github.com/sealedtoken/issuer/internal/server"
	"github.com/sealedtoken/issuer/pkg/crypttoken"
	"github.com/sealedtoken/issuer/pkg/keys"
)

func TestTokenInspect(t *testing.T) {
	cfgPath := writeConfig(t, testConfig)
	if code, _, errOut := run("keys", "init", "--config", cfgPath); code != 0 {
		t.Fatal(errOut)
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	kr, err := server.NewKeyRings(cfg, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if err := kr.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	seal := func(ring string, typ crypttoken.Type, c crypttoken.Claims) string {
		r, _ := kr.Ring(ring)
		s, err := crypttoken.NewSealer(r)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := s.Seal(typ, &c)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	now := time.Now()
	access := seal("https://billing.test", crypttoken.TypeAccess, crypttoken.Claims{
		Issuer: cfg.Issuer, Subject: "backend", Audience: []string{"https://billing.test"}, ClientID: "backend",
		Scope: "read", IssuedAt: now, Expiry: now.Add(time.Minute)})
	refresh := seal(keys.InternalRing, crypttoken.TypeRefresh, crypttoken.Claims{
		Issuer: cfg.Issuer, Subject: "u-1", Audience: []string{cfg.Issuer}, ClientID: "backend",
		IssuedAt: now, Expiry: now.Add(time.Hour), FamilyID: "fam1", Generation: 2})
	expired := seal("https://api.test", crypttoken.TypeAccess, crypttoken.Claims{
		Issuer: cfg.Issuer, Subject: "backend", Audience: []string{"https://api.test"},
		IssuedAt: now.Add(-2 * time.Hour), Expiry: now.Add(-time.Hour)})
	jwks := filepath.Join(t.TempDir(), "billing.jwks")
	if code, _, errOut := run("keys", "export", "--config", cfgPath, "--audience", "https://billing.test", "--out", jwks); code != 0 {
		t.Fatal(errOut)
	}

	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantRing   string
		wantClaims map[string]any
		wantErr    string
	}{
		{name: "access token with the configuration", args: []string{"--config", cfgPath, access}, wantRing: "https://billing.test",
			wantClaims: map[string]any{"sub": "backend", "aud": "https://billing.test", "scope": "read", "client_id": "backend"}},
		{name: "refresh token opens with the internal ring", args: []string{"--config", cfgPath, refresh}, wantRing: "internal",
			wantClaims: map[string]any{"sub": "u-1", "fid": "fam1", "gen": float64(2)}},
		{name: "access token with an exported JWK Set", args: []string{"--ring", jwks, access}, wantRing: "jwks",
			wantClaims: map[string]any{"sub": "backend"}},
		{name: "token of another audience does not open with a JWK Set", args: []string{"--ring", jwks, expired}, wantCode: 1, wantErr: "crypttoken: unknown or expired key"},
		{name: "expired token", args: []string{"--config", cfgPath, expired}, wantCode: 1, wantErr: "crypttoken: token expired"},
		{name: "garbage", args: []string{"--config", cfgPath, "not-a-token"}, wantCode: 1, wantErr: "crypttoken: malformed token"},
		{name: "tampered token", args: []string{"--config", cfgPath, access[:len(access)-3] + "AAA"}, wantCode: 1, wantErr: "crypttoken:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := run(append([]string{"token", "inspect"}, tt.args...)...)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d: %s %s", code, tt.wantCode, out, errOut)
			}
			if tt.wantCode != 0 {
				if !strings.Contains(errOut, tt.wantErr) {
					t.Fatalf("stderr %q lacks %q", errOut, tt.wantErr)
				}
				return
			}
			var got struct {
				Ring   string
				Header map[string]any
				Claims map[string]any
				Times  map[string]string
			}
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("output is not JSON: %v\n%s", err, out)
			}
			// Each time claim is also shown in RFC 3339, the same instant.
			for _, k := range []string{"exp", "iat"} {
				secs, _ := got.Claims[k].(float64)
				at, err := time.Parse(time.RFC3339, strings.Fields(got.Times[k] + " ")[0])
				if err != nil || at.Unix() != int64(secs) {
					t.Errorf("times.%s = %q for %s = %v: %v", k, got.Times[k], k, got.Claims[k], err)
				}
			}
			if !strings.Contains(got.Times["exp"], "(in ") || !(strings.Contains(got.Times["iat"], " ago)") || strings.Contains(got.Times["iat"], "(now)")) {
				t.Errorf("times do not say how far from now they are: %v", got.Times)
			}
			if got.Ring != tt.wantRing || got.Header["alg"] != "A256KW" || got.Header["kid"] == nil {
				t.Fatalf("ring %q header %v", got.Ring, got.Header)
			}
			for k, v := range tt.wantClaims {
				if got.Claims[k] != v {
					t.Errorf("claim %s = %v, want %v", k, got.Claims[k], v)
				}
			}
			if strings.Contains(out, access) || strings.Contains(out, refresh) {
				t.Error("inspect echoed the token")
			}
		})
	}
}
