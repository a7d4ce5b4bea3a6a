package endpoint_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/require"

	"github.com/sealedtoken/issuer/pkg/crypttoken"
	"github.com/sealedtoken/issuer/pkg/endpoint"
	"github.com/sealedtoken/issuer/pkg/jws"
	"github.com/sealedtoken/issuer/pkg/secret"
	"github.com/sealedtoken/issuer/pkg/statuslist"
	"github.com/sealedtoken/issuer/pkg/store"
	"github.com/sealedtoken/issuer/pkg/store/memory"
)

// registering is a store that records the lists registered, so a test can
// check that an index is handed out only from a registered list.
type registering struct {
	store.Store
	mu    sync.Mutex
	lists map[string]time.Time
	adds  int
}

func (s *registering) AddStatusList(ctx context.Context, list string, exp time.Time) error {
	if err := s.Store.AddStatusList(ctx, list, exp); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.adds++
	if s.lists == nil {
		s.lists = map[string]time.Time{}
	}
	if exp.After(s.lists[list]) {
		s.lists[list] = exp
	}
	return nil
}

func (s *registering) registered(list string) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, ok := s.lists[list]
	return exp, ok
}

func newRegistering(t testing.TB) *registering {
	mem, err := memory.New(memory.WithSweepInterval(0))
	require.NoError(t, err)
	t.Cleanup(func() { _ = mem.Close() })
	return &registering{Store: mem}
}

// TestStatusAllocatorUnique hammers one allocator from many goroutines
// across epoch changes — lists of 16 entries fill every few calls, and the
// clock moves past their period — and two allocators (two replicas) on
// one store: every (list, index) pair handed out is unique, within the
// list's size, from a list registered before it was handed out, and
// registered until the token's end (eudiplo#910 is the bug class).
func TestStatusAllocatorUnique(t *testing.T) {
	st := newRegistering(t)
	const prefix = "https://issuer.example.com/statuslists/"
	var allocs []*endpoint.LocalStatusAllocator
	for range 2 {
		a, err := endpoint.NewStatusAllocator(st, prefix, endpoint.WithStatusListSize(4), endpoint.WithStatusListPeriod(time.Minute))
		require.NoError(t, err)
		allocs = append(allocs, a)
	}
	require.NotEqual(t, allocs[0].Incarnation(), allocs[1].Incarnation())
	const workers, perWorker = 16, 400
	type got struct {
		ref   crypttoken.StatusRef
		until time.Time
	}
	results := make(chan got, workers*perWorker)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := allocs[w%2]
			for i := range perWorker {
				// The clock walks forward 10 s per call: every list's
				// one-minute period ends while others still fill up.
				now := base.Add(time.Duration(i) * 10 * time.Second)
				aud, life := "https://api.example.com", 10*time.Minute
				if i%3 == 0 {
					aud, life = "https://other.example.com", 30*24*time.Hour
				}
				ref, err := a.Allocate(context.Background(), aud, now, now.Add(life))
				if err != nil {
					errs <- err
					return
				}
				id := strings.TrimPrefix(ref.URI, prefix)
				exp, ok := st.registered(id)
				switch {
				case !ok:
					errs <- fmt.Errorf("index %d of %s handed out before the list was registered", ref.Index, id)
					return
				case exp.Before(now.Add(life)):
					errs <- fmt.Errorf("list %s registered until %s, a token indexed in it lives until %s", id, exp, now.Add(life))
					return
				}
				results <- got{ref, now.Add(life)}
			}
		}()
	}
	wg.Wait()
	close(results)
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	seen := map[crypttoken.StatusRef]bool{}
	lists := map[string]bool{}
	for r := range results {
		require.False(t, seen[r.ref], "(list, index) %v handed out twice", r.ref)
		seen[r.ref] = true
		id, ok := endpoint.ParseStatusListID(strings.TrimPrefix(r.ref.URI, prefix))
		require.True(t, ok, r.ref.URI)
		require.Less(t, r.ref.Index, id.Size(), "index beyond the list")
		lists[r.ref.URI] = true
	}
	require.Len(t, seen, workers*perWorker)
	require.Greater(t, len(lists), 2*workers*perWorker/16, "epochs changed: full lists were retired")
	t.Logf("%d indexes from %d lists, %d registrations", len(seen), len(lists), st.adds)
}

