package main_test

import (
	"context"
	"encoding/json"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sealedtoken/issuer/internal/browsertest"
)

// TestDevServerBrowserDeviceFlow: headless Chromium approves a device code
// on the dev server's verification page (RFC 8628 §3.3): the user types
// the code as people do (lower case, no dash), signs in as the demo user,
// checks the code the consent page repeats, allows; the device's next poll
// gets a token for that user.
func TestDevServerBrowserDeviceFlow(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	bctx := browsertest.New(t, ctx)
	d := startDev(t, filepath.Join(t.TempDir(), "data"))
	s := &secrets{values: map[string]string{}}
	s.add("demo user password", d.password)

	st, _, body := d.call(t, s, "POST", "/device_authorization", url.Values{"client_id": {"demo-cli"}, "scope": {"read write"}}, nil)
	if st != 200 {
		t.Fatalf("device authorization: %d %s", st, body)
	}
	var dev struct {
		DeviceCode      string `json:"device_code"`
		UserCode        string `json:"user_code"`
		VerificationURI string `json:"verification_uri"`
	}
	if err := json.Unmarshal([]byte(body), &dev); err != nil {
		t.Fatal(err)
	}
	s.add("device code", dev.DeviceCode)
	typed := strings.ToLower(strings.ReplaceAll(dev.UserCode, "-", ""))

	browsertest.Step(t, bctx, "open the verification page",
		chromedp.Navigate(dev.VerificationURI),
		chromedp.WaitVisible(chromedp.CSS("#user_code")),
	)
	browsertest.Step(t, bctx, "enter the code",
		chromedp.SendKeys(chromedp.CSS("#user_code"), typed),
		chromedp.Click(chromedp.CSS("#continue")),
		chromedp.WaitVisible(chromedp.CSS("#username")),
	)
	notice := browsertest.Get(t, bctx, "read the sign-in notice", chromedp.Text(chromedp.CSS("#login-notice")))
	if !strings.Contains(notice, dev.UserCode) {
		t.Errorf("the sign-in page does not show the code: %q", notice)
	}
	browsertest.Step(t, bctx, "sign in",
		chromedp.SendKeys(chromedp.CSS("#username"), "alice"),
		chromedp.SendKeys(chromedp.CSS("#password"), d.password),
		chromedp.Click(chromedp.CSS("#sign-in")),
		chromedp.WaitVisible(chromedp.CSS("#allow")),
	)
	if code := browsertest.Get(t, bctx, "read the code to check", chromedp.Text(chromedp.CSS("#code"))); code != dev.UserCode {
		t.Errorf("consent page shows code %q, the device %q", code, dev.UserCode)
	}
	if client := browsertest.Get(t, bctx, "read the client", chromedp.Text(chromedp.CSS("#client"))); client != "demo-cli" {
		t.Errorf("consent page names client %q", client)
	}
	if page := browsertest.Get(t, bctx, "read the consent page", chromedp.OuterHTML(chromedp.CSS("html"))); strings.Contains(page, d.password) {
		t.Fatal("the consent page carries the password")
	}
	browsertest.Step(t, bctx, "allow",
		chromedp.Click(chromedp.CSS("#allow")),
		chromedp.WaitVisible(chromedp.CSS("#message")),
	)
	if msg := browsertest.Get(t, bctx, "read the result", chromedp.Text(chromedp.CSS("h1"))); msg != "Device connected" {
		t.Fatalf("result page: %q", msg)
	}

	st, _, body = d.call(t, s, "POST", "/token", url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"},
		"client_id": {"demo-cli"}, "device_code": {dev.DeviceCode}}, nil)
	if st != 200 {
		t.Fatalf("poll: %d %s", st, body)
	}
	access := jsonField(t, body, "access_token")
	s.add("access token", access)
	s.add("refresh token", jsonField(t, body, "refresh_token"))
	code, out, errOut := runBinary(t, "", "token", "inspect", "--config", d.devConfig, access)
	var got struct{ Claims map[string]any }
	if code != 0 || json.Unmarshal([]byte(out), &got) != nil {
		t.Fatalf("token inspect: %d %s %s", code, out, errOut)
	}
	if got.Claims["sub"] != "u-alice" || got.Claims["client_id"] != "demo-cli" || got.Claims["scope"] != "read write" || got.Claims["auth_time"] == nil {
		t.Fatalf("claims %v", got.Claims)
	}
	d.stop()
	vals := make([]string, 0, len(s.values))
	for v := range s.values {
		vals = append(vals, v)
	}
	assertNoLeak(t, d, vals...)
}
