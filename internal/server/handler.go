package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"runtime/debug"
	"slices"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"

	"github.com/sealedtoken/issuer/internal/jsonenc"
	"github.com/sealedtoken/issuer/pkg/endpoint"
	"github.com/sealedtoken/issuer/pkg/store"
)

// Route names, used as the "endpoint" field of logs and metrics.
const (
	RouteToken      = "token"
	RouteAuthorize  = "authorize"
	RouteIntrospect = "introspect"
	RouteRevoke     = "revoke"
	RouteMetadata   = "metadata"
	RouteHealthz    = "healthz"
	RouteReadyz     = "readyz"
	RouteMetrics    = "metrics"
	// RouteDemoCallback is the dev server's demo callback page
	// (HandlerOptions.DemoCallback).
	RouteDemoCallback = "demo_callback"
	RouteNotFound     = "not_found"
	// RouteBadPath is a request whose path is not in canonical form
	// (answered 400, never routed).
	RouteBadPath = "bad_path"
)

// DefaultAuthorizeTimeout bounds the handling of one /authorize request
// (HandlerOptions.AuthorizeTimeout): a login whose password check waits
// for a slot under the hash concurrency cap (limits.hash_concurrency)
// longer than this is answered with a 503 "try again" page instead of
// holding the connection indefinitely.
const DefaultAuthorizeTimeout = 10 * time.Second

// Paths of the routes that are not OAuth endpoints.
const (
	PathMetadata = "/.well-known/oauth-authorization-server" // RFC 8414 §3
	PathHealthz  = "/healthz"
	PathReadyz   = "/readyz"
	PathMetrics  = "/metrics"
)

// HandlerOptions are the optional parts of a Handler.
type HandlerOptions struct {
	// Owner decides authorization requests at /authorize (the login page,
	// see DefaultOwner). Nil answers every authorization request that
	// passes validation with access_denied: no way to authenticate users
	// is configured.
	Owner endpoint.ResourceOwner
	// AuthorizeTimeout is the deadline of the context that /authorize
	// requests are handled under (the owner's password check waits for
	// the hash concurrency cap at most this long); 0 means
	// DefaultAuthorizeTimeout.
	AuthorizeTimeout time.Duration
	// DemoCallback, if set, is a path (such as "/demo/callback") answered
	// with a small HTML page that shows the code, state or error of the
	// authorization response it receives: the redirect URI of the dev
	// server's demo clients, so that a developer can walk the flow in a
	// browser. Leave it empty in production.
	DemoCallback string
	// Log receives one line per request; the zero Logger discards.
	Log zerolog.Logger
	// RequestLines, if set, is the writer under Log, which must be a
	// NewLogger of format JSON (JSONLines returns it): the handler then
	// writes the info line of a successful request itself, the bytes Log
	// would write, in a third of the time (requestline.go). Leave it nil
	// for any other Log.
	RequestLines io.Writer
	// Metrics, if set, counts requests; /metrics serves its registry.
	Metrics *Metrics
	// MetricsElsewhere makes /metrics answer 404: the metrics are served
	// on an address of their own (metrics.listen, MetricsHandler).
	MetricsElsewhere bool
	// Ready reports whether the service can serve every grant (/readyz);
	// nil means always ready.
	Ready func(ctx context.Context) error
	// Base is the context passed to the endpoints; nil means
	// context.Background(). Cancel it only after the server has drained.
	Base context.Context
	// JWKS serves the signing ring's public keys at the endpoint's
	// Paths().JWKS (jwks_uri); nil answers that path 404.
	JWKS *JWKS
}

// Handler routes requests to an endpoint.Server (SPEC §5). It is safe for
// concurrent use.
//
// The endpoint server and the resource owner can be replaced while the
// Handler serves (Swap, which a configuration reload calls): each request
// loads them once when it starts and finishes on what it loaded, so a
// swap never changes the clients or users a request in flight sees.
type Handler struct {
	cur     atomic.Pointer[handlerState]
	paths   endpoint.Paths
	log     zerolog.Logger
	lines   io.Writer // HandlerOptions.RequestLines, nil when zerolog's field names are not its defaults
	metrics *Metrics
	ready   func(ctx context.Context) error
	base    context.Context

	authorizeTimeout time.Duration
	demoCallback     string
	jwks             *JWKS
	noMetrics        bool // /metrics is served elsewhere (metrics.listen)
}

// handlerState is what Swap replaces.
type handlerState struct {
	ep      *endpoint.Server
	owner   endpoint.ResourceOwner
	timeout time.Duration
}

