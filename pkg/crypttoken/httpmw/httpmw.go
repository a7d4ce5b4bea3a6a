package httpmw

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"strings"

	"github.com/sealedtoken/issuer/pkg/crypttoken"
	"github.com/sealedtoken/issuer/pkg/crypttoken/internal/bearer"
	"github.com/sealedtoken/issuer/pkg/dpop"
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
	hook  func(*http.Request, error)
	bind  bearer.BindingConfig
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

// WithDPoPReplayCache makes every DPoP proof single-use (RFC 9449 §11.1):
// its key's thumbprint and jti are recorded in c until the proof could no
// longer be accepted, and a proof seen before is refused. Use a
// dpop.MemoryReplay sized above the peak proof rate times the acceptance
// window (70 s), or a cache shared by the replicas of the resource server.
// A cache that fails refuses the request (503), never accepts it.
func WithDPoPReplayCache(c dpop.ReplayCache) Option {
	if c == nil {
		panic("httpmw: nil DPoP replay cache")
	}
	return optionFunc(func(cfg *config) { cfg.bind.Replay = c })
}

// WithDPoPNonces requires DPoP proofs to carry a nonce n issued (RFC 9449
// §9): a proof without one is answered 401 use_dpop_nonce with the nonce
// in the DPoP-Nonce header.
func WithDPoPNonces(n *dpop.Nonces) Option {
	if n == nil {
		panic("httpmw: nil DPoP nonces")
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
			panic("httpmw: invalid trusted proxy prefix")
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
		panic(fmt.Sprintf("httpmw: %v", err))
	}
	return optionFunc(func(cfg *config) { cfg.bind.ExternalURL = u })
}

// Require returns middleware that opens the request's access token with o
// and passes the request on, with the claims in its context, only when the
// token opens and is presented as its binding requires; otherwise it
// answers per RFC 6750 §3 and RFC 9449 §7.1.
//
// A token is accepted with the Bearer scheme, or with the DPoP scheme and
// a DPoP proof. A token bound to a DPoP key (cnf.jkt) needs the DPoP scheme
// and a valid proof of that key for this request (RFC 9449 §4.3: htm, htu,
// iat, ath); a token bound to a client certificate (cnf.x5t#S256) needs
// that certificate (RFC 8705 §3). A binding that cannot be checked fails:
// a bound token never passes as a bearer token.
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
	binding, err := bearer.NewBinding(cfg.bind)
	if err != nil {
		panic(fmt.Sprintf("httpmw: %v", err))
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL != nil && strings.Contains(r.URL.RawQuery, bearer.QueryParam) && r.URL.Query().Has(bearer.QueryParam) {
				refuse(w, r, cfg, bearer.InQuery())
				return
			}
			scheme, token, err := bearer.Credentials(r.Header.Values("Authorization"))
			if err != nil {
				refuse(w, r, cfg, bearer.For(err))
				return
			}
			claims, ref, ok := binding.Authenticate(r.Context(), o, scheme, token, func() *bearer.Request { return bindingRequest(r) })
			if !ok {
				refuse(w, r, cfg, ref)
				return
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, &ctxValue{claims: claims, cfg: cfg, scheme: scheme})))
		})
	}
}

// bindingRequest describes r for the binding checks.
func bindingRequest(r *http.Request) *bearer.Request {
	req := &bearer.Request{Method: r.Method, Host: r.Host, TLS: r.TLS != nil, Values: r.Header.Values}
	if r.URL != nil {
		req.Path = r.URL.EscapedPath()
	}
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		req.Peer = ap.Addr()
	} else if a, err := netip.ParseAddr(r.RemoteAddr); err == nil {
		req.Peer = a
	}
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		req.PeerCertificate = r.TLS.PeerCertificates[0]
	}
	return req
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
				ref := bearer.Insufficient(scopes)
				if v.scheme == bearer.SchemeDPoP {
					ref.Scheme = v.scheme
				}
				refuse(w, r, v.cfg, ref)
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
	scheme string
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
	h.Del("WWW-Authenticate")
	if ref.Challenged() {
		for _, c := range ref.Challenges(cfg.realm, bearer.DPoPAlgs) {
			h.Add("WWW-Authenticate", c)
		}
	} else {
		h.Set("Retry-After", strconv.Itoa(ref.RetryAfter))
	}
	if ref.Nonce != "" {
		h.Set(dpop.NonceHeader, ref.Nonce)
	}
	h.Set("Cache-Control", "no-store")
	body := ref.Body()
	if body != nil {
		h.Set("Content-Type", "application/json")
	}
	w.WriteHeader(ref.Status)
	_, _ = w.Write(body)
}
