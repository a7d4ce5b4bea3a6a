package fasthttpmw

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"unsafe"

	"github.com/valyala/fasthttp"

	"github.com/sealedtoken/issuer/pkg/crypttoken"
	"github.com/sealedtoken/issuer/pkg/crypttoken/internal/bearer"
	"github.com/sealedtoken/issuer/pkg/dpop"
)

// Errors reported to the WithErrorHook function besides those of
// crypttoken.Opener.Open; they are the same values as httpmw's. Match them
// with errors.Is.
var (
	// ErrNoToken means the request carries no bearer token.
	ErrNoToken = bearer.ErrNoToken
	// ErrBadRequest means the credentials are malformed, or the token was
	// sent in the URI query.
	ErrBadRequest = bearer.ErrBadRequest
	// ErrInsufficientScope means the token lacks a scope RequireScope asks
	// for.
	ErrInsufficientScope = bearer.ErrInsufficientScope
	// ErrBoundAsBearer means a DPoP-bound token was presented with the
	// Bearer scheme (RFC 9449 §7.2).
	ErrBoundAsBearer = bearer.ErrBoundAsBearer
	// ErrNotBound means the DPoP scheme came with a token that is not
	// DPoP-bound (RFC 9449 §7.1).
	ErrNotBound = bearer.ErrNotBound
)

// Option configures Require.
type Option interface{ apply(*config) }

