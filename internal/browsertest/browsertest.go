// Package browsertest starts headless Chromium for the project's
// real-browser tests (the login page in internal/login, the dev server in
// cmd/issuer) and runs bounded steps in it. Only tests import it.
//
// Chromium is Debian's (/usr/bin/chromium). When it is missing, New skips
// the test with an install hint, unless the environment variable CI is
// "true": then the test fails, so a CI machine without a browser cannot
// pass silently.
package browsertest

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// ChromiumPath is where Debian's chromium package installs the browser.
const ChromiumPath = "/usr/bin/chromium"

// StepTimeout bounds each Step and Get.
const StepTimeout = 15 * time.Second

// New launches headless Chromium with a fresh profile and returns a tab
// context bounded by ctx. The browser is stopped when the test ends.
//
// The flags keep Chromium off the network beyond the test's own servers
// (this machine's network is closed, and background fetches would be
// refused) and accept self-signed certificates, which every test server
// here uses.
func New(t testing.TB, ctx context.Context) context.Context {
	t.Helper()
	if _, err := os.Stat(ChromiumPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s missing under CI: %v", ChromiumPath, err)
		}
		t.Skip("install chromium: apt-get install -y chromium")
	}
	profile := t.TempDir() // removed after the browser has exited (cleanups run last-in first-out)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(ChromiumPath),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("ignore-certificate-errors", true),
		chromedp.UserDataDir(profile),
	)
	tab, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
	})
	// The first run on a context starts the browser; it must not carry a
	// timeout of its own, or the tab closes when that timeout's context ends.
	if err := chromedp.Do(tab); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return tab
}

// Step runs actions in tab under StepTimeout; a failure names the step and
// the page the tab is on.
func Step(t testing.TB, tab context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, StepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: %v (%s)", what, err, Where(tab))
	}
}

// Get runs one action that returns a value, under StepTimeout.
func Get[T any](t testing.TB, tab context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, StepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v (%s)", what, err, Where(tab))
	}
	return v
}

// Where describes the tab's page, for failure messages.
func Where(tab context.Context) string {
	ctx, cancel := context.WithTimeout(tab, 2*time.Second)
	defer cancel()
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	body, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
	return fmt.Sprintf("at %s: %q", loc, body)
}
