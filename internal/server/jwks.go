package server

import (
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sealedtoken/issuer/pkg/keys"
)

// PathJWKS is where the signing ring's public keys are served: the
// jwks_uri of the RFC 8414 §2 metadata and of OpenID Connect Discovery 1.0
// §3.
const PathJWKS = "/jwks.json"

// RouteJWKS is the route name of PathJWKS in logs and metrics.
const RouteJWKS = "jwks"

// ContentTypeJWKSet is the media type of a JWK Set (RFC 7517 §8.5.1).
const ContentTypeJWKSet = "application/jwk-set+json"

// JWKS serves the public JWK Set of the signing ring (keys.ExportJWKS):
// every key from the moment it is written, pending, until everything it
// may have signed has expired (SPEC §4), and never a private member.
//
// Responses are cacheable, "Cache-Control: public, max-age=N" with N a
// quarter of keys.propagation (at least 1 s), and carry a strong ETag, the
// SHA-256 of the body; a request whose If-None-Match matches it is answered
// 304 Not Modified (RFC 9110 §13.1.2, §15.4.5). A replica learns a new key
// within TickInterval (a tenth of propagation) and a cache keeps the old
// document at most max-age, so every verifier that honours max-age holds a
// key well before it signs (docs/SCALING.md).
//
// The document is built once per signing set and then served from memory;
// it is rebuilt when the ring changes or one of its keys expires. A JWKS is
// safe for concurrent use.
type JWKS struct {
	ring   *keys.Ring
	now    func() time.Time
	maxAge string // "public, max-age=N"
	cur    atomic.Pointer[jwksDoc]
}

// jwksDoc is one rendering of the JWK Set.
type jwksDoc struct {
	set   *keys.Set // the set it was built from
	until time.Time // when its first key expires: the document changes then
	body  []byte
	etag  string // quoted
}

// NewJWKS returns the JWK Set endpoint of ring, with max-age derived from
// propagation, on the clock now (nil: time.Now).
func NewJWKS(ring *keys.Ring, propagation time.Duration, now func() time.Time) *JWKS {
	if now == nil {
		now = time.Now
	}
	return &JWKS{ring: ring, now: now, maxAge: "public, max-age=" + strconv.Itoa(JWKSMaxAge(propagation))}
}

// JWKSMaxAge is the max-age, in seconds, of the JWK Set's responses: a
// quarter of the propagation time, at least 1.
func JWKSMaxAge(propagation time.Duration) int {
	return max(int((propagation / 4).Seconds()), 1)
}

// document returns the JWK Set as it is at now, from memory when nothing
// changed.
func (j *JWKS) document(now time.Time) (*jwksDoc, error) {
	set := j.ring.Load()
	if d := j.cur.Load(); d != nil && d.set == set && now.Before(d.until) {
		return d, nil
	}
	body, err := keys.ExportJWKS(set, now)
	if err != nil {
		return nil, err
	}
	until := time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)
	for _, k := range set.Keys() {
		if now.Before(k.Expires) && k.Expires.Before(until) {
			until = k.Expires
		}
	}
	sum := sha256.Sum256(body)
	d := &jwksDoc{set: set, until: until, body: body, etag: `"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`}
	j.cur.Store(d)
	return d, nil
}

// serve answers GET or HEAD of the JWK Set.
func (j *JWKS) serve(ctx *fasthttp.RequestCtx) {
	d, err := j.document(j.now())
	if err != nil {
		writeJSON(ctx, 500, `{"error":"server_error","error_description":"the signing keys cannot be published"}`)
		return
	}
	h := &ctx.Response.Header
	h.Set("Cache-Control", j.maxAge)
	h.Set("ETag", d.etag)
	if etagMatches(ctx.Request.Header.PeekAll("If-None-Match"), d.etag) {
		// RFC 9110 §15.4.5: the fields a 200 would carry that describe
		// caching (Cache-Control, ETag), no content.
		ctx.SetStatusCode(fasthttp.StatusNotModified)
		ctx.Response.SkipBody = true
		return
	}
	ctx.SetStatusCode(fasthttp.StatusOK)
	ctx.SetContentType(ContentTypeJWKSet)
	ctx.SetBody(d.body)
}

// etagMatches reports whether the If-None-Match field values match etag
// (RFC 9110 §13.1.2): "*" matches any current representation; otherwise a
// comma-separated list of entity tags, compared with the weak comparison
// function (a "W/" prefix on either side is ignored). A malformed member
// matches nothing.
func etagMatches(values [][]byte, etag string) bool {
	want := strings.TrimPrefix(etag, "W/")
	for _, v := range values {
		for _, t := range strings.Split(string(v), ",") {
			t = strings.Trim(t, " \t")
			if t == "*" {
				return true
			}
			t = strings.TrimPrefix(t, "W/")
			if len(t) >= 2 && t[0] == '"' && t[len(t)-1] == '"' && t == want {
				return true
			}
		}
	}
	return false
}