// TestStatusListID reads list ids, one rule per row.
func TestStatusListID(t *testing.T) {
	good := endpoint.StatusListID{Incarnation: "qX3k9sB2Lw1cZ0Ta", Epoch: 4, AudienceTag: endpoint.AudienceTag(apiAud), SizeLog2: 20}
	tests := []struct {
		name string
		id   string
		ok   bool
	}{
		{name: "SPEC §9: incarnation, epoch, audience tag, size", id: good.String(), ok: true},
		{name: "SPEC §9: size below 2^4", id: "qX3k9sB2Lw1cZ0Ta.4.Hq0Zs1eA.3"},
		{name: "SPEC §9: size above 2^24", id: "qX3k9sB2Lw1cZ0Ta.4.Hq0Zs1eA.25"},
		{name: "SPEC §9: epoch with a leading zero", id: "qX3k9sB2Lw1cZ0Ta.04.Hq0Zs1eA.20"},
		{name: "SPEC §9: short incarnation", id: "qX3k9sB2Lw1cZ0T.4.Hq0Zs1eA.20"},
		{name: "SPEC §9: incarnation not base64url", id: "qX3k9sB2Lw1cZ0T/.4.Hq0Zs1eA.20"},
		{name: "SPEC §9: a path segment more", id: good.String() + ".1"},
		{name: "RFC 3986 §3.3: dot segments", id: ".."},
		{name: "empty", id: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := endpoint.ParseStatusListID(tt.id)
			require.Equal(t, tt.ok, ok)
			if ok {
				require.Equal(t, good, got)
				require.Equal(t, uint64(1<<20), got.Size())
			}
		})
	}
}

// TestStatusAllocatorLifetimes checks the life of the lists: a class per
// audience and lifetime, registered for the period plus the lifetime, a
// period no longer than a short lifetime, and Keep extending a list for a
// refreshed family with one store write per day.
func TestStatusAllocatorLifetimes(t *testing.T) {
	st := newRegistering(t)
	a, err := endpoint.NewStatusAllocator(st, statusPrefix)
	require.NoError(t, err)
	ctx := context.Background()
	short, err := a.Allocate(ctx, apiAud, t0, t0.Add(accessTTL+leeway))
	require.NoError(t, err)
	long, err := a.Allocate(ctx, apiAud, t0, t0.Add(refreshTTL+leeway))
	require.NoError(t, err)
	other, err := a.Allocate(ctx, otherAud, t0, t0.Add(accessTTL+leeway))
	require.NoError(t, err)
	next, err := a.Allocate(ctx, apiAud, t0.Add(time.Second), t0.Add(time.Second+accessTTL+leeway))
	require.NoError(t, err)
	require.Equal(t, short.URI, next.URI, "one list per class")
	require.Equal(t, short.Index+1, next.Index)
	require.NotEqual(t, short.URI, long.URI, "short- and long-lived tokens do not share lists")
	require.NotEqual(t, short.URI, other.URI, "audiences do not share lists")
	id := func(r crypttoken.StatusRef) endpoint.StatusListID {
		got, ok := endpoint.ParseStatusListID(strings.TrimPrefix(r.URI, statusPrefix))
		require.True(t, ok)
		return got
	}
	require.Equal(t, endpoint.AudienceTag(apiAud), id(short).AudienceTag)
	require.Equal(t, endpoint.AudienceTag(otherAud), id(other).AudienceTag)
	require.Equal(t, uint8(endpoint.DefaultStatusListSizeLog2), id(short).SizeLog2)
	exp := func(r crypttoken.StatusRef) time.Time {
		e, ok := st.registered(strings.TrimPrefix(r.URI, statusPrefix))
		require.True(t, ok)
		return e
	}
	// 10m30s rounds up to 11 minutes; the period is that lifetime.
	require.Equal(t, t0.Add(22*time.Minute), exp(short), "a short list lives its period plus the lifetime")
	require.Equal(t, t0.Add(24*time.Hour+refreshTTL+time.Minute), exp(long), "a long list's period is a day")
	// After its period the short list retires: the next index is another list's.
	later, err := a.Allocate(ctx, apiAud, t0.Add(11*time.Minute), t0.Add(11*time.Minute+accessTTL+leeway))
	require.NoError(t, err)
	require.NotEqual(t, short.URI, later.URI, "a list retires after its period")
	// A family refreshed near its list's end keeps the list registered.
	adds := st.adds
	refreshAt := t0.Add(20 * 24 * time.Hour)
	require.NoError(t, a.Keep(ctx, long, refreshAt, refreshAt.Add(refreshTTL+leeway)))
	require.False(t, exp(long).Before(refreshAt.Add(refreshTTL+leeway)))
	require.Equal(t, adds+1, st.adds)
	for i := range 100 {
		at := refreshAt.Add(time.Duration(i) * time.Minute)
		require.NoError(t, a.Keep(ctx, long, at, at.Add(refreshTTL+leeway)))
	}
	require.Equal(t, adds+1, st.adds, "refreshes within the margin write nothing")
	require.NoError(t, a.Keep(ctx, crypttoken.StatusRef{URI: "https://elsewhere.example/statuslists/x", Index: 1}, t0, t0.Add(time.Hour)))
	require.Equal(t, adds+1, st.adds, "another issuer's list is not ours to keep")
}