// NewHandler returns a Handler serving ep's endpoints at ep.Paths().
func NewHandler(ep *endpoint.Server, o HandlerOptions) *Handler {
	h := &Handler{paths: ep.Paths(), log: o.Log, lines: o.RequestLines, metrics: o.Metrics, ready: o.Ready, base: o.Base,
		authorizeTimeout: o.AuthorizeTimeout, demoCallback: o.DemoCallback, noMetrics: o.MetricsElsewhere, jwks: o.JWKS}
	if h.authorizeTimeout <= 0 {
		h.authorizeTimeout = DefaultAuthorizeTimeout
	}
	if !zerologDefaults() {
		h.lines = nil
	}
	if h.base == nil {
		h.base = context.Background()
	}
	h.Swap(ep, o.Owner)
	return h
}

// Swap makes the Handler serve new requests with ep and owner (nil: deny
// every authorization request, as NewHandler's Owner). Requests already
// running finish on the endpoint server and owner they started with. ep
// must serve the same paths as the one NewHandler was given.
func (h *Handler) Swap(ep *endpoint.Server, owner endpoint.ResourceOwner) {
	if owner == nil {
		owner = endpoint.ResourceOwnerFunc(func(context.Context, *endpoint.Request, *endpoint.AuthorizeRequest) (endpoint.Decision, error) {
			return endpoint.Reject(endpoint.NewError(endpoint.AccessDenied, "this server has no way to authenticate users")), nil
		})
	}
	h.cur.Store(&handlerState{ep: ep, owner: owner, timeout: h.authorizeTimeout})
}

// Endpoint returns the endpoint server new requests are served with.
func (h *Handler) Endpoint() *endpoint.Server { return h.cur.Load().ep }

// ServeFastHTTP handles one request; it is a fasthttp.RequestHandler.
func (h *Handler) ServeFastHTTP(ctx *fasthttp.RequestCtx) {
	// fasthttp reads the clock just before calling the handler; a
	// RequestCtx made without Init has no time.
	start := ctx.Time()
	if start.IsZero() {
		start = time.Now()
	}
	route := RouteNotFound
	defer func() {
		if p := recover(); p != nil {
			h.recovered(ctx, route, start, p)
		}
	}()
	path := ctx.Path()
	if !bytes.Equal(ctx.URI().PathOriginal(), path) {
		// issue 8: fasthttp routes by the decoded, normalised path, so
		// "//token", "/%74oken", "/./token" and "/x/../token" all reached
		// /token, past any path rule of a proxy in front. A path that
		// normalisation would change is refused instead.
		route = RouteBadPath
		writeJSON(ctx, 400, `{"error":"invalid_request","error_description":"the request path is not in canonical form"}`)
		h.done(ctx, route, start, nil)
		return
	}
	st := h.cur.Load()
	switch string(path) {
	case h.paths.Token:
		route = RouteToken
		if h.allow(ctx, route, start, "POST") {
			h.oauth(ctx, route, start, st.ep.Token)
		}
	case h.paths.Authorize:
		route = RouteAuthorize
		if h.allow(ctx, route, start, "GET", "POST") {
			h.oauth(ctx, route, start, st.authorize)
		}
	case h.paths.Introspect:
		route = RouteIntrospect
		if h.allow(ctx, route, start, "POST") {
			h.oauth(ctx, route, start, st.ep.Introspect)
		}
	case h.paths.Revoke:
		route = RouteRevoke
		if h.allow(ctx, route, start, "POST") {
			h.oauth(ctx, route, start, st.ep.Revoke)
		}
	case h.paths.UserInfo:
		route = RouteUserInfo
		if h.allow(ctx, route, start, "GET", "POST") {
			h.oauth(ctx, route, start, st.ep.UserInfo)
		}
	case h.paths.EndSession:
		route = RouteEndSession
		if h.allow(ctx, route, start, "GET", "POST") {
			h.oauth(ctx, route, start, st.endSession)
		}
	case endpoint.PathOpenIDConfiguration:
		route = RouteOpenIDConfiguration
		if h.allow(ctx, route, start, "GET", "HEAD") {
			h.serveOpenIDConfiguration(ctx, st.ep, start)
		}
	case h.paths.PushedAuthorization:
		route = RoutePAR
		if h.allow(ctx, route, start, "POST") {
			h.oauth(ctx, route, start, st.ep.PushedAuthorization)
		}
	case h.paths.DeviceAuthorization:
		route = RouteDeviceAuthorization
		if h.allow(ctx, route, start, "POST") {
			h.oauth(ctx, route, start, st.ep.DeviceAuthorization)
		}
	case h.paths.DeviceVerification:
		route = RouteDeviceVerification
		if h.allow(ctx, route, start, "GET", "POST") {
			h.oauth(ctx, route, start, st.device)
		}
	case PathMetadata:
		route = RouteMetadata
		if h.allow(ctx, route, start, "GET", "HEAD") {
			writeResponse(ctx, st.ep.Metadata())
			h.done(ctx, route, start, nil)
		}
	case PathHealthz:
		route = RouteHealthz
		if h.allow(ctx, route, start, "GET", "HEAD") {
			writeJSON(ctx, 200, `{"status":"ok"}`)
			h.done(ctx, route, start, nil)
		}
	case PathReadyz:
		route = RouteReadyz
		if h.allow(ctx, route, start, "GET", "HEAD") {
			h.readyz(ctx, start)
		}
	case PathMetrics:
		if h.noMetrics {
			writeJSON(ctx, 404, `{"error":"not_found","error_description":"no such endpoint"}`)
			h.done(ctx, route, start, nil)
			return
		}
		route = RouteMetrics
		if h.allow(ctx, route, start, "GET", "HEAD") {
			h.serveMetrics(ctx, start)
		}
	default:
		if sl := h.paths.StatusLists; sl != "" && bytes.HasPrefix(path, []byte(sl)) && (len(path) == len(sl) || path[len(sl)] == '/') {
			route = RouteStatusList
			h.oauth(ctx, route, start, st.ep.StatusList)
			return
		}
		if h.paths.ResourceKeys != "" && string(path) == h.paths.ResourceKeys {
			route = RouteResourceKeys
			h.oauth(ctx, route, start, st.ep.ResourceKeys)
			return
		}
		if h.jwks != nil && h.paths.JWKS != "" && string(path) == h.paths.JWKS {
			route = RouteJWKS
			if h.allow(ctx, route, start, "GET", "HEAD") {
				h.jwks.serve(ctx)
				h.done(ctx, route, start, nil)
			}
			return
		}
		if h.demoCallback != "" && string(path) == h.demoCallback {
			route = RouteDemoCallback
			if h.allow(ctx, route, start, "GET", "HEAD") {
				serveDemoCallback(ctx)
				h.done(ctx, route, start, nil)
			}
			return
		}
		writeJSON(ctx, 404, `{"error":"not_found","error_description":"no such endpoint"}`)
		h.done(ctx, route, start, nil)
	}
}

