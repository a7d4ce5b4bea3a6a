package server

import (
	"context"
	"errors"
	"fmt"

	"github.com/sealedtoken/issuer/internal/config"
	"github.com/sealedtoken/issuer/pkg/endpoint"
	"github.com/sealedtoken/issuer/pkg/jws"
)

// Route names of the SPEC §12 endpoints.
const (
	// RoutePAR is the pushed authorization request endpoint (RFC 9126).
	RoutePAR = "par"
	// RouteDeviceAuthorization is the device authorization endpoint
	// (RFC 8628 §3.1).
	RouteDeviceAuthorization = "device_authorization"
	// RouteDeviceVerification is the page where users enter user codes
	// (RFC 8628 §3.3).
	RouteDeviceVerification = "device"
)

// DeviceVerifier is a resource owner that also serves the device
// verification page (RFC 8628 §3.3) at the endpoint's
// Paths().DeviceVerification: login.Page does. Without one that path is
// answered 404.
type DeviceVerifier interface {
	ServeDevice(ctx context.Context, r *endpoint.Request) (*endpoint.Response, endpoint.Result)
}

// device serves the verification page under the same deadline as
// /authorize: its sign-in waits for the hash concurrency cap at most that
// long.
func (st *handlerState) device(c context.Context, r *endpoint.Request) (*endpoint.Response, endpoint.Result) {
	dv, ok := st.owner.(DeviceVerifier)
	if !ok {
		e := endpoint.NewError(endpoint.InvalidRequest, "no device verification page: this server cannot sign users in")
		e.Status = 404
		return endpoint.ErrorResponse(e), endpoint.Result{GrantType: endpoint.GrantDeviceCode}
	}
	c, cancel := context.WithTimeout(c, st.timeout)
	defer cancel()
	return dv.ServeDevice(c, r)
}

// grantOptions are the endpoint options of the SPEC §12 configuration:
// device code lifetime, the App's user-code limiters (kept across
// reloads, so a reload does not forgive a guesser), trusted issuers (their
// jwks_uri fetched by the App's fetcher, whose cache outlives reloads) and
// the global require_pushed_authorization_requests.
func (a *App) grantOptions(cfg *config.Config) ([]endpoint.Option, error) {
	trusted, err := trustedIssuers(cfg, a.fetcher)
	if err != nil {
		return nil, err
	}
	opts := []endpoint.Option{
		endpoint.WithUserCodeLimiters(a.userCodes[0], a.userCodes[1]),
		endpoint.WithTrustedIssuers(trusted...),
	}
	if cfg.Tokens.DeviceCodeTTL > 0 {
		opts = append(opts, endpoint.WithDeviceCodeLifetime(cfg.Tokens.DeviceCodeTTL))
	}
	if cfg.RequirePushedAuthorizationRequests {
		opts = append(opts, endpoint.WithPushedRequestsRequired())
	}
	return opts, nil
}

// trustedIssuers converts the configured trusted issuers (SPEC §12): an
// inline jwks is parsed once; a jwks_uri is fetched through fetch, with its
// SSRF guards, bounds and cache. subjects_as user maps a configured
// username to that user's id and refuses any other sub; as_is keeps sub
// but refuses one equal to a user id or a client id (RFC 9068 §5: the
// issuer must not speak for a local identity).
func trustedIssuers(cfg *config.Config, fetch endpoint.KeySetFetcher) ([]*endpoint.TrustedIssuer, error) {
	byName := make(map[string]string, len(cfg.Users))
	local := make(map[string]bool, len(cfg.Users)+len(cfg.Clients))
	for _, u := range cfg.Users {
		byName[u.Username] = u.ID
		local[u.ID] = true
	}
	for _, c := range cfg.Clients {
		local[c.ID] = true
	}
	list := make([]*endpoint.TrustedIssuer, 0, len(cfg.TrustedIssuers))
	for i, ti := range cfg.TrustedIssuers {
		out := &endpoint.TrustedIssuer{Issuer: ti.Issuer, Audience: ti.Audience}
		switch {
		case ti.JWKS != "":
			set, err := config.ParseTrustedJWKS(ti.JWKS)
			if err != nil {
				return nil, fmt.Errorf("%w: trusted_issuers[%d].jwks: %w", ErrConfig, i, err)
			}
			out.Keys = func(context.Context) jws.KeySource { return set }
		case fetch != nil:
			uri := ti.JWKSURI
			out.Keys = func(ctx context.Context) jws.KeySource {
				return jws.KeyFunc(func(h *jws.Header) (*jws.Key, error) {
					k, err := fetch.Key(ctx, uri, h)
					if err != nil && !errors.Is(err, jws.ErrUnknownKey) && ctx.Err() == nil {
						// Not the JWT's fault: the set cannot be had.
						err = fmt.Errorf("%w: %w", endpoint.ErrKeysUnavailable, err)
					}
					return k, err
				})
			}
		default:
			return nil, fmt.Errorf("%w: trusted_issuers[%d]: no JWK Set fetcher for jwks_uri", ErrConfig, i)
		}
		switch ti.SubjectsAs {
		case config.SubjectsAsUser:
			out.Subject = func(sub string) (string, bool) {
				id, ok := byName[sub]
				return id, ok
			}
		default:
			out.Subject = func(sub string) (string, bool) { return sub, !local[sub] }
		}
		list = append(list, out)
	}
	return list, nil
}