// TestStatusClaim checks the status entry of every kind of grant (draft
// §6.1, §6.2; SPEC §9): a uri of this issuer's lists with an idx, one entry
// per grant, shared by every token of a refresh family.
func TestStatusClaim(t *testing.T) {
	f := newStatusFixture(t)
	// client_credentials: an entry per token.
	a, b := f.backendToken(), f.backendToken()
	ra, rb := f.statusOf(t, apiAud, a), f.statusOf(t, apiAud, b)
	require.True(t, strings.HasPrefix(ra.URI, statusPrefix), "draft §6.2: uri is %s<id>, got %s", statusPrefix, ra.URI)
	require.NotEqual(t, ra, rb, "SPEC §9: client_credentials tokens have their own entries")

	// authorization_code: the code carries the grant's entry; the access
	// token, the refresh token and every refreshed token repeat it.
	code := f.authorizeCode(t, "webapp")
	toks := mustTokens(t, f.exchangeCode(code, "webapp", webappSecret))
	family := f.statusOf(t, apiAud, toks.Access)
	rt, err := f.openRefresh(toks.Refresh)
	require.NoError(t, err)
	require.Equal(t, family, rt.Status, "the refresh token carries the grant's entry")
	refreshed := mustTokens(t, f.token(form("grant_type", "refresh_token", "refresh_token", toks.Refresh), basic("webapp", webappSecret)))
	require.Equal(t, family, f.statusOf(t, apiAud, refreshed.Access), "a refreshed access token repeats the entry")
	rt2, err := f.openRefresh(refreshed.Refresh)
	require.NoError(t, err)
	require.Equal(t, family, rt2.Status)
	require.NotEqual(t, family.URI, ra.URI, "a family's list is not the client_credentials tokens'")

	// password with refresh: a family entry; without: the token's own.
	pw := mustTokens(t, f.token(form("grant_type", "password", "username", userName, "password", userPass), basic("webapp", webappSecret)))
	prt, err := f.openRefresh(pw.Refresh)
	require.NoError(t, err)
	require.Equal(t, f.statusOf(t, apiAud, pw.Access), prt.Status)
	p1 := mustTokens(t, f.token(form("grant_type", "password", "username", userName, "password", userPass), basic("pwonly", backendSecret)))
	p2 := mustTokens(t, f.token(form("grant_type", "password", "username", userName, "password", userPass), basic("pwonly", backendSecret)))
	require.Empty(t, p1.Refresh)
	require.NotEqual(t, f.statusOf(t, apiAud, p1.Access), f.statusOf(t, apiAud, p2.Access))
	// Two classes of lists per audience, whatever the grant type: tokens
	// without refresh tokens, and grants with them.
	require.Equal(t, ra.URI, f.statusOf(t, apiAud, p1.Access).URI, "client_credentials and password tokens share lists")
	require.Equal(t, family.URI, prt.Status.URI, "code and password grants with refresh tokens share lists")

	// implicit: an entry of its own.
	q := url.Values{"response_type": {"token"}, "client_id": {"implicit"}, "redirect_uri": {spaRedirect}, "state": {"s"}}
	resp, _ := f.srv.HandleAuthorize(context.Background(),
		&endpoint.Request{Method: "GET", URI: "/authorize?" + q.Encode(), Secure: true, Header: endpoint.Headers{}},
		endpoint.ResourceOwnerFunc(func(context.Context, *endpoint.Request, *endpoint.AuthorizeRequest) (endpoint.Decision, error) {
			return endpoint.Approve(endpoint.Grant{Subject: userID}), nil
		}))
	require.Equal(t, 302, resp.Status)
	loc, _ := url.Parse(hdr(resp, "Location"))
	frag, _ := url.ParseQuery(loc.Fragment)
	imp := f.statusOf(t, apiAud, frag.Get("access_token"))
	require.NotEqual(t, imp, ra)

	m := body(t, f.introspect(form("token", a), asRS()))
	require.Equal(t, true, m["active"])
}

