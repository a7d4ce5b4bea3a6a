package bearer

import (
	"context"
	"crypto/x509"
	"errors"
	"net/netip"
	"net/url"
	"slices"
	"strings"

	"github.com/sealedtoken/issuer/internal/authheader"
	"github.com/sealedtoken/issuer/pkg/certbind"
	"github.com/sealedtoken/issuer/pkg/crypttoken"
	"github.com/sealedtoken/issuer/pkg/dpop"
)

// Authorization schemes (RFC 6750 §2.1, RFC 9449 §7.1).
const (
	SchemeBearer = "Bearer"
	SchemeDPoP   = dpop.Scheme
)

// Refusals of the binding checks, as reported to error hooks besides the
// errors of pkg/dpop (the proof) and pkg/certbind (the certificate).
var (
	// ErrBoundAsBearer means a DPoP-bound access token (cnf.jkt) was
	// presented with the Bearer scheme (RFC 9449 §7.2).
	ErrBoundAsBearer = errors.New("bearer: a DPoP-bound access token presented as a bearer token")
	// ErrNotBound means the DPoP scheme was used with an access token that
	// is not DPoP-bound (RFC 9449 §7.1).
	ErrNotBound = errors.New("bearer: the DPoP scheme with an access token that is not DPoP-bound")
)

// CodeInvalidDPoPProof and CodeUseNonce are the RFC 9449 §7.1, §9 error
// codes of a protected resource's DPoP challenge.
const (
	CodeInvalidDPoPProof = dpop.CodeInvalidProof
	CodeUseDPoPNonce     = dpop.CodeUseNonce
)

// Credentials reads the access token and its scheme from the values of the
// Authorization header fields (RFC 6750 §2.1, RFC 9449 §7.1):
//
//	credentials = ( "Bearer" / "DPoP" ) 1*SP b64token
//
// with the scheme case-insensitive. Errors are those of Token: ErrNoToken
// for no field or another scheme, ErrBadRequest for several fields or a
// malformed credential. scheme is SchemeBearer or SchemeDPoP.
func Credentials(values []string) (scheme, token string, err error) {
	scheme, token, err = authheader.Credentials(values, SchemeBearer, SchemeDPoP)
	if err != nil {
		return "", "", refusal(err)
	}
	return scheme, token, nil
}

// Request is what the binding checks read of an HTTP request; each
// middleware fills it from its own request type. Its strings may alias
// the request's buffers: Check keeps nothing after it returns.
type Request struct {
	Method string
	// Path is the request's path, as sent (escaped), without the query.
	Path string
	// Host is the Host header (or HTTP/2 :authority).
	Host string
	// TLS reports whether the request came over TLS.
	TLS bool
	// Peer is the address of the peer.
	Peer netip.Addr
	// Values returns every value of a header field.
	Values func(name string) []string
	// PeerCertificate is the TLS client certificate (the leaf the
	// handshake proved possession of), or nil.
	PeerCertificate *x509.Certificate
}

// Binding checks that an access token is presented the way its cnf claim
// requires (RFC 9449 §7, RFC 8705 §3). It is immutable and safe for
// concurrent use.
type Binding struct {
	dpop           *dpop.Verifier
	nonces         *dpop.Nonces
	trustedProxies []netip.Prefix
	externalURL    string
}

// BindingConfig configures NewBinding; its zero value verifies DPoP proofs
// with pkg/dpop's defaults, without a replay cache or nonces, takes the
// request URI from the Host header and the connection, and believes no
// proxy.
type BindingConfig struct {
	// Replay, if set, makes every proof single-use (RFC 9449 §11.1).
	Replay dpop.ReplayCache
	// Nonces, if set, are required in proofs (RFC 9449 §9).
	Nonces *dpop.Nonces
	// TrustedProxies are the networks whose X-Forwarded-Proto,
	// X-Forwarded-Host and RFC 9440 Client-Cert headers are believed.
	TrustedProxies []netip.Prefix
	// ExternalURL, if set, is the scheme, host and path prefix by which
	// clients address this resource server (htu is ExternalURL + the
	// request's path); it overrides the Host header and the forwarded
	// headers.
	ExternalURL string
}

// NewBinding returns a Binding.
func NewBinding(c BindingConfig) (*Binding, error) {
	opts := []dpop.Option{}
	if c.Replay != nil {
		opts = append(opts, dpop.WithReplayCache(c.Replay))
	}
	if c.Nonces != nil {
		opts = append(opts, dpop.WithNonces(c.Nonces))
	}
	v, err := dpop.NewVerifier(opts...)
	if err != nil {
		return nil, err
	}
	if c.ExternalURL != "" {
		u, err := url.Parse(c.ExternalURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return nil, errors.New("bearer: the external URL must be an absolute http or https URL without query, fragment or user")
		}
	}
	return &Binding{
		dpop: v, nonces: c.Nonces, trustedProxies: slices.Clone(c.TrustedProxies),
		externalURL: strings.TrimSuffix(c.ExternalURL, "/"),
	}, nil
}

// DPoPAlgs is the algs attribute of the DPoP challenge (RFC 9449 §7.1):
// the algorithms a Binding accepts in proofs.
var DPoPAlgs = strings.Join(dpop.Algorithms, " ")