type config struct {
	realm string
	hook  func(*fasthttp.RequestCtx, error)
	bind  bearer.BindingConfig
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithRealm sets the realm of the challenges (RFC 6750 §3, RFC 7235 §2.2),
// which is omitted by default. It panics unless realm is printable ASCII
// without '"' or '\'.
func WithRealm(realm string) Option {
	if !bearer.ValidRealm(realm) {
		panic(fmt.Sprintf("fasthttpmw: invalid realm %q", realm))
	}
	return optionFunc(func(c *config) { c.realm = realm })
}

// WithErrorHook sets a function told about every refused request, for logs
// and metrics: err is ErrNoToken, ErrBadRequest, ErrInsufficientScope, or
// the error of crypttoken.Opener.Open (match with errors.Is). The error
// never holds the token. The hook runs before the response is written.
func WithErrorHook(hook func(ctx *fasthttp.RequestCtx, err error)) Option {
	return optionFunc(func(c *config) { c.hook = hook })
}

// WithDPoPReplayCache makes every DPoP proof single-use (RFC 9449 §11.1):
// its key's thumbprint and jti are recorded in c until the proof could no
// longer be accepted, and a proof seen before is refused. Use a
// dpop.MemoryReplay sized above the peak proof rate times the acceptance
// window (70 s), or a cache shared by the replicas of the resource server.
// A cache that fails refuses the request (503), never accepts it. The
// cache is called with context.Background(): a fasthttp request has no
// context of its own.
func WithDPoPReplayCache(c dpop.ReplayCache) Option {
	if c == nil {
		panic("fasthttpmw: nil DPoP replay cache")
	}
	return optionFunc(func(cfg *config) { cfg.bind.Replay = c })
}

// WithDPoPNonces requires DPoP proofs to carry a nonce n issued (RFC 9449
// §9): a proof without one is answered 401 use_dpop_nonce with the nonce
// in the DPoP-Nonce header.
func WithDPoPNonces(n *dpop.Nonces) Option {
	if n == nil {
		panic("fasthttpmw: nil DPoP nonces")
	}
	return optionFunc(func(cfg *config) { cfg.bind.Nonces = n })
}

// WithTrustedProxies lists the networks of the TLS-terminating proxies in
// front of the resource server: from them, and only from them,
// X-Forwarded-Proto and X-Forwarded-Host give the URI a DPoP proof's htu
// must match, and the RFC 9440 Client-Cert header gives the client
// certificate of a certificate-bound token (the TLS peer is then the
// proxy, whose own certificate is never taken for the client's).
func WithTrustedProxies(prefixes ...netip.Prefix) Option {
	for _, p := range prefixes {
		if !p.IsValid() {
			panic("fasthttpmw: invalid trusted proxy prefix")
		}
	}
	return optionFunc(func(cfg *config) { cfg.bind.TrustedProxies = append(cfg.bind.TrustedProxies, prefixes...) })
}

// WithExternalURL sets the scheme, host and path prefix by which clients
// address this resource server, such as "https://api.example.com": a DPoP
// proof's htu must then be it followed by the request's path, whatever the
// Host header or a proxy says. It panics unless u is an absolute http or
// https URL without query or fragment.
func WithExternalURL(u string) Option {
	if _, err := bearer.NewBinding(bearer.BindingConfig{ExternalURL: u}); err != nil {
		panic(fmt.Sprintf("fasthttpmw: %v", err))
	}
	return optionFunc(func(cfg *config) { cfg.bind.ExternalURL = u })
}

// Require returns middleware that opens the request's access token with o
// and calls the next handler, with the claims available from FromRequest,
// only when the token opens and is presented as its binding requires;
// otherwise it answers per RFC 6750 §3 and RFC 9449 §7.1.
//
// A token is accepted with the Bearer scheme, or with the DPoP scheme and
// a DPoP proof. A token bound to a DPoP key (cnf.jkt) needs the DPoP scheme
// and a valid proof of that key for this request (RFC 9449 §4.3: htm, htu,
// iat, ath); a token bound to a client certificate (cnf.x5t#S256) needs
// that certificate (RFC 8705 §3). A binding that cannot be checked fails:
// a bound token never passes as a bearer token.
//
// Require panics if o is nil or an option is nil: both are mistakes in the
// program, not in a request.
func Require(o *crypttoken.Opener, opts ...Option) func(fasthttp.RequestHandler) fasthttp.RequestHandler {
	if o == nil {
		panic("fasthttpmw: nil Opener")
	}
	cfg := &config{}
	for _, opt := range opts {
		if opt == nil {
			panic("fasthttpmw: nil Option")
		}
		opt.apply(cfg)
	}
	binding, err := bearer.NewBinding(cfg.bind)
	if err != nil {
		panic(fmt.Sprintf("fasthttpmw: %v", err))
	}
	return func(next fasthttp.RequestHandler) fasthttp.RequestHandler {
		return func(ctx *fasthttp.RequestCtx) {
			if ctx.QueryArgs().Has(bearer.QueryParam) {
				refuse(ctx, cfg, bearer.InQuery())
				return
			}
			// The header values are views of fasthttp's request buffer,
			// valid during this call; Open does not retain its input.
			var buf [2]string
			values := buf[:0]
			for _, v := range ctx.Request.Header.PeekAll(fasthttp.HeaderAuthorization) {
				values = append(values, view(v))
			}
			scheme, token, err := bearer.Credentials(values)
			if err != nil {
				refuse(ctx, cfg, bearer.For(err))
				return
			}
			claims, ref, ok := binding.Authenticate(context.Background(), o, scheme, token, func() *bearer.Request { return bindingRequest(ctx) })
			if !ok {
				refuse(ctx, cfg, ref)
				return
			}
			ctx.SetUserValue(userKey{}, &userValue{claims: claims, cfg: cfg, scheme: scheme})
			next(ctx)
		}
	}
}

// bindingRequest describes ctx's request for the binding checks; its
// strings are views of fasthttp's buffers, valid during the handler.
func bindingRequest(ctx *fasthttp.RequestCtx) *bearer.Request {
	req := &bearer.Request{
		Method: view(ctx.Method()),
		Path:   view(ctx.Request.URI().PathOriginal()),
		Host:   view(ctx.Host()),
		TLS:    ctx.IsTLS(),
		Values: func(name string) []string {
			var out []string
			for _, v := range ctx.Request.Header.PeekAll(name) {
				out = append(out, view(v))
			}
			return out
		},
	}
	if a, ok := netip.AddrFromSlice(ctx.RemoteIP()); ok {
		req.Peer = a.Unmap()
	}
	if st := ctx.TLSConnectionState(); st != nil && len(st.PeerCertificates) > 0 {
		req.PeerCertificate = st.PeerCertificates[0]
	}
	return req
}

// RequireScope returns middleware that calls the next handler only if the
// token Require admitted holds every one of scopes (RFC 6749 §3.3: exact,
// case-sensitive scope tokens); otherwise it answers 403
// insufficient_scope (RFC 6750 §3.1). Behind no Require, it answers 401 as
// for a request without a token: it fails closed.
//
// RequireScope panics if scopes is empty or holds something that is not a
// scope-token.
func RequireScope(scopes ...string) func(fasthttp.RequestHandler) fasthttp.RequestHandler {
	if len(scopes) == 0 {
		panic("fasthttpmw: RequireScope without scopes")
	}
	for _, s := range scopes {
		if !bearer.ValidScope(s) {
			panic(fmt.Sprintf("fasthttpmw: invalid scope %q", s))
		}
	}
	scopes = append([]string(nil), scopes...)
	return func(next fasthttp.RequestHandler) fasthttp.RequestHandler {
		return func(ctx *fasthttp.RequestCtx) {
			v, ok := ctx.UserValue(userKey{}).(*userValue)
			switch {
			case !ok:
				refuse(ctx, &config{}, bearer.For(bearer.ErrNoToken))
			case !bearer.HasAll(v.claims, scopes):
				ref := bearer.Insufficient(scopes)
				if v.scheme == bearer.SchemeDPoP {
					ref.Scheme = v.scheme
				}
				refuse(ctx, v.cfg, ref)
			default:
				next(ctx)
			}
		}
	}
}

// userKey is the user-value key of the claims; userValue carries them with
// the configuration of the Require that admitted them, for RequireScope.
type userKey struct{}

type userValue struct {
	claims *crypttoken.Claims
	cfg    *config
	scheme string
}

// FromRequest returns the claims of the token Require admitted for the
// request of ctx.
func FromRequest(ctx *fasthttp.RequestCtx) (*crypttoken.Claims, bool) {
	v, ok := ctx.UserValue(userKey{}).(*userValue)
	if !ok {
		return nil, false
	}
	return v.claims, true
}

// SetClaims stores claims for the request of ctx, as Require does: for
// testing handlers without tokens.
func SetClaims(ctx *fasthttp.RequestCtx, claims *crypttoken.Claims) {
	ctx.SetUserValue(userKey{}, &userValue{claims: claims, cfg: &config{}})
}

func refuse(ctx *fasthttp.RequestCtx, cfg *config, ref bearer.Refusal) {
	if cfg.hook != nil {
		cfg.hook(ctx, ref.Err)
	}
	h := &ctx.Response.Header
	h.Del(fasthttp.HeaderWWWAuthenticate)
	if ref.Challenged() {
		for _, c := range ref.Challenges(cfg.realm, bearer.DPoPAlgs) {
			h.Add(fasthttp.HeaderWWWAuthenticate, c)
		}
	} else {
		h.Set(fasthttp.HeaderRetryAfter, strconv.Itoa(ref.RetryAfter))
	}
	if ref.Nonce != "" {
		h.Set(dpop.NonceHeader, ref.Nonce)
	}
	h.Set(fasthttp.HeaderCacheControl, "no-store")
	ctx.SetStatusCode(ref.Status)
	if body := ref.Body(); body != nil {
		ctx.SetContentType("application/json")
		ctx.SetBody(body)
	} else {
		ctx.ResetBody()
	}
}

// view returns b as a string without copying; b must not change while the
// string is in use.
func view(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