// TestStatusListConformance checks the published lists against the draft,
// one rule per row.
func TestStatusListConformance(t *testing.T) {
	f := newStatusFixture(t)
	tok := f.backendToken()
	ref := f.statusOf(t, apiAud, tok)
	slt, resp := f.listToken(t, f.srv, ref.URI)
	h, payload, err := jws.ParseUnverified(string(resp.Body))
	require.NoError(t, err)
	var claims map[string]any
	require.NoError(t, json.Unmarshal(payload, &claims))
	sl, _ := claims["status_list"].(map[string]any)
	meta := body(t, f.srv.Metadata())
	aggResp, _ := get(f.srv, statusPath)
	var agg struct {
		StatusLists []string `json:"status_lists"`
	}
	require.NoError(t, json.Unmarshal(aggResp.Body, &agg))
	tests := []struct {
		name string
		ok   bool
	}{
		{"draft §5.1: typ statuslist+jwt", h.Type == statuslist.TokenType},
		{"draft §5.1: signed by the issuer's published signing key (alg ES256, kid)", h.Algorithm == "ES256" && h.KeyID != ""},
		{"draft §5.1: sub is the list's URI", slt.Subject == ref.URI},
		{"draft §5.1: iss is the issuer", slt.Issuer == testIssuer},
		{"draft §5.1: iat present", !slt.IssuedAt.IsZero() && !slt.IssuedAt.After(t0)},
		{"draft §5.1: exp present and after iat", slt.Expiry.After(t0)},
		{"SPEC §4: exp within a day (the signing keys' published life)", !slt.Expiry.After(t0.Add(24 * time.Hour))},
		{"draft §5.1: ttl is tokens.status_list_ttl", slt.TTL == statusTTL && claims["ttl"] == float64(30)},
		{"draft §4.2: bits 1", sl["bits"] == float64(1) && slt.List.Bits() == 1},
		{"draft §4.2: lst at the list's full size (2^8)", slt.List.Len() == 1<<sizeLog2},
		{"draft §4.2: a valid token's bit is 0", mustStatus(t, slt.List, ref.Index) == statuslist.Valid},
		{"draft §9.2: aggregation_uri", sl["aggregation_uri"] == testIssuer+statusPath},
		{"draft §9.1: status_list_aggregation_endpoint in the metadata", meta["status_list_aggregation_endpoint"] == testIssuer+statusPath},
		{"draft §9.3: the aggregation lists the list", aggResp.Status == 200 && listHas(agg.StatusLists, ref.URI)},
		{"draft §9.3: application/json", hdr(aggResp, "Content-Type") == "application/json"},
		{"draft §8.1: Cache-Control max-age at most the ttl", hdr(resp, "Cache-Control") == "public, max-age=15"},
		{"RFC 9110 §8.8.3: an ETag", strings.HasPrefix(hdr(resp, "ETag"), `W/"`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { require.True(t, tt.ok) })
	}
}

func mustStatus(t testing.TB, l *statuslist.List, idx uint64) statuslist.Status {
	s, err := l.Get(idx)
	require.NoError(t, err)
	return s
}

func listHas(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestStatusListHTTP checks how lists are served: conditional requests,
// unknown, expired and malformed ids, methods, a store that is down.
func TestStatusListHTTP(t *testing.T) {
	f := newStatusFixture(t)
	ref := f.statusOf(t, apiAud, f.backendToken())
	path := strings.TrimPrefix(ref.URI, testIssuer)
	first, _ := get(f.srv, path)
	etag := hdr(first, "ETag")
	id, _ := endpoint.ParseStatusListID(strings.TrimPrefix(ref.URI, statusPrefix))
	unknown := id
	unknown.Epoch += 1000
	tests := []struct {
		name   string
		path   string
		opts   []reqOpt
		status int
		check  func(t *testing.T, r *endpoint.Response)
	}{
		{name: "RFC 9110 §13.1.2: If-None-Match of the current ETag is 304", path: path, opts: []reqOpt{header("If-None-Match", etag)}, status: 304,
			check: func(t *testing.T, r *endpoint.Response) {
				require.Empty(t, r.Body)
				require.Equal(t, etag, hdr(r, "ETag"), "RFC 9110 §15.4.5: the 304 carries the ETag")
				require.NotEmpty(t, hdr(r, "Cache-Control"))
			}},
		{name: "RFC 9110 §13.1.2: weak comparison, in a list", path: path, opts: []reqOpt{header("If-None-Match", `"x", `+strings.TrimPrefix(etag, "W/"))}, status: 304},
		{name: "RFC 9110 §13.1.2: *", path: path, opts: []reqOpt{header("If-None-Match", "*")}, status: 304},
		{name: "RFC 9110 §13.1.2: another ETag is 200", path: path, opts: []reqOpt{header("If-None-Match", `W/"other"`)}, status: 200},
		{name: "RFC 9110 §9.3.2: HEAD has the headers and no body", path: path, opts: []reqOpt{method("HEAD")}, status: 200,
			check: func(t *testing.T, r *endpoint.Response) {
				require.Empty(t, r.Body)
				require.Equal(t, etag, hdr(r, "ETag"))
			}},
		{name: "draft §8.1: POST is 405", path: path, opts: []reqOpt{method("POST")}, status: 405,
			check: func(t *testing.T, r *endpoint.Response) { require.Equal(t, "GET, HEAD", hdr(r, "Allow")) }},
		{name: "SPEC §9: an id no replica opened is 404", path: statusPath + "/" + unknown.String(), status: 404},
		{name: "SPEC §9: a malformed id is 404", path: statusPath + "/../token", status: 404},
		{name: "SPEC §9: an id of a huge list that was never registered is 404", path: statusPath + "/" + strings.Replace(id.String(), ".8", ".24", 1), status: 404},
		{name: "RFC 3986 §3.5: a fragment is 404", path: path + "#x", status: 404},
		{name: "the query is ignored", path: path + "?x=1", status: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, res := get(f.srv, tt.path, tt.opts...)
			require.Equal(t, tt.status, resp.Status, "%s", resp.Body)
			require.NotEqual(t, 500, resp.Status)
			if resp.Status >= 400 && resp.Status != 404 {
				require.NotNil(t, res.Err)
			}
			if tt.check != nil {
				tt.check(t, resp)
			}
		})
	}
	t.Run("SPEC §9: an expired list is 404", func(t *testing.T) {
		f.clock.Advance(25 * time.Minute) // the list's period and its tokens' lifetime, 12 minutes each
		resp, _ := get(f.srv, path)
		require.Equal(t, 404, resp.Status)
	})
	t.Run("SPEC §7: the store down is 503, never an empty list", func(t *testing.T) {
		g := newStatusFixture(t)
		r := g.statusOf(t, apiAud, g.backendToken())
		g.store.down.Store(true)
		resp, res := get(g.srv, strings.TrimPrefix(r.URI, testIssuer))
		require.Equal(t, 503, resp.Status)
		require.Equal(t, endpoint.TemporarilyUnavailable, res.Err.Code)
		require.NotEmpty(t, hdr(resp, "Retry-After"))
	})
}

// TestRevocationSetsTheBit checks every way of revoking (RFC 7009, a code
// replayed, a refresh token reused) against the published list and
// introspection, which answer from the same bit; tokens of other grants
// stay valid.
func TestRevocationSetsTheBit(t *testing.T) {
	tests := []struct {
		name string
		// revoke gets tokens and revokes some; it returns the entries that
		// must be revoked and one that must not.
		revoke func(t *testing.T, f *statusFixture) (revoked []crypttoken.StatusRef, valid crypttoken.StatusRef, tok string)
	}{
		{name: "RFC 7009 §2.1: an access token's bit", revoke: func(t *testing.T, f *statusFixture) ([]crypttoken.StatusRef, crypttoken.StatusRef, string) {
			a, b := f.backendToken(), f.backendToken()
			require.Equal(t, 200, f.revoke(form("token", a), basic("backend", backendSecret)).Status)
			return []crypttoken.StatusRef{f.statusOf(t, apiAud, a)}, f.statusOf(t, apiAud, b), a
		}},
		{name: "RFC 7009 §2.1: a resource server revokes an access token of its audience", revoke: func(t *testing.T, f *statusFixture) ([]crypttoken.StatusRef, crypttoken.StatusRef, string) {
			a, b := f.backendToken(), f.backendToken()
			require.Equal(t, 200, f.revoke(form("token", a), asRS()).Status)
			return []crypttoken.StatusRef{f.statusOf(t, apiAud, a)}, f.statusOf(t, apiAud, b), a
		}},
		{name: "RFC 7009 §2.1: a refresh token revokes its family and its bit", revoke: func(t *testing.T, f *statusFixture) ([]crypttoken.StatusRef, crypttoken.StatusRef, string) {
			toks := mustTokens(t, f.exchangeCode(f.authorizeCode(t, "webapp"), "webapp", webappSecret))
			other := mustTokens(t, f.exchangeCode(f.authorizeCode(t, "webapp"), "webapp", webappSecret))
			require.Equal(t, 200, f.revoke(form("token", toks.Refresh, "token_type_hint", "refresh_token"), basic("webapp", webappSecret)).Status)
			require.Equal(t, endpoint.InvalidGrant, errCode(t, f.token(form("grant_type", "refresh_token", "refresh_token", toks.Refresh), basic("webapp", webappSecret))))
			return []crypttoken.StatusRef{f.statusOf(t, apiAud, toks.Access)}, f.statusOf(t, apiAud, other.Access), toks.Access
		}},
		{name: "RFC 7009 §2.1: revoking a family's access token revokes the grant", revoke: func(t *testing.T, f *statusFixture) ([]crypttoken.StatusRef, crypttoken.StatusRef, string) {
			toks := mustTokens(t, f.exchangeCode(f.authorizeCode(t, "webapp"), "webapp", webappSecret))
			require.Equal(t, 200, f.revoke(form("token", toks.Access), basic("webapp", webappSecret)).Status)
			require.Equal(t, endpoint.InvalidGrant, errCode(t, f.token(form("grant_type", "refresh_token", "refresh_token", toks.Refresh), basic("webapp", webappSecret))),
				"the refresh token of a revoked grant no longer works")
			return []crypttoken.StatusRef{f.statusOf(t, apiAud, toks.Access)}, f.statusOf(t, apiAud, f.backendToken()), toks.Access
		}},
		{name: "RFC 6749 §4.1.2: a replayed code revokes the tokens issued from it", revoke: func(t *testing.T, f *statusFixture) ([]crypttoken.StatusRef, crypttoken.StatusRef, string) {
			code := f.authorizeCode(t, "webapp")
			toks := mustTokens(t, f.exchangeCode(code, "webapp", webappSecret))
			require.Equal(t, endpoint.InvalidGrant, errCode(t, f.exchangeCode(code, "webapp", webappSecret)))
			return []crypttoken.StatusRef{f.statusOf(t, apiAud, toks.Access)}, f.statusOf(t, apiAud, f.backendToken()), toks.Access
		}},
		{name: "RFC 6749 §4.1.2: a replayed code of a client without refresh tokens", revoke: func(t *testing.T, f *statusFixture) ([]crypttoken.StatusRef, crypttoken.StatusRef, string) {
			code := f.authorizeCode(t, "norefresh")
			toks := mustTokens(t, f.exchangeCode(code, "norefresh", backendSecret))
			require.Empty(t, toks.Refresh)
			require.Equal(t, endpoint.InvalidGrant, errCode(t, f.exchangeCode(code, "norefresh", backendSecret)))
			return []crypttoken.StatusRef{f.statusOf(t, apiAud, toks.Access)}, f.statusOf(t, apiAud, f.backendToken()), toks.Access
		}},
		{name: "RFC 9700 §4.14.2: a reused refresh token revokes its family's bit", revoke: func(t *testing.T, f *statusFixture) ([]crypttoken.StatusRef, crypttoken.StatusRef, string) {
			toks := mustTokens(t, f.exchangeCode(f.authorizeCode(t, "webapp"), "webapp", webappSecret))
			next := mustTokens(t, f.token(form("grant_type", "refresh_token", "refresh_token", toks.Refresh), basic("webapp", webappSecret)))
			// The thief replays the old refresh token.
			require.Equal(t, endpoint.InvalidGrant, errCode(t, f.token(form("grant_type", "refresh_token", "refresh_token", toks.Refresh), basic("webapp", webappSecret))))
			return []crypttoken.StatusRef{f.statusOf(t, apiAud, toks.Access), f.statusOf(t, apiAud, next.Access)}, f.statusOf(t, apiAud, f.backendToken()), next.Access
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newStatusFixture(t)
			replica := f.replica(t, f.newAllocator(t)) // another replica on the same store
			revoked, valid, tok := tt.revoke(t, f)
			for _, srv := range []*endpoint.Server{f.srv, replica} {
				for _, r := range revoked {
					f.clock.Advance(6 * time.Second) // past a replica's rebuild interval
					require.True(t, f.revoked(t, srv, r), "bit %d of %s not set", r.Index, r.URI)
				}
				require.False(t, f.revoked(t, srv, valid), "another grant's bit was set")
			}
			isInactive(t, f.introspect(form("token", tok), asRS()))
		})
	}
}

// TestStatusListReplicas checks that any replica publishes any list, with
// the same bits and the same ETag, and lists every replica's lists.
func TestStatusListReplicas(t *testing.T) {
	f := newStatusFixture(t)
	other := f.replica(t, f.newAllocator(t))
	mine := f.statusOf(t, apiAud, f.backendToken())
	resp, _ := other.Token(context.Background(), request("/token", form("grant_type", "client_credentials"), basic("backend", backendSecret)))
	theirs := f.statusOf(t, apiAud, mustTokens(t, resp).Access)
	require.NotEqual(t, mine.URI, theirs.URI, "each replica allocates from lists of its own")
	require.Equal(t, 200, f.revoke(form("token", mustTokens(t, resp).Access), basic("backend", backendSecret)).Status,
		"revoked at this replica, a token the other issued")
	for _, ref := range []crypttoken.StatusRef{mine, theirs} {
		a, ra := f.listToken(t, f.srv, ref.URI)
		b, rb := f.listToken(t, other, ref.URI)
		require.Equal(t, a.List.Bytes(), b.List.Bytes(), "replicas publish the same bits")
		require.Equal(t, hdr(ra, "ETag"), hdr(rb, "ETag"), "and the same ETag")
		r304, _ := get(other, strings.TrimPrefix(ref.URI, testIssuer), header("If-None-Match", hdr(ra, "ETag")))
		require.Equal(t, 304, r304.Status, "a resource server revalidating at another replica")
	}
	require.True(t, f.revoked(t, other, theirs))
	for _, srv := range []*endpoint.Server{f.srv, other} {
		r, _ := get(srv, statusPath)
		agg, err := statuslist.ParseAggregation(r.Body)
		require.NoError(t, err)
		require.Subset(t, agg.StatusLists, []string{mine.URI, theirs.URI}, "draft §9.3: every replica's lists")
	}
}

// TestStatusListRebuild checks the cache: a bit another replica sets
// shows within the rebuild interval, and a token is not signed again while
// nothing changes.
func TestStatusListRebuild(t *testing.T) {
	f := newStatusFixture(t)
	ref := f.statusOf(t, apiAud, f.backendToken())
	id := strings.TrimPrefix(ref.URI, statusPrefix)
	path := strings.TrimPrefix(ref.URI, testIssuer)
	first, _ := get(f.srv, path)
	require.NoError(t, f.store.SetStatus(context.Background(), id, ref.Index, t0.Add(time.Hour))) // another replica
	f.clock.Advance(time.Second)
	same, _ := get(f.srv, path)
	require.Equal(t, string(first.Body), string(same.Body), "served from the cache within the rebuild interval")
	f.clock.Advance(5 * time.Second)
	require.True(t, f.revoked(t, f.srv, ref), "the bit shows once the interval has passed")
	f.clock.Advance(6 * time.Second)
	a, _ := get(f.srv, path)
	f.clock.Advance(6 * time.Second)
	b, _ := get(f.srv, path)
	require.Equal(t, string(a.Body), string(b.Body), "unchanged bits are not signed again")

	// The replica that revokes shows the bit at once.
	tok := f.backendToken()
	mine := f.statusOf(t, apiAud, tok)
	require.False(t, f.revoked(t, f.srv, mine))
	require.Equal(t, 200, f.revoke(form("token", tok), basic("backend", backendSecret)).Status)
	require.True(t, f.revoked(t, f.srv, mine), "the revoking replica publishes the bit without waiting")
}

// TestStatusAttack is an attack by a resource server: holding its
// audience's key, it forges an access token whose status names the entry
// of a victim's token of another audience, and revokes it. The victim's
// bit stays clear and the victim's token stays active; the forged token's
// own revocation is recorded by its jti only.
func TestStatusAttack(t *testing.T) {
	f := newStatusFixture(t)
	resp, _ := f.srv.Token(context.Background(), request("/token", form("grant_type", "client_credentials", "resource", apiAud), basic("multi", backendSecret)))
	victim := mustTokens(t, resp).Access
	target := f.statusOf(t, apiAud, victim)

	// rs-other holds otherAud's key: it forges a token of otherAud
	// pointing at the victim's entry in apiAud's list.
	sealer, err := crypttoken.NewSealer(f.rings[otherAud], crypttoken.WithClock(f.clock.Now))
	require.NoError(t, err)
	now := f.clock.Now()
	forged, err := sealer.Seal(crypttoken.TypeAccess, &crypttoken.Claims{
		Issuer: testIssuer, Subject: "multi", Audience: []string{otherAud}, Expiry: now.Add(accessTTL), IssuedAt: now,
		ClientID: "multi", Scope: "read", Status: target,
	})
	require.NoError(t, err)
	require.Equal(t, 200, f.revoke(form("token", forged), asOtherRS()).Status)
	// And the bit of a list that does not exist, of an absurd index.
	forgedBig, err := sealer.Seal(crypttoken.TypeAccess, &crypttoken.Claims{
		Issuer: testIssuer, Subject: "multi", Audience: []string{otherAud}, Expiry: now.Add(accessTTL), IssuedAt: now,
		ClientID: "multi", Scope: "read", Status: crypttoken.StatusRef{URI: target.URI, Index: 1 << 40},
	})
	require.NoError(t, err)
	require.Equal(t, 200, f.revoke(form("token", forgedBig), asOtherRS()).Status)

	// The victim.
	f.clock.Advance(6 * time.Second)
	require.False(t, f.revoked(t, f.srv, target), "a forged token set another audience's bit")
	m := body(t, f.introspect(form("token", victim), asRS()))
	require.Equal(t, true, m["active"])
	// The attacker's forged token is revoked (by its jti), nothing else.
	isInactive(t, f.introspect(form("token", forged), asRS()))
	bits, err := f.store.StatusIndexes(context.Background(), strings.TrimPrefix(target.URI, statusPrefix))
	require.NoError(t, err)
	require.Empty(t, bits)
}

// TestStatusListsOff checks that without WithStatusLists tokens carry no
// status and revocation works as before (jti and family).
func TestStatusListsOff(t *testing.T) {
	f := newStatusFixture(t)
	f.srv = f.replica(t, nil)
	tok := f.backendToken()
	c, err := f.openAccess(apiAud, tok)
	require.NoError(t, err)
	require.True(t, c.Status.IsZero())
	resp, _ := get(f.srv, statusPath)
	require.Equal(t, 404, resp.Status)
	require.NotContains(t, body(t, f.srv.Metadata()), "status_list_aggregation_endpoint")
	require.Equal(t, 200, f.revoke(form("token", tok), basic("backend", backendSecret)).Status)
	isInactive(t, f.introspect(form("token", tok), asRS()))

	// A token issued while status lists were on is still revoked by its
	// bit, and introspected from it, once they are off.
	g := newStatusFixture(t)
	old := g.backendToken()
	g.srv = g.replica(t, nil)
	require.Equal(t, 200, g.revoke(form("token", old), basic("backend", backendSecret)).Status)
	isInactive(t, g.introspect(form("token", old), asRS()))
	set, err := g.store.StatusBit(context.Background(), strings.TrimPrefix(g.statusOf(t, apiAud, old).URI, statusPrefix), g.statusOf(t, apiAud, old).Index)
	require.NoError(t, err)
	require.True(t, set)
}

// TestStatusOptions checks the options' validation.
func TestStatusOptions(t *testing.T) {
	f := newStatusFixture(t)
	for _, tc := range []struct {
		name string
		opt  endpoint.Option
	}{
		{"nil allocator", endpoint.WithStatusLists(nil, statusTTL)},
		{"ttl 0", endpoint.WithStatusLists(f.alloc, 0)},
		{"ttl not whole seconds", endpoint.WithStatusLists(f.alloc, 1500*time.Millisecond)},
		{"ttl over an hour", endpoint.WithStatusLists(f.alloc, 2*time.Hour)},
		{"key delivery max-age 0", endpoint.WithKeyDeliveryMaxAge(0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := endpoint.New(testIssuer, endpoint.Rings{Internal: f.internal, Audiences: f.rings, Default: apiAud, Signing: f.signing},
				f.clients, f.store, endpoint.WithPaths(statusPaths), tc.opt)
			require.Error(t, err)
		})
	}
	_, err := endpoint.New(testIssuer, endpoint.Rings{Internal: f.internal, Audiences: f.rings, Default: apiAud},
		f.clients, f.store, endpoint.WithPaths(statusPaths), endpoint.WithStatusLists(f.alloc, statusTTL))
	require.Error(t, err, "status lists without a signing ring")
	_, err = endpoint.New(testIssuer, endpoint.Rings{Internal: f.internal, Audiences: f.rings, Default: apiAud, Signing: f.signing},
		f.clients, f.store, endpoint.WithStatusLists(f.alloc, statusTTL))
	require.Error(t, err, "status lists without a path")
	_, err = endpoint.NewStatusAllocator(f.store, "http://issuer.example.com/statuslists/")
	require.Error(t, err)
	_, err = endpoint.NewStatusAllocator(f.store, statusPrefix, endpoint.WithStatusListSize(30))
	require.Error(t, err)
	require.ErrorIs(t, errors.Join(err), err)
}

// TestStatusStoreDown: with the store down, a grant that needs no store
// (client_credentials) still gets tokens — without a status entry when its
// list cannot be registered, as before status lists — and the first token
// after the store is back carries one again.
func TestStatusStoreDown(t *testing.T) {
	f := newStatusFixture(t)
	f.store.down.Store(true)
	tok := f.backendToken()
	c, err := f.openAccess(apiAud, tok)
	require.NoError(t, err)
	require.True(t, c.Status.IsZero(), "no list could be registered")
	f.store.down.Store(false)
	f.statusOf(t, apiAud, f.backendToken())
	// Its revocation is its jti's, which introspection sees.
	require.Equal(t, 200, f.revoke(form("token", tok), basic("backend", backendSecret)).Status)
	isInactive(t, f.introspect(form("token", tok), asRS()))
}

// TestStatusTokenExchange: an access token got by token exchange (RFC
// 8693) shares its subject token's status entry, as it shares its grant:
// revoking the subject token flips the bit both carry.
func TestStatusTokenExchange(t *testing.T) {
	f := newStatusFixture(t)
	clients := append(standardClients(t), &endpoint.Client{
		ID: "exchanger", Secret: mustHash(t, secret.NewSHA256(backendSecret)),
		GrantTypes: []endpoint.GrantType{endpoint.GrantTokenExchange}, Scopes: []string{"read"},
		TokenExchangeAudiences: []string{otherAud},
	})
	f.setClients(clients...)
	subject := f.backendToken()
	ref := f.statusOf(t, apiAud, subject)
	resp := f.token(form("grant_type", string(endpoint.GrantTokenExchange), "subject_token", subject,
		"subject_token_type", endpoint.TokenTypeAccessToken, "resource", otherAud), basic("exchanger", backendSecret))
	exchanged := mustTokens(t, resp).Access
	require.Equal(t, ref, f.statusOf(t, otherAud, exchanged), "the exchanged token carries the subject's entry")
	require.Equal(t, 200, f.revoke(form("token", subject), basic("backend", backendSecret)).Status)
	require.True(t, f.revoked(t, f.srv, ref))
	isInactive(t, f.introspect(form("token", exchanged), asRS()))
}

// TestStatusListKeepsNoRequestMemory holds the endpoints to Request's
// contract that nothing the request refers to is kept: an adapter such as
// the fasthttp one hands URI as a view of a buffer it reuses for the next
// request on the connection. A list's cache entry once kept its id as such
// a view; when the buffer was reused the cache's key changed under it, and
// a later request could be answered another list's token, whose "sub"
// resource servers refuse (ErrSubject).
func TestStatusListKeepsNoRequestMemory(t *testing.T) {
	f := newStatusFixture(t)
	ref := f.statusOf(t, apiAud, f.backendToken())
	path := strings.TrimPrefix(ref.URI, testIssuer)
	buf := []byte(path)
	view := unsafe.String(unsafe.SliceData(buf), len(buf)) // as the fasthttp adapter's URI
	first, _ := f.srv.StatusList(context.Background(), &endpoint.Request{Method: "GET", URI: view, Secure: true, Header: endpoint.Headers{}})
	require.Equal(t, 200, first.Status, "%s", first.Body)
	body := string(first.Body)
	for i := range buf { // the adapter's next request on the connection
		buf[i] = 'x'
	}
	again, _ := get(f.srv, path)
	require.Equal(t, 200, again.Status, "%s", again.Body)
	require.Equal(t, body, string(again.Body), "the list's cached token, found by its id after the request's buffer was reused")
	tok, _ := f.listToken(t, f.srv, ref.URI)
	require.Equal(t, ref.URI, tok.Subject)
}