// Check checks that the request r presents the access token c, sent as
// token with scheme (Credentials), as its binding requires:
//
//   - a DPoP-bound token (cnf.jkt) only with the DPoP scheme (§7.2: never
//     as Bearer) and a valid proof for this request (§4.3): one DPoP
//     header, a dpop+jwt signed by the key of its jwk with an allowed
//     algorithm, htm the method, htu the request URI, iat within the
//     window, ath the hash of token, the key's thumbprint cnf.jkt, the
//     nonce when required, and never seen before with a replay cache;
//   - the DPoP scheme only with a DPoP-bound token (§7.1);
//   - a certificate-bound token (cnf.x5t#S256) only with that client
//     certificate (RFC 8705 §3): the TLS one, or, from a trusted proxy, its
//     Client-Cert header; a binding that cannot be checked fails.
//
// A bearer token with the Bearer scheme passes, whatever DPoP header the
// request also carries. ok is false with the refusal to answer.
func (b *Binding) Check(ctx context.Context, c *crypttoken.Claims, scheme, token string, r *Request) (Refusal, bool) {
	cnf := c.Confirmation
	switch {
	case cnf.JKT != "" && scheme != SchemeDPoP:
		return b.dpopRefusal(CodeInvalidToken, "the access token is DPoP-bound: present it with the DPoP scheme and a proof", ErrBoundAsBearer), false
	case cnf.JKT == "" && scheme == SchemeDPoP:
		return b.dpopRefusal(CodeInvalidToken, "the access token is not DPoP-bound: present it with the Bearer scheme", ErrNotBound), false
	case cnf.JKT != "":
		req := dpop.Request{Method: r.Method, URI: b.requestURI(r), AccessToken: token, JKT: cnf.JKT}
		if _, err := b.dpop.Verify(ctx, r.Values(dpop.HeaderName), req); err != nil {
			code := dpop.ErrorCode(err)
			if code == "" {
				// The replay cache failed, or the URI could not be
				// built: no verdict, but never an accept.
				// No error code: the token and proof may be fine.
				return Refusal{Status: statusServiceUnavailable, Scheme: SchemeDPoP, Err: err}, false
			}
			ref := b.dpopRefusal(code, cleanDescription(dpop.Description(err)), err)
			if code == CodeUseDPoPNonce && b.nonces != nil {
				ref.Nonce = b.nonces.Current()
			}
			return ref, false
		}
	}
	if cnf.X5TS256 != "" {
		cert, err := b.certificate(r)
		if err == nil {
			err = certbind.CheckBinding(cert, cnf.X5TS256)
		}
		if err != nil {
			return Refusal{Status: statusUnauthorized, Code: CodeInvalidToken, Scheme: scheme,
				Description: "the access token is bound to a client certificate that was not presented", Err: err}, false
		}
	}
	return Refusal{}, true
}

// Authenticate opens the token a request presented with scheme and, when
// the token is bound or came with the DPoP scheme, checks its binding
// against the request req describes (called only then, so that a bearer
// token costs no request description). It returns the claims, or ok false
// with the refusal to answer: a token that does not open is refused with
// the DPoP challenge when it came with that scheme (RFC 9449 §7.1), with
// the Bearer one otherwise. Both middlewares call it, so that they refuse
// alike.
func (b *Binding) Authenticate(ctx context.Context, o *crypttoken.Opener, scheme, token string, req func() *Request) (*crypttoken.Claims, Refusal, bool) {
	claims, err := o.Open(token)
	if err != nil {
		ref := For(err)
		if scheme == SchemeDPoP {
			ref.Scheme = scheme
		}
		return nil, ref, false
	}
	if !claims.Confirmation.IsZero() || scheme != SchemeBearer {
		if ref, ok := b.Check(ctx, claims, scheme, token, req()); !ok {
			return nil, ref, false
		}
	}
	return claims, Refusal{}, true
}

// dpopRefusal is a 401 with a DPoP challenge.
func (b *Binding) dpopRefusal(code, description string, err error) Refusal {
	return Refusal{Status: statusUnauthorized, Code: code, Scheme: SchemeDPoP, Description: description, Err: err}
}

// trusted reports whether r's peer is a trusted proxy.
func (b *Binding) trusted(r *Request) bool {
	if len(b.trustedProxies) == 0 || !r.Peer.IsValid() {
		return false
	}
	a := r.Peer.Unmap()
	return slices.ContainsFunc(b.trustedProxies, func(p netip.Prefix) bool { return p.Contains(a) })
}

// requestURI is the URI the client addressed, for htu (RFC 9449 §4.3 (9)):
// ExternalURL + path when configured; else the scheme (https over TLS,
// else X-Forwarded-Proto from a trusted proxy, else http) and host (the
// X-Forwarded-Host of a trusted proxy, else Host) with the path.
func (b *Binding) requestURI(r *Request) string {
	if b.externalURL != "" {
		return b.externalURL + r.Path
	}
	scheme, host := "http", r.Host
	if r.TLS {
		scheme = "https"
	}
	if b.trusted(r) {
		if p := lastValue(r.Values("X-Forwarded-Proto")); p == "https" || p == "http" {
			scheme = p
		}
		if h := lastValue(r.Values("X-Forwarded-Host")); h != "" {
			host = h
		}
	}
	return scheme + "://" + host + r.Path
}

// lastValue is the last element of the last field of a list header: what
// the nearest proxy wrote.
func lastValue(values []string) string {
	if len(values) == 0 {
		return ""
	}
	v := values[len(values)-1]
	if i := strings.LastIndexByte(v, ','); i >= 0 {
		v = v[i+1:]
	}
	return strings.ToLower(strings.TrimSpace(v))
}

// certificate is the client certificate of r: from a trusted proxy its
// Client-Cert header alone (RFC 9440 §4), else the TLS one.
func (b *Binding) certificate(r *Request) (*x509.Certificate, error) {
	if b.trusted(r) {
		return certbind.ParseHeader(r.Values(certbind.HeaderName))
	}
	if r.PeerCertificate == nil {
		return nil, certbind.ErrNoCertificate
	}
	return r.PeerCertificate, nil
}
