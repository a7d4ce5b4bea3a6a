package e2e

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestResourceServerEndToEnd is SPEC §9 as a deployment lives it, with
// real processes: two issuer replicas on one Redis (keys.store: redis, no
// shared key directory) behind a load balancer, and the README's example
// resource server started with only the issuer URL, its id and its key
// (made by issuer rs new). The audience is signed: the resource server
// learns that from its key delivery and verifies every token's signature.
//
//  1. Under load (tokens from both replicas, each checked at the resource
//     server), three rotations of every ring — the audience ring and the
//     signing ring that signs deliveries and lists — lose no request.
//  2. A token revoked at the issuer is refused within the list's ttl plus
//     one fetch; revoking a refresh token refuses every access token of
//     its family; other tokens are untouched.
//  3. The resource server restarted while both replicas are down still
//     verifies from its cache file: valid tokens pass, revoked ones not.
func TestResourceServerEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Redis, two issuers and a resource server")
	}
	c := startCluster(t)
	// Each replica's status list exists before the resource server starts
	// (it registers at first use), so the resource server loads both at
	// start; a list first seen in a token is exercised by pkg/crypttoken/remote.
	for _, r := range c.replicas {
		tok := c.mustClientToken(r)
		hdr, err := base64.RawURLEncoding.DecodeString(tok[:strings.IndexByte(tok, '.')])
		if err != nil || !strings.Contains(string(hdr), `"cty":"JWT"`) {
			t.Fatalf("replica %s: the signed audience's token is not a nested JWT: %s", r.name, hdr)
		}
	}
	c.startRS()

	t.Run("rotations under load", func(t *testing.T) { c.rotationsUnderLoad(t) })
	t.Run("revocation", func(t *testing.T) { c.revocation(t) })
	t.Run("restart while the issuer is down", func(t *testing.T) { c.restartWhileDown(t) })
}

// kidOf returns the kid of a token's JWE header.
func kidOf(tok string) string {
	i := strings.IndexByte(tok, '.')
	if i < 0 {
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(tok[:i])
	if err != nil {
		return ""
	}
	var h struct {
		Kid string `json:"kid"`
	}
	_ = json.Unmarshal(b, &h)
	return h.Kid
}

func (c *cluster) rotationsUnderLoad(t *testing.T) {
	var (
		ok, failed atomic.Int64
		mu         sync.Mutex
		failures   []string
		kids       = map[string]int{}
		stop       = make(chan struct{})
		wg         sync.WaitGroup
	)
	rsClient := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	defer rsClient.CloseIdleConnections()
	// Bounded twice: by the stop channel once the rotations are done, and
	// by a count no run reaches (a few thousand requests a second).
	const workers, maxIterations = 4, 1_000_000
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < maxIterations; i++ {
				select {
				case <-stop:
					return
				default:
				}
				r := c.replicas[(w+i)%len(c.replicas)]
				tok, err := c.clientToken(r)
				if err == nil {
					var status int
					var body string
					status, body, err = c.callRS(rsClient, tok)
					if err == nil && status != 200 {
						err = fmt.Errorf("resource server answered %d %s", status, strings.TrimSpace(body))
					}
				}
				if err != nil {
					failed.Add(1)
					mu.Lock()
					if len(failures) < 10 {
						failures = append(failures, fmt.Sprintf("%s via %s: %v", time.Now().Format("15:04:05.000"), r.name, err))
					}
					mu.Unlock()
					continue
				}
				ok.Add(1)
				mu.Lock()
				kids[kidOf(tok)]++
				mu.Unlock()
			}
		}()
	}
	// Three rotations of every ring: a new key, pending for the
	// propagation time, then sealing (and signing) on both replicas.
	for i := range 3 {
		time.Sleep(time.Second)
		out := run(t, issuerBin, append([]string{"ISSUER_DATA_DIR=" + c.replicas[0].dir}, c.env...), "keys", "rotate", "--config", c.cfgPath)
		t.Logf("rotation %d: %s", i+1, strings.TrimSpace(out))
		time.Sleep(c.prop + 2*time.Second) // the new key seals from here on
	}
	time.Sleep(time.Second)
	close(stop)
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	t.Logf("%d requests verified, %d failed; access tokens by audience key: %v", ok.Load(), failed.Load(), kids)
	if failed.Load() != 0 {
		t.Fatalf("%d failures, first ones:\n%s", failed.Load(), strings.Join(failures, "\n"))
	}
	if ok.Load() < 100 {
		t.Fatalf("only %d requests in the run", ok.Load())
	}
	if len(kids) < 4 {
		t.Fatalf("tokens were sealed with %d keys of the audience; three rotations make 4", len(kids))
	}
}

