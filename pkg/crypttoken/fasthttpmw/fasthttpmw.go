package fasthttpmw

import (
	"fmt"
	"strconv"
	"unsafe"

	"github.com/valyala/fasthttp"

	"github.com/sealedtoken/issuer/pkg/crypttoken"
	"github.com/sealedtoken/issuer/pkg/crypttoken/internal/bearer"
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
)

// Option configures Require.
type Option interface{ apply(*config) }

type config struct {
	realm string
	hook  func(*fasthttp.RequestCtx, error)
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

// Require returns middleware that opens the request's bearer token with o
// and calls the next handler, with the claims available from FromRequest,
// only when the token opens; otherwise it answers per RFC 6750 §3.
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
			token, err := bearer.Token(values)
			if err != nil {
				refuse(ctx, cfg, bearer.For(err))
				return
			}
			claims, err := o.Open(token)
			if err != nil {
				refuse(ctx, cfg, bearer.For(err))
				return
			}
			ctx.SetUserValue(userKey{}, &userValue{claims: claims, cfg: cfg})
			next(ctx)
		}
	}
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
				refuse(ctx, v.cfg, bearer.Insufficient(scopes))
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
	if ref.Challenged() {
		h.Set(fasthttp.HeaderWWWAuthenticate, ref.Challenge(cfg.realm))
	} else {
		h.Set(fasthttp.HeaderRetryAfter, strconv.Itoa(ref.RetryAfter))
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
