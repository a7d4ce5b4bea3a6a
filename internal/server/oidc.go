package server

import (
	"context"
	"net/url"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sealedtoken/issuer/internal/login"
	"github.com/sealedtoken/issuer/pkg/endpoint"
)

// Route names of the OpenID Connect endpoints (SPEC §11).
const (
	RouteUserInfo   = "userinfo"
	RouteEndSession = "end_session"
	// RouteOpenIDConfiguration is the OpenID Connect Discovery 1.0 §4
	// document at endpoint.PathOpenIDConfiguration.
	RouteOpenIDConfiguration = "openid_configuration"
)

// openIDOption makes the endpoint server an OpenID Provider (SPEC §11): ID
// tokens signed with the signing ring, the UserInfo and end-session
// endpoints and the discovery document; the users' standard claims come
// from users (nil: none configured, as with a trusted header alone).
func openIDOption(k *KeyRings, users *login.Users) endpoint.Option {
	o := endpoint.OpenID{Signing: k.Signing()}
	if users != nil {
		o.Claims = users
	}
	return endpoint.WithOpenID(o)
}

// openIDLogin sets the login page's single sign-on, remembered consent and
// logout settings from the configuration (login.session_ttl,
// login.consent_ttl, login.trusted_amr): 0s in the file disables what a
// zero would make a default in login.Config. The logout confirmation form
// posts to the end-session endpoint's path under the issuer URL's path.
func openIDLogin(lc *login.Config, deps OwnerDeps) {
	cfg := deps.Config
	lc.Store = deps.Store
	lc.SessionTTL, lc.ConsentTTL = cfg.Login.SessionTTL, cfg.Login.ConsentTTL
	if lc.SessionTTL == 0 {
		lc.SessionTTL = -1
	}
	if lc.ConsentTTL == 0 {
		lc.ConsentTTL = -1
	}
	lc.ProxyAMR = cfg.Login.TrustedAMR
	lc.EndSessionPath = deps.Endpoint.Paths().EndSession
	if u, err := url.Parse(cfg.Issuer); err == nil {
		lc.EndSessionPath = strings.TrimSuffix(u.EscapedPath(), "/") + lc.EndSessionPath
	}
}

// endSession adapts HandleEndSession to the signature of the other
// endpoints, under the /authorize deadline: the login page (the resource
// owner, when it implements endpoint.SessionEnder) ends the session; with
// another owner, or none, the user is signed out of nothing and sent on.
func (st *handlerState) endSession(c context.Context, r *endpoint.Request) (*endpoint.Response, endpoint.Result) {
	c, cancel := context.WithTimeout(c, st.timeout)
	defer cancel()
	ender, _ := st.owner.(endpoint.SessionEnder)
	return st.ep.HandleEndSession(c, r, ender)
}

// serveOpenIDConfiguration answers GET or HEAD of the discovery document,
// 404 when the endpoint server is not an OpenID Provider.
func (h *Handler) serveOpenIDConfiguration(ctx *fasthttp.RequestCtx, ep *endpoint.Server, start time.Time) {
	if resp := ep.OpenIDConfiguration(); resp != nil {
		writeResponse(ctx, resp)
	} else {
		writeJSON(ctx, 404, `{"error":"not_found","error_description":"no such endpoint"}`)
	}
	h.done(ctx, RouteOpenIDConfiguration, start, nil)
}
