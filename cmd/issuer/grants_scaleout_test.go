package main_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"
)

// The SPEC §12 state shared by replicas through Redis: device approvals,
// polling intervals and single issuance; pushed requests; used assertions.

const scaleDeviceClient = `  - id: tv
    public: true
    grant_types: ["urn:ietf:params:oauth:grant-type:device_code"]
    scopes: [read]
    default_scopes: [read]
`

// TestScaleOutDeviceFlowAcrossReplicas: the device asks A for a code, the
// user approves on B's verification page, and the device polls A and B in
// turn: the slow_down of a too-fast poll on B counts A's poll, the token
// comes from A, and B refuses to issue it again (RFC 8628 §3.5).
func TestScaleOutDeviceFlowAcrossReplicas(t *testing.T) {
	c := startScaleCluster(t, scaleOptions{clients: scaleDeviceClient})
	st, body := c.call(t, c.a, "POST", "/device_authorization", url.Values{"client_id": {"tv"}}, nil)
	if st != 200 {
		t.Fatalf("device authorization on A: %d %s", st, body)
	}
	var dev struct {
		DeviceCode              string `json:"device_code"`
		VerificationURIComplete string `json:"verification_uri_complete"`
	}
	if err := json.Unmarshal([]byte(body), &dev); err != nil {
		t.Fatal(err)
	}
	poll := func(r *scaleReplica) (int, string, error) {
		return c.do(r, "POST", "/token", url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"},
			"client_id": {"tv"}, "device_code": {dev.DeviceCode}}, nil)
	}
	st, body, err := poll(c.a)
	wantOAuthError(t, "poll on A before approval", 400, "authorization_pending", st, body, err)
	st, body, err = poll(c.b)
	wantOAuthError(t, "poll on B a moment after A's", 400, "slow_down", st, body, err)

	// The verification_uri_complete names the issuer (A's address); the
	// user's browser reaches B through the balancer.
	onB := strings.Replace(dev.VerificationURIComplete, c.issuer, c.b.base, 1)
	u := newPageUser(t, c.certPool, map[string]string{scaleUser: "alice"})
	if page := u.approveDevice(t, onB, "", "", "allow"); !strings.Contains(page, "Device connected") {
		t.Fatalf("approval on B:\n%s", page)
	}
	time.Sleep(10 * time.Second) // the interval is 10 s since the slow_down
	st, body, err = poll(c.a)
	access, _ := mustTokens(t, "poll on A after approval on B", st, body, err)
	st, body, err = c.introspect(c.b, access, false)
	wantActive(t, "the device's token introspected on B", true, st, body, err)
	time.Sleep(10 * time.Second)
	st, body, err = poll(c.b)
	wantOAuthError(t, "poll on B after A issued the tokens", 400, "invalid_grant", st, body, err)
	c.stop(t)
}

// TestScaleOutPushedRequestAcrossReplicas: a request pushed to A (RFC
// 9126) is used at B's authorization endpoint, and is then spent on both.
func TestScaleOutPushedRequestAcrossReplicas(t *testing.T) {
	c := startScaleCluster(t, scaleOptions{})
	st, body := c.call(t, c.a, "POST", "/par", url.Values{"response_type": {"code"}, "redirect_uri": {scaleRedirect},
		"scope": {"read"}, "state": {"pushed-on-A"}}, basic("webapp", c.webSecret))
	if st != 201 {
		t.Fatalf("push to A: %d %s", st, body)
	}
	requestURI := jsonField(t, body, "request_uri")
	q := url.Values{"client_id": {"webapp"}, "request_uri": {requestURI}}.Encode()
	st, loc := c.call(t, c.b, "GET", "/authorize?"+q, nil, map[string]string{scaleUser: "alice"})
	u, err := url.Parse(loc)
	if st != 302 || err != nil || u.Query().Get("code") == "" || u.Query().Get("state") != "pushed-on-A" {
		t.Fatalf("authorize on B with A's request_uri: %d %q", st, loc)
	}
	st, body, err = c.token(c.a, url.Values{"grant_type": {"authorization_code"}, "code": {u.Query().Get("code")}, "redirect_uri": {scaleRedirect}})
	mustTokens(t, "the code from B redeemed on A", st, body, err)
	for _, r := range c.replicas() {
		if st, _ := c.call(t, r, "GET", "/authorize?"+q, nil, map[string]string{scaleUser: "alice"}); st != 400 {
			t.Fatalf("request_uri reused on %s: %d", r.name, st)
		}
	}
	c.stop(t)
}