// authorize adapts HandleAuthorize to the signature of the other endpoints,
// under a deadline: the owner's work (a password check that may wait for
// the hash concurrency cap) must end, with a 503 page at worst, rather
// than hold the connection for as long as the cap stays full. The context
// derives from the server's base context, never from the
// *fasthttp.RequestCtx, whose Done fires only at shutdown.
func (st *handlerState) authorize(c context.Context, r *endpoint.Request) (*endpoint.Response, endpoint.Result) {
	c, cancel := context.WithTimeout(c, st.timeout)
	defer cancel()
	return st.ep.HandleAuthorize(c, r, st.owner)
}

// oauth runs an endpoint on the request and writes its response.
func (h *Handler) oauth(ctx *fasthttp.RequestCtx, route string, start time.Time,
	f func(context.Context, *endpoint.Request) (*endpoint.Response, endpoint.Result)) {
	q := acquireRequest(ctx)
	resp, res := f(h.base, &q.r)
	writeResponse(ctx, resp)
	resp.Release() // fasthttp has copied the body
	h.done(ctx, route, start, &res)
	releaseRequest(q)
}

// allow answers 405 with an Allow header unless the request's method is
// one of methods (RFC 9110 §15.5.6).
func (h *Handler) allow(ctx *fasthttp.RequestCtx, route string, start time.Time, methods ...string) bool {
	m := ctx.Method()
	for _, a := range methods {
		if string(m) == a {
			return true
		}
	}
	allow := methods[0]
	for _, a := range methods[1:] {
		allow += ", " + a
	}
	ctx.Response.Header.Set("Allow", allow)
	writeJSON(ctx, 405, `{"error":"invalid_request","error_description":"method not allowed; see the Allow header"}`)
	h.done(ctx, route, start, nil)
	return false
}