// callRSRetrying is callRS as a client that honours 503 and Retry-After
// does it, retrying up to five times.
func (c *cluster) callRSRetrying(t *testing.T, token string) (int, string, error) {
	for i := 0; ; i++ {
		req, err := http.NewRequest("GET", c.rsBase+"/orders", nil)
		must(t, err)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, "", err
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 503 || i == 5 {
			return resp.StatusCode, string(b), nil
		}
		wait, err := strconv.Atoi(resp.Header.Get("Retry-After"))
		if err != nil || wait < 1 || wait > 5 {
			t.Fatalf("503 with Retry-After %q", resp.Header.Get("Retry-After"))
		}
		t.Logf("503 (%s), retrying after %d s", strings.TrimSpace(string(b)), wait)
		time.Sleep(time.Duration(wait) * time.Second)
	}
}

// refusedWithin polls the resource server with token until it answers 401
// revoked, and returns how long that took.
func (c *cluster) refusedWithin(t *testing.T, token string, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		status, body, err := c.callRS(http.DefaultClient, token)
		must(t, err)
		if status == 401 && strings.Contains(body, "revoked") {
			return time.Since(start)
		}
		if status != 200 {
			t.Fatalf("resource server answered %d %s while the token was valid", status, body)
		}
		if time.Since(start) > limit {
			t.Fatalf("revoked token still accepted after %s", limit)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (c *cluster) revocation(t *testing.T) {
	a, b := c.replicas[0], c.replicas[1]
	victim, bystander := c.mustClientToken(a), c.mustClientToken(b)
	// A refresh family: the password grant's tokens, refreshed on the
	// other replica; all its access tokens share one status entry.
	famAccess0, refresh0, err := c.tokens(a, url.Values{"grant_type": {"password"}, "username": {e2eUser}, "password": {c.password}})
	must(t, err)
	famAccess1, refresh1, err := c.tokens(b, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh0}})
	must(t, err)
	for _, tok := range []string{victim, bystander, famAccess0, famAccess1} {
		// The refresh family's tokens are in a list of their own, first
		// seen here: the resource server answers 503 with Retry-After
		// until it has fetched it, as a client that retries learns.
		if status, body, err := c.callRSRetrying(t, tok); err != nil || status != 200 {
			t.Fatalf("before revocation: %d %s %v", status, body, err)
		}
	}
	// One poll of the keys is a second here (the issuer's max-age with a
	// 5 s propagation); a list is fetched every ttl.
	limit := c.listTTL + time.Second + time.Second // + a second of slack for a loaded machine

	c.revoke(b, victim, "access_token") // revoked on the replica that did not issue it
	took := c.refusedWithin(t, victim, 3*limit)
	t.Logf("an access token revoked at the issuer was refused by the resource server after %s (ttl %s)", took.Round(time.Millisecond), c.listTTL)
	if took > limit {
		t.Errorf("refused after %s, more than the list's ttl %s plus a poll", took, c.listTTL)
	}

	c.revoke(a, refresh1, "refresh_token")
	took = c.refusedWithin(t, famAccess0, 3*limit)
	t.Logf("the family of a revoked refresh token was refused after %s", took.Round(time.Millisecond))
	if took > limit {
		t.Errorf("family refused after %s, more than the list's ttl %s plus a poll", took, c.listTTL)
	}
	if status, body, _ := c.callRS(http.DefaultClient, famAccess1); status != 401 || !strings.Contains(body, "revoked") {
		t.Errorf("the family's other access token: %d %s", status, body)
	}
	if status, body, _ := c.callRS(http.DefaultClient, bystander); status != 200 {
		t.Errorf("an unrelated token after the revocations: %d %s", status, body)
	}
	c.revokedTokens = []string{victim, famAccess0, famAccess1}
	c.validTokens = []string{bystander, c.mustClientToken(a), c.mustClientToken(b)}
}

func (c *cluster) restartWhileDown(t *testing.T) {
	if len(c.validTokens) == 0 {
		t.Skip("needs the revocation step")
	}
	cache := c.rsKeyFile + ".cache"
	fi, err := os.Stat(cache)
	must(t, err)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("cache file mode %v, want 0600", fi.Mode().Perm())
	}
	c.rs.kill()
	for _, r := range c.replicas {
		r.kill()
	}
	c.startRS()
	for _, tok := range c.validTokens {
		if status, body, err := c.callRS(http.DefaultClient, tok); err != nil || status != 200 {
			t.Errorf("valid token, from the cache: %d %s %v", status, body, err)
		}
	}
	for _, tok := range c.revokedTokens {
		if status, body, err := c.callRS(http.DefaultClient, tok); err != nil || status != 401 || !strings.Contains(body, "revoked") {
			t.Errorf("revoked token, from the cache: %d %s %v", status, body, err)
		}
	}
	if out := c.rs.out.String(); !strings.Contains(out, "fetch failed") {
		t.Errorf("the resource server did not report that the issuer is unreachable:\n%s", tail(out, 2000))
	}
}
