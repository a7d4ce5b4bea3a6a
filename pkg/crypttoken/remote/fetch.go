package remote

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Size bounds of the documents fetched.
const (
	maxMetadata    = 64 << 10
	maxJWKS        = 256 << 10
	maxDelivery    = 1 << 20 // keys.MaxDeliverySize
	maxAggregation = 4 << 20
	maxListToken   = 1 << 20 // statuslist.DefaultMaxSize
)

// userAgent names the client in the issuer's logs.
const userAgent = "sealedtoken-remote/1"

// resource is one document fetched from the issuer: its URL, the body
// last accepted, its ETag, and when it was fetched (the body's time, which
// a 304 does not change) and last confirmed (200 or 304).
type resource struct {
	URL       string    `json:"url"`
	ETag      string    `json:"etag,omitempty"`
	Fetched   time.Time `json:"fetched"`
	Confirmed time.Time `json:"confirmed"`
	Body      string    `json:"body"`
}

// newHTTPClient returns the Client's own HTTP client: TLS 1.2 at least,
// proxies from the environment, a few idle connections kept for polling,
// redirects followed only to https URLs.
func newHTTPClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	tr.MaxIdleConnsPerHost = 2
	tr.IdleConnTimeout = 2 * time.Minute
	return &http.Client{
		Transport: tr,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 3 {
				return fmt.Errorf("%w: more than 3 redirects", ErrFetch)
			}
			if req.URL.Scheme != "https" {
				return fmt.Errorf("%w: redirect to a URL that is not https", ErrFetch)
			}
			return nil
		},
	}
}

// httpsURL checks that raw is an absolute https URL without fragment.
func httpsURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("%q is not an absolute https URL without user information or fragment", cut(raw))
	}
	return u, nil
}

// fetched is the outcome of get.
type fetched struct {
	body        []byte
	etag        string
	notModified bool
	maxAge      time.Duration // Cache-Control max-age; 0 when absent
}

// maxAgeOf returns the max-age directive of a Cache-Control field value
// (RFC 9111 §5.2.2.1), 0 when there is none or it does not parse.
func maxAgeOf(cc string) time.Duration {
	for d := range strings.SplitSeq(cc, ",") {
		name, v, ok := strings.Cut(strings.TrimSpace(d), "=")
		if !ok || !strings.EqualFold(name, "max-age") {
			continue
		}
		n, err := strconv.ParseInt(strings.Trim(v, `"`), 10, 64)
		if err != nil || n <= 0 || n > 366*24*3600 {
			return 0
		}
		return time.Duration(n) * time.Second
	}
	return 0
}

// get fetches rawURL, conditionally on etag when it is not empty, reading
// at most limit bytes of body.
func (c *Client) get(ctx context.Context, rawURL, accept, etag string, limit int64) (fetched, error) {
	if _, err := httpsURL(rawURL); err != nil {
		return fetched{}, fmt.Errorf("%w: %w", ErrFetch, err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.requestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return fetched{}, fmt.Errorf("%w: %s: %w", ErrFetch, cut(rawURL), err)
	}
	req.Header.Set("Accept", accept)
	req.Header.Set("User-Agent", userAgent)
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		// The error names the URL; it holds nothing secret.
		return fetched{}, fmt.Errorf("%w: %w", ErrFetch, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotModified && etag != "":
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		return fetched{notModified: true, etag: etag, maxAge: maxAgeOf(resp.Header.Get("Cache-Control"))}, nil
	case resp.StatusCode == http.StatusNotFound:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		return fetched{}, fmt.Errorf("%w: %s", ErrNotFound, cut(rawURL))
	case resp.StatusCode != http.StatusOK:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		return fetched{}, fmt.Errorf("%w: %s answered %d", ErrFetch, cut(rawURL), resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return fetched{}, fmt.Errorf("%w: reading %s: %w", ErrFetch, cut(rawURL), err)
	}
	if int64(len(body)) > limit {
		return fetched{}, fmt.Errorf("%w: %s is larger than %d bytes", ErrFetch, cut(rawURL), limit)
	}
	return fetched{body: body, etag: resp.Header.Get("ETag"), maxAge: maxAgeOf(resp.Header.Get("Cache-Control"))}, nil
}

// cut shortens a URL or other untrusted text for an error message.
func cut(s string) string {
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return strings.ToValidUTF8(s, "?")
}

// isNotFound reports whether err is a 404.
func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }
