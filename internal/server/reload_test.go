package server_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sealedtoken/issuer/internal/config"
	"github.com/sealedtoken/issuer/pkg/secret"
)

// reloadable returns a deep enough copy of cfg for a test to change its
// live sections and settings without touching the running one.
func reloadable(cfg *config.Config) *config.Config {
	c := *cfg
	c.Clients = slices.Clone(cfg.Clients)
	c.Users = slices.Clone(cfg.Users)
	c.Audiences = slices.Clone(cfg.Audiences)
	return &c
}

func postAs(t *testing.T, c *http.Client, u, id, sec string, form url.Values) (int, string) {
	t.Helper()
	r, _ := http.NewRequest("POST", u, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(sec))))
	resp, err := c.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp.StatusCode, b.String()
}

// logLine returns the last JSON log line whose message is msg.
func logLine(t *testing.T, log *syncBuf, msg string) map[string]any {
	t.Helper()
	text, _ := log.snapshot()
	var found map[string]any
	for _, l := range nonEmptyLines(text) {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["message"] == msg {
			found = m
		}
	}
	return found
}

// TestReload drives App.Reload (what SIGHUP calls) case by case against
// a running issuer: what it applies, what it refuses, and what it keeps.
func TestReload(t *testing.T) {
	d := startDevApp(t, "")
	start := d.app.Current()
	const newSecret = "a-new-client-secret-0123456789abcdef"
	newClient := config.Client{ID: "added", SecretHash: config.Hash(secret.NewSHA256(newSecret)),
		GrantTypes: []string{config.GrantClientCredentials}, Scopes: []string{"read"}, DefaultScopes: []string{"read"}}
	cc := url.Values{"grant_type": {"client_credentials"}}

	t.Run("a client added to the file gets tokens", func(t *testing.T) {
		if code, _ := postAs(t, d.client, d.base+"/token", "added", newSecret, cc); code != 401 {
			t.Fatalf("before the reload: %d, want 401", code)
		}
		next := reloadable(start)
		next.Clients = append(next.Clients, newClient)
		if err := d.app.Reload(context.Background(), func() (*config.Config, error) { return next, nil }); err != nil {
			t.Fatal(err)
		}
		if code, body := postAs(t, d.client, d.base+"/token", "added", newSecret, cc); code != 200 {
			t.Fatalf("after the reload: %d %s", code, body)
		}
		if code, body := post(t, d.client, d.base+"/token", cc, true); code != 200 {
			t.Fatalf("the demo client after the reload: %d %s", code, body)
		}
		m := logLine(t, d.log, "configuration reloaded")
		if m == nil || !strings.Contains(jsonOf(m["clients"]), `"added":["added"]`) {
			t.Fatalf("no reload line naming the added client: %v", m)
		}
	})

	t.Run("a file that does not validate changes nothing, and the log names the key", func(t *testing.T) {
		bad := errors.Join(&config.Error{Path: "clients[2].grant_types[0]", Msg: `unknown grant type "implicit"`, Kind: config.ErrInvalid})
		err := d.app.Reload(context.Background(), func() (*config.Config, error) { return nil, bad })
		if !errors.Is(err, config.ErrInvalid) {
			t.Fatalf("Reload = %v, want the load error", err)
		}
		if code, body := postAs(t, d.client, d.base+"/token", "added", newSecret, cc); code != 200 {
			t.Fatalf("the running clients stop working after a failed reload: %d %s", code, body)
		}
		m := logLine(t, d.log, "configuration reload failed: the file does not load; still serving the running configuration")
		if m == nil || m["level"] != "error" || !strings.Contains(jsonOf(m["errors"]), "clients[2].grant_types[0]") {
			t.Fatalf("the failed reload is not logged with the offending key: %v", m)
		}
	})

	t.Run("new sections that contradict the running settings are refused", func(t *testing.T) {
		next := reloadable(d.app.Current())
		c := newClient
		c.ID, c.Audiences = "stray", []string{"https://not-an-audience.example"}
		next.Clients = append(next.Clients, c)
		if err := d.app.Reload(context.Background(), func() (*config.Config, error) { return next, nil }); !errors.Is(err, config.ErrInvalid) {
			t.Fatalf("Reload = %v, want ErrInvalid", err)
		}
		if code, _ := postAs(t, d.client, d.base+"/token", "stray", newSecret, cc); code != 401 {
			t.Fatalf("the refused client got %d", code)
		}
	})

	t.Run("settings that cannot change live are named and kept", func(t *testing.T) {
		next := reloadable(d.app.Current())
		next.Listen = "127.0.0.1:1"
		next.Tokens.AccessTTL = time.Minute
		next.Store = "redis://:hunter2@127.0.0.1:6379/0"
		if err := d.app.Reload(context.Background(), func() (*config.Config, error) { return next, nil }); err != nil {
			t.Fatal(err)
		}
		m := logLine(t, d.log, "configuration reload: these settings cannot change while serving and keep their running values; restart to apply them")
		if m == nil || jsonOf(m["keys"]) != `["listen","tokens","store"]` {
			t.Fatalf("the kept settings are not named: %v", m)
		}
		text, _ := d.log.snapshot()
		if strings.Contains(text, "hunter2") {
			t.Fatal("the log holds the store password")
		}
		if got := d.app.Current(); got.Listen != start.Listen || got.Tokens != start.Tokens || got.Store != start.Store {
			t.Fatalf("a frozen setting changed: listen %s, tokens %+v, store %s", got.Listen, got.Tokens, got.Store)
		}
		if code, body := post(t, d.client, d.base+"/token", cc, true); code != 200 || !strings.Contains(body, `"expires_in":600`) {
			t.Fatalf("the token lifetime changed live: %d %s", code, body)
		}
	})

	t.Run("an audience added gets its ring and serves its clients", func(t *testing.T) {
		const aud = "https://reports.example.com"
		next := reloadable(d.app.Current())
		next.Audiences = append(next.Audiences, config.Audience{Name: aud})
		c := newClient
		c.ID, c.Audiences = "reporter", []string{aud}
		next.Clients = append(next.Clients, c)
		if err := d.app.Reload(context.Background(), func() (*config.Config, error) { return next, nil }); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(d.app.Keys.Path(aud)); err != nil {
			t.Fatalf("no ring file for the new audience: %v", err)
		}
		code, body := postAs(t, d.client, d.base+"/token", "reporter", newSecret, url.Values{"grant_type": {"client_credentials"}, "resource": {aud}})
		if code != 200 {
			t.Fatalf("token for the new audience: %d %s", code, body)
		}
		_, metrics := get(t, d.client, d.base+"/metrics")
		if !strings.Contains(metrics, `issuer_key_ring_keys{ring="`+aud+`",state="active"} 1`) {
			t.Error("the new ring is not in the metrics")
		}
	})

	t.Run("a user added signs in (password grant)", func(t *testing.T) {
		const pw = "a-new-users-password-0123"
		h, err := secret.NewBcrypt(pw, 10)
		if err != nil {
			t.Fatal(err)
		}
		next := reloadable(d.app.Current())
		next.Users = append(next.Users, config.User{Username: "newbie", ID: "u-new", PasswordHash: config.Hash(h)})
		c := newClient
		c.ID, c.GrantTypes = "pw-client", []string{config.GrantPassword}
		next.Clients = append(next.Clients, c)
		form := url.Values{"grant_type": {"password"}, "username": {"newbie"}, "password": {pw}}
		if err := d.app.Reload(context.Background(), func() (*config.Config, error) { return next, nil }); err != nil {
			t.Fatal(err)
		}
		code, body := postAs(t, d.client, d.base+"/token", "pw-client", newSecret, form)
		if code != 200 || !strings.Contains(body, "access_token") {
			t.Fatalf("password grant of the user added: %d %s", code, body)
		}
		if m := logLine(t, d.log, "configuration reloaded"); !strings.Contains(jsonOf(m["users"]), `"added":["newbie"]`) {
			t.Fatalf("the user added is not logged: %v", m)
		}
		text, _ := d.log.snapshot()
		if strings.Contains(text, h) || strings.Contains(text, pw) {
			t.Fatal("the log holds the password or its hash")
		}
	})

	t.Run("a client removed is refused", func(t *testing.T) {
		next := reloadable(d.app.Current())
		next.Clients = slices.DeleteFunc(next.Clients, func(c config.Client) bool { return c.ID == "added" })
		if err := d.app.Reload(context.Background(), func() (*config.Config, error) { return next, nil }); err != nil {
			t.Fatal(err)
		}
		if code, _ := postAs(t, d.client, d.base+"/token", "added", newSecret, cc); code != 401 {
			t.Fatalf("a removed client got %d, want 401", code)
		}
		if m := logLine(t, d.log, "configuration reloaded"); !strings.Contains(jsonOf(m["clients"]), `"removed":["added"]`) {
			t.Fatalf("the removal is not logged: %v", m)
		}
	})

	_, metrics := get(t, d.client, d.base+"/metrics")
	for _, want := range []string{`issuer_config_reloads_total{result="ok"} 5`, `issuer_config_reloads_total{result="failed"} 2`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// TestReloadUnderLoad: reloads while clients hammer the token endpoint
// lose no request: every one is answered 200.
func TestReloadUnderLoad(t *testing.T) {
	d := startDevApp(t, "")
	start := d.app.Current()
	var ok, failed atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; n < 2000; n++ {
				select {
				case <-stop:
					return
				default:
				}
				r, _ := http.NewRequest("POST", d.base+"/token", strings.NewReader("grant_type=client_credentials"))
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				r.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("demo:"+testSecret)))
				resp, err := d.client.Do(r)
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				resp.Body.Close()
				if resp.StatusCode != 200 {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, resp.Status)
					continue
				}
				ok.Add(1)
			}
		}()
	}
	for i := 0; i < 20; i++ {
		next := reloadable(start)
		next.Clients = append(next.Clients, config.Client{ID: "c" + string(rune('a'+i)), SecretHash: config.Hash(secret.NewSHA256("x")),
			GrantTypes: []string{config.GrantClientCredentials}})
		if err := d.app.Reload(context.Background(), func() (*config.Config, error) { return next, nil }); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if failed.Load() != 0 || ok.Load() == 0 {
		t.Fatalf("%d requests failed (first: %v), %d succeeded across 20 reloads", failed.Load(), firstErr.Load(), ok.Load())
	}
	t.Logf("%d token requests, all answered 200, across 20 reloads", ok.Load())
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