// readyz answers 200 when every readiness check passes, 503 otherwise,
// naming the checks that failed (CheckError: "store", "keys") but not
// their causes, which go to the log: {"status":"unavailable",
// "failing":["store"]}. A failure that is no CheckError is named "ready".
func (h *Handler) readyz(ctx *fasthttp.RequestCtx, start time.Time) {
	var err error
	if h.ready != nil {
		c, cancel := context.WithTimeout(h.base, 2*time.Second)
		err = h.ready(c)
		cancel()
	}
	if err != nil {
		if errors.Is(err, store.ErrUnavailable) && h.metrics != nil {
			h.metrics.StoreError()
		}
		failing := FailingChecks(err)
		body := append([]byte(`{"status":"unavailable","failing":[`), quotedList(failing)...)
		writeJSON(ctx, 503, string(append(body, "]}"...)))
		ctx.Response.Header.Set("Retry-After", "1")
		h.log.Warn().Str("endpoint", RouteReadyz).Strs("failing", failing).Str("cause", err.Error()).Msg("not ready")
	} else {
		writeJSON(ctx, 200, `{"status":"ready"}`)
	}
	h.done(ctx, RouteReadyz, start, nil)
}

// CheckError is a failed readiness check: its name ("store", "keys"), which
// /readyz sends, and its cause, which only the log gets.
type CheckError struct {
	Check string
	Err   error
}

func (e *CheckError) Error() string { return e.Check + ": " + e.Err.Error() }
func (e *CheckError) Unwrap() error { return e.Err }

// FailingChecks returns the names of the CheckErrors err holds (joined
// with errors.Join or wrapped), in order, without repeats; "ready" if it
// holds none.
func FailingChecks(err error) []string {
	var names []string
	var walk func(error)
	walk = func(e error) {
		var ce *CheckError
		switch u := e.(type) {
		case interface{ Unwrap() []error }:
			for _, x := range u.Unwrap() {
				walk(x)
			}
		default:
			if errors.As(e, &ce) && !slices.Contains(names, ce.Check) {
				names = append(names, ce.Check)
			}
		}
	}
	walk(err)
	if len(names) == 0 {
		names = []string{"ready"}
	}
	return names
}

// quotedList writes names (check names: lower-case words) as the members
// of a JSON array.
func quotedList(names []string) []byte {
	var b []byte
	for i, n := range names {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonenc.AppendString(b, n)
	}
	return b
}

func (h *Handler) serveMetrics(ctx *fasthttp.RequestCtx, start time.Time) {
	if h.metrics == nil {
		writeJSON(ctx, 404, `{"error":"not_found","error_description":"metrics are disabled"}`)
	} else {
		text, err := h.metrics.AppendText(make([]byte, 0, 32<<10))
		if err != nil {
			// A collector failed; what gathered is still served, as
			// promhttp's ContinueOnError does.
			h.log.Warn().Str("endpoint", RouteMetrics).Str("cause", err.Error()).Msg("metrics gathered with errors")
		}
		ctx.SetStatusCode(200)
		ctx.SetContentType(MetricsContentType)
		ctx.Response.Header.Set("Cache-Control", "no-store")
		ctx.SetBody(text)
	}
	h.done(ctx, RouteMetrics, start, nil)
}

// writeJSON writes a fixed JSON body with the no-store headers.
func writeJSON(ctx *fasthttp.RequestCtx, status int, body string) {
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.Response.Header.Set("Cache-Control", "no-store")
	ctx.SetBodyString(body)
}

// recovered answers a request whose handler panicked with a 500
// server_error body, and logs the panic with its stack. Nothing about the
// panic reaches the client.
func (h *Handler) recovered(ctx *fasthttp.RequestCtx, route string, start time.Time, p any) {
	if h.metrics != nil {
		h.metrics.panics.Inc()
	}
	h.log.Error().Str("endpoint", route).Str("panic", fmt.Sprint(p)).Bytes("stack", debug.Stack()).Msg("handler panic")
	ctx.Response.Reset()
	writeJSON(ctx, 500, `{"error":"server_error","error_description":"internal error"}`)
	ctx.Response.Header.Set("Pragma", "no-cache")
	res := endpoint.Result{Err: endpoint.NewError(endpoint.ServerError, "panic")}
	h.done(ctx, route, start, &res)
}

