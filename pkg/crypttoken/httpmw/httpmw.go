package httpmw

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/sealedtoken/issuer/pkg/crypttoken"
	"github.com/sealedtoken/issuer/pkg/crypttoken/internal/bearer"
)

// Errors reported to the WithErrorHook function besides those of
// crypttoken.Opener.Open. Match them with errors.Is.
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
	hook  func(*http.Request, error)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithRealm sets the realm of the challenges (RFC 6750 §3, RFC 7235 §2.2),
// which is omitted by default. It panics unless realm is printable ASCII
// without '"' or '\'.
func WithRealm(realm string) Option {
	if !bearer.ValidRealm(realm) {
		panic(fmt.Sprintf("httpmw: invalid realm %q", realm))
	}
	return optionFunc(func(c *config) { c.realm = realm })
}

// WithErrorHook sets a function told about every refused request, for logs
// and metrics: err is ErrNoToken, ErrBadRequest, ErrInsufficientScope, or
// the error of crypttoken.Opener.Open (match with errors.Is). The error
// never holds the token. The hook runs before the response is written.
func WithErrorHook(hook func(r *http.Request, err error)) Option {
	return optionFunc(func(c *config) { c.hook = hook })
}

// Require returns middleware that opens the request's bearer token with o
// and passes the request on, with the claims in its context, only when the
// token opens; otherwise it answers per RFC 6750 §3.
//
// Require panics if o is nil or an option is nil, as http.Handle does on a
// nil handler: both are mistakes in the program, not in a request.
func Require(o *crypttoken.Opener, opts ...Option) func(http.Handler) http.Handler {
	if o == nil {
		panic("httpmw: nil Opener")
	}
	cfg := &config{}
	for _, opt := range opts {
		if opt == nil {
			panic("httpmw: nil Option")
		}
		opt.apply(cfg)
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL != nil && strings.Contains(r.URL.RawQuery, bearer.QueryParam) && r.URL.Query().Has(bearer.QueryParam) {
				refuse(w, r, cfg, bearer.InQuery())
				return
			}
			token, err := bearer.Token(r.Header.Values("Authorization"))
			if err != nil {
				refuse(w, r, cfg, bearer.For(err))
				return
			}
			claims, err := o.Open(token)
			if err != nil {
				refuse(w, r, cfg, bearer.For(err))
				return
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, &ctxValue{claims: claims, cfg: cfg})))
		})
	}
}

// RequireScope returns middleware that passes a request on only if the
// token Require admitted holds every one of scopes (RFC 6749 §3.3: exact,
// case-sensitive scope tokens); otherwise it answers 403
// insufficient_scope (RFC 6750 §3.1). Behind no Require, it answers 401 as
// for a request without a token: it fails closed.
//
// RequireScope panics if scopes is empty or holds something that is not a
// scope-token.
func RequireScope(scopes ...string) func(http.Handler) http.Handler {
	if len(scopes) == 0 {
		panic("httpmw: RequireScope without scopes")
	}
	for _, s := range scopes {
		if !bearer.ValidScope(s) {
			panic(fmt.Sprintf("httpmw: invalid scope %q", s))
		}
	}
	scopes = append([]string(nil), scopes...)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			v, ok := r.Context().Value(ctxKey{}).(*ctxValue)
			switch {
			case !ok:
				refuse(w, r, &config{}, bearer.For(bearer.ErrNoToken))
			case !bearer.HasAll(v.claims, scopes):
				refuse(w, r, v.cfg, bearer.Insufficient(scopes))
			default:
				next.ServeHTTP(w, r)
			}
		})
	}
}

// ctxKey is the context key of the claims; ctxValue carries them with the
// configuration of the Require that admitted them, for RequireScope.
type ctxKey struct{}

type ctxValue struct {
	claims *crypttoken.Claims
	cfg    *config
}

// FromContext returns the claims of the token Require admitted.
func FromContext(ctx context.Context) (*crypttoken.Claims, bool) {
	v, ok := ctx.Value(ctxKey{}).(*ctxValue)
	if !ok {
		return nil, false
	}
	return v.claims, true
}

// NewContext returns a copy of ctx carrying claims, as Require passes them
// on: for testing handlers without tokens.
func NewContext(ctx context.Context, claims *crypttoken.Claims) context.Context {
	return context.WithValue(ctx, ctxKey{}, &ctxValue{claims: claims, cfg: &config{}})
}

func refuse(w http.ResponseWriter, r *http.Request, cfg *config, ref bearer.Refusal) {
	if cfg.hook != nil {
		cfg.hook(r, ref.Err)
	}
	h := w.Header()
	if ref.Challenged() {
		h.Set("WWW-Authenticate", ref.Challenge(cfg.realm))
	} else {
		h.Set("Retry-After", strconv.Itoa(ref.RetryAfter))
	}
	h.Set("Cache-Control", "no-store")
	body := ref.Body()
	if body != nil {
		h.Set("Content-Type", "application/json")
	}
	w.WriteHeader(ref.Status)
	_, _ = w.Write(body)
}
