package endpoint_test

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/sealedtoken/issuer/pkg/endpoint"
)

// TestResponseReleaseWipesToken plays a process whose memory is read after
// a token response was written and released (a core dump, a reused
// buffer): the released body must no longer hold the token, and the next
// response must still be whole.
func TestResponseReleaseWipesToken(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	resp, res := f.srv.Token(ctx, request("/token", ccBody, basic("backend", backendSecret)))
	if resp.Status != 200 {
		t.Fatalf("status %d: %s", resp.Status, resp.Body)
	}
	body := resp.Body
	token := []byte(tokenFrom(t, body))
	resp.Release()
	if bytes.Contains(body[:cap(body)], token) {
		t.Fatal("the released response's memory still holds the access token")
	}
	if i := bytes.IndexFunc(body[:cap(body)], func(r rune) bool { return r != 0 }); i >= 0 {
		t.Fatalf("the released body is not wiped: byte %d is %q", i, body[i])
	}

	// The victim's next request is answered in full from the recycled
	// memory, with a token of its own.
	resp2, res2 := f.srv.Token(ctx, request("/token", ccBody, basic("backend", backendSecret)))
	if resp2.Status != 200 || res2.JTI == "" || res2.JTI == res.JTI {
		t.Fatalf("second response: status %d, jti %q after %q", resp2.Status, res2.JTI, res.JTI)
	}
	if got := tokenFrom(t, resp2.Body); got == string(token) || got == "" {
		t.Fatalf("second response's token %q", got)
	}
	resp2.Release()
	resp2.Release() // a second Release must not put it in the pool twice
	a, _ := f.srv.Token(ctx, request("/token", ccBody, basic("backend", backendSecret)))
	b, _ := f.srv.Token(ctx, request("/token", ccBody, basic("backend", backendSecret)))
	if a == b || (len(a.Body) > 0 && len(b.Body) > 0 && &a.Body[0] == &b.Body[0]) {
		t.Fatal("two live responses share memory after a double Release")
	}
}

// tokenFrom returns the access_token of a token response body.
func tokenFrom(t *testing.T, body []byte) string {
	t.Helper()
	var v struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("token response %q: %v", body, err)
	}
	return v.AccessToken
}

// TestResponseReleaseLeavesOthers: Release does nothing to a response the
// pool did not make (an adapter's own, an error answer), nor to nil.
func TestResponseReleaseLeavesOthers(t *testing.T) {
	r := &endpoint.Response{Status: 200, Body: []byte(`{"a":1}`)}
	r.Release()
	if r.Status != 200 || string(r.Body) != `{"a":1}` {
		t.Fatalf("Release changed a response it does not own: %d %s", r.Status, r.Body)
	}
	var nilResp *endpoint.Response
	nilResp.Release()
	f := newFixture(t)
	bad, _ := f.srv.Token(context.Background(), request("/token", ccBody, basic("backend", "wrong")))
	body := append([]byte(nil), bad.Body...)
	bad.Release()
	if bad.Status != 401 || !bytes.Equal(bad.Body, body) {
		t.Fatalf("Release changed an error response: %d %s", bad.Status, bad.Body)
	}
}