// done logs the request and counts it.
func (h *Handler) done(ctx *fasthttp.RequestCtx, route string, start time.Time, res *endpoint.Result) {
	now := time.Now()
	elapsed := now.Sub(start)
	status := ctx.Response.StatusCode()
	if status == 503 && len(ctx.Response.Header.Peek("Retry-After")) == 0 {
		// Every 503 says when to retry (RFC 9110 §10.2.3), whoever
		// answered it.
		ctx.Response.Header.Set("Retry-After", "1")
	}
	var e *endpoint.Error
	var grant endpoint.GrantType
	if res != nil {
		e, grant = res.Err, res.GrantType
	}
	gi, oi := grantIndex(grant), outcomeIndex(e, status)
	if m := h.metrics; m != nil {
		ri, stripe := routeIndex(route), stripeOf(ctx.ConnID())
		m.count(stripe, ri, gi, oi)
		m.observe(stripe, ri, gi, elapsed)
		if res != nil {
			h.countIssued(stripe, route, status, res)
			if e != nil && e.Cause != nil && errors.Is(e.Cause, store.ErrUnavailable) {
				m.storeErrors.Inc()
			}
		}
	}
	h.logRequest(ctx, route, status, now, elapsed, grantLabels[gi], outcomeLabels[oi], res)
}

func (h *Handler) countIssued(stripe uint, route string, status int, res *endpoint.Result) {
	if res.Err != nil || res.JTI == "" {
		return
	}
	m := h.metrics
	switch {
	case route == RouteToken:
		m.issued(stripe, issuedAccess)
		if res.RefreshIssued {
			m.issued(stripe, issuedRefresh)
		}
	case route == RouteAuthorize && res.GrantType == endpoint.GrantImplicit:
		m.issued(stripe, issuedAccess)
	case route == RouteAuthorize && status == 302:
		m.issued(stripe, issuedCode)
	}
}

// logRequest writes the request's log line. Only allow-listed values are
// written: route and label names from fixed sets, the client id of an
// authenticated client (from configuration) or, when authentication failed,
// the client id the request presented (printable ASCII, at most 255
// bytes; JSON-escaped by zerolog, or written as is by the request-line
// encoder only when it needs no escaping, so it cannot forge a line), the
// audience the endpoint chose (a configured name), a jti (an identifier,
// not a token), the client's address (remote: the peer, or the address
// the trusted proxies report, endpoint.ClientAddr), and an error cause
// built by pkg/ code that never quotes secrets.
func (h *Handler) logRequest(ctx *fasthttp.RequestCtx, route string, status int, now time.Time, elapsed time.Duration, grant, outcome string, res *endpoint.Result) {
	var cause error
	if res != nil && res.Err != nil {
		cause = res.Err.Cause
	}
	// The level first: a line the log drops costs no field.
	var ev *zerolog.Event
	lines := false // an info line the request-line encoder may write
	switch {
	case status >= 500:
		ev = h.log.Error()
	case cause != nil:
		// Every failed or throttled client authentication has one
		// (endpoint.ErrWrongSecret, ErrUnknownClient, secret.ErrThrottled,
		// ...), so a log kept at warn still shows each guess at a secret.
		ev = h.log.Warn()
	case h.lines != nil && h.log.GetLevel() <= zerolog.InfoLevel && zerolog.GlobalLevel() <= zerolog.InfoLevel:
		lines = true
	default:
		ev = h.log.Info()
	}
	if ev == nil && !lines {
		return
	}
	var addr [48]byte
	f := requestFields{route: route, method: methodLabel(ctx.Method()), status: status,
		remote: h.clientAddr(ctx).AppendTo(addr[:0]), latencyMicros: elapsed.Microseconds(),
		outcome: outcome, grant: grant, res: res}
	if lines {
		if writeRequestLine(h.lines, &f, formatStamp(now)) {
			return
		}
		if ev = h.log.Info(); ev == nil { // a line the encoder leaves to zerolog
			return
		}
	}
	f.addTo(ev).Msg("request")
}

// clientAddr is the address of the client behind ctx's request, by the
// endpoint server's rule (endpoint.ClientAddr: X-Forwarded-For through the
// trusted proxies): the address the rate limits count, and the one logged.
func (h *Handler) clientAddr(ctx *fasthttp.RequestCtx) netip.Addr {
	r := endpoint.Request{RemoteAddr: remoteAddr(ctx), Header: Header{h: &ctx.Request.Header}}
	return h.cur.Load().ep.ClientAddr(&r)
}

// methodLabel maps the request method onto the methods HTTP defines, so a
// client cannot write arbitrary text into the log.
func methodLabel(m []byte) string {
	switch string(m) {
	case "GET":
		return "GET"
	case "POST":
		return "POST"
	case "HEAD":
		return "HEAD"
	case "PUT":
		return "PUT"
	case "DELETE":
		return "DELETE"
	case "OPTIONS":
		return "OPTIONS"
	case "PATCH":
		return "PATCH"
	case "CONNECT":
		return "CONNECT"
	case "TRACE":
		return "TRACE"
	}
	return "other"
}
