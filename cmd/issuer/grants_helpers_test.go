package main_test

// Helpers of the SPEC §12 end-to-end tests: a user in a browser-like
// HTTP client (cookie jar, form posting) who approves device codes on the
// verification page.

import (
	"crypto/tls"
	"crypto/x509"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// pageUser is a person at a browser: it keeps cookies, follows no
// redirect, and sends header (a trusted proxy's X-Remote-User) with every
// request.
type pageUser struct {
	c      *http.Client
	header map[string]string
}

func newPageUser(t *testing.T, pool *x509.CertPool, header map[string]string) *pageUser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	t.Cleanup(tr.CloseIdleConnections)
	return &pageUser{header: header, c: &http.Client{
		Jar: jar, Timeout: 15 * time.Second, Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

func (u *pageUser) do(t *testing.T, method, target string, form url.Values) (int, string, http.Header) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range u.header {
		req.Header.Set(k, v)
	}
	resp, err := u.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b), resp.Header
}

var (
	pageField  = regexp.MustCompile(`<input type="(?:hidden|checkbox)"(?: id="[^"]*")? name="([^"]*)" value="([^"]*)"`)
	pageAction = regexp.MustCompile(`<form method="post" action="([^"]*)" id="([^"]*)"`)
)

// submit posts the page's form (hidden fields and checked boxes, plus
// set) to its action on base's origin.
func (u *pageUser) submit(t *testing.T, base *url.URL, page string, set url.Values) (int, string, http.Header) {
	t.Helper()
	m := pageAction.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no form on the page:\n%s", page)
	}
	form := url.Values{}
	for _, f := range pageField.FindAllStringSubmatch(page, -1) {
		form.Set(html.UnescapeString(f[1]), html.UnescapeString(f[2]))
	}
	for k, v := range set {
		form[k] = v
	}
	target := base.Scheme + "://" + base.Host + html.UnescapeString(m[1])
	return u.do(t, "POST", target, form)
}

// approveDevice opens verificationURIComplete, signs in (with the password
// unless the trusted header names the user), and answers the consent form
// with action ("allow" or "deny"); it returns the result page.
func (u *pageUser) approveDevice(t *testing.T, verificationURIComplete, username, password, action string) string {
	t.Helper()
	base, err := url.Parse(verificationURIComplete)
	if err != nil {
		t.Fatal(err)
	}
	st, page, _ := u.do(t, "GET", verificationURIComplete, nil)
	if st != 200 {
		t.Fatalf("verification page: %d\n%s", st, page)
	}
	if strings.Contains(page, `id="login-form"`) {
		st, page, _ = u.submit(t, base, page, url.Values{"username": {username}, "password": {password}})
		if st != 200 {
			t.Fatalf("sign-in: %d\n%s", st, page)
		}
	}
	if !strings.Contains(page, `id="consent-form"`) {
		t.Fatalf("no consent form:\n%s", page)
	}
	st, page, _ = u.submit(t, base, page, url.Values{"login_action": {action}})
	if st != 200 {
		t.Fatalf("consent: %d\n%s", st, page)
	}
	return page
}
