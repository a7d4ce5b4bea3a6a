package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/url"
	"strings"
	"testing"

	"github.com/sealedtoken/issuer/internal/server"
	"github.com/sealedtoken/issuer/pkg/store"
)

// TestReadyzNamesFailingChecks: /readyz names the checks that fail, never
// their causes, and its 503 says when to retry.
func TestReadyzNamesFailingChecks(t *testing.T) {
	storeDown := &server.CheckError{Check: "store", Err: errors.Join(store.ErrUnavailable, errors.New("dial tcp 10.1.2.3:6379: connection refused"))}
	noKey := &server.CheckError{Check: "keys", Err: errors.New(`ring "https://api.test": keys: no active key in ring`)}
	tests := []struct {
		name        string
		err         error
		wantStatus  int
		wantFailing []string
	}{
		{name: "ready", err: nil, wantStatus: 200},
		{name: "the store is down", err: errors.Join(storeDown), wantStatus: 503, wantFailing: []string{"store"}},
		{name: "a ring cannot seal", err: errors.Join(noKey), wantStatus: 503, wantFailing: []string{"keys"}},
		{name: "both, in order", err: errors.Join(storeDown, noKey), wantStatus: 503, wantFailing: []string{"store", "keys"}},
		{name: "a failure of no named check", err: errors.New("something"), wantStatus: 503, wantFailing: []string{"ready"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, fixtureOpts{ready: func(context.Context) error { return tt.err }})
			resp := do(f.h.ServeFastHTTP, req{method: "GET", uri: "/readyz"})
			if resp.StatusCode() != tt.wantStatus {
				t.Fatalf("status %d, want %d", resp.StatusCode(), tt.wantStatus)
			}
			if tt.wantStatus == 200 {
				return
			}
			var body struct {
				Status  string   `json:"status"`
				Failing []string `json:"failing"`
			}
			if err := json.Unmarshal(resp.Body(), &body); err != nil || body.Status != "unavailable" || strings.Join(body.Failing, ",") != strings.Join(tt.wantFailing, ",") {
				t.Fatalf("body %s (%v), want failing %v", resp.Body(), err, tt.wantFailing)
			}
			if string(resp.Header.Peek("Retry-After")) == "" {
				t.Error("503 without Retry-After")
			}
			for _, leak := range []string{"10.1.2.3", "refused", "no active key"} {
				if strings.Contains(string(resp.Body()), leak) {
					t.Errorf("the body leaks the cause %q", leak)
				}
			}
			if !strings.Contains(f.log.String(), `"failing":[`) {
				t.Error("the log line does not name the failing checks")
			}
		})
	}
}

// TestReadyzOfAnApp: the App's own checks are named: with Redis down,
// "store".
func TestReadyzOfAnApp(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := l.Addr().String()
	l.Close()
	base, c, app, _ := devApp(t, "redis://"+dead+"/0")
	code, body := get(t, c, base+"/readyz")
	if code != 503 || !strings.Contains(body, `"failing":["store"]`) {
		t.Fatalf("readyz = %d %s, want 503 naming store", code, body)
	}
	if got := server.FailingChecks(app.Ready(context.Background())); strings.Join(got, ",") != "store" {
		t.Fatalf("FailingChecks = %v", got)
	}
	// A 503 from an endpoint carries Retry-After too.
	_, tokBody := post(t, c, base+"/token", url.Values{"grant_type": {"client_credentials"}}, true)
	tok := between(tokBody, `"access_token":"`, `"`)
	r, err := c.Post(base+"/revoke", "application/x-www-form-urlencoded", strings.NewReader(url.Values{"token": {tok}, "client_id": {"demo"}, "client_secret": {testSecret}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	if r.StatusCode != 503 || r.Header.Get("Retry-After") == "" {
		t.Fatalf("revoke with the store down: %d, Retry-After %q", r.StatusCode, r.Header.Get("Retry-After"))
	}
}
