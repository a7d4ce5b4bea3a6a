package endpoint

import (
	"slices"
)

// PathOpenIDConfiguration is where OpenID Connect Discovery 1.0 §4 puts the
// provider configuration, relative to the issuer URL.
const PathOpenIDConfiguration = "/.well-known/openid-configuration"

// OpenIDConfiguration returns the OpenID Provider configuration document
// (OpenID Connect Discovery 1.0 §3, §4.2), to serve at
// PathOpenIDConfiguration under the issuer URL, or nil when the Server is
// not an OpenID Provider (answer 404).
//
// It is the RFC 8414 document of Metadata, byte for byte: one builder
// makes both, so they cannot disagree on the issuer or an endpoint. RFC
// 8414 §2 registers the OpenID members (userinfo_endpoint,
// subject_types_supported, ...) for its document too, and a client that
// reads either finds the same server.
func (s *Server) OpenIDConfiguration() *Response {
	if s.oidc == nil {
		return nil
	}
	return s.Metadata()
}

// openIDClaims are the claims an ID token or UserInfo response may carry,
// for claims_supported (Discovery §3): the standard claims and the ID
// token's own (Core §2).
var openIDClaims = append(slices.Clone(StandardClaims),
	"iss", "aud", "exp", "iat", "auth_time", "nonce", "azp", "at_hash", "amr", "sid")

// addOpenIDMetadata adds the members of OpenID Connect Discovery 1.0 §3 to
// a metadata document whose endpoint URLs start with base: the UserInfo and
// end-session endpoints (RP-Initiated Logout 1.0 §2.1), "public" subjects,
// the signing ring's algorithms, the claims and scopes, and what is not
// supported (request objects, whose absence Discovery makes explicit since
// request_uri_parameter_supported defaults to true).
//
// Decision: id_token_signing_alg_values_supported lists the algorithms of
// the signing ring's keys (keys.signing_alg: ES256 by default), not RS256
// unless it is one: Discovery §3 asks every OP to include RS256, but this
// server signs with the ring's algorithm only, and advertising one it never
// uses would mislead clients that pick an algorithm from the list.
func (s *Server) addOpenIDMetadata(doc map[string]any, base string) {
	if s.oidc == nil {
		return
	}
	if s.paths.UserInfo != "" {
		doc["userinfo_endpoint"] = base + s.paths.UserInfo
	}
	if s.paths.EndSession != "" {
		doc["end_session_endpoint"] = base + s.paths.EndSession
	}
	var algs []string
	for _, k := range s.oidc.signing.Load().Keys() {
		if a := string(k.Alg); k.Alg.Signing() && !slices.Contains(algs, a) {
			algs = append(algs, a)
		}
	}
	slices.Sort(algs)
	doc["id_token_signing_alg_values_supported"] = algs
	doc["subject_types_supported"] = []string{"public"}
	doc["claims_supported"] = openIDClaims
	doc["claim_types_supported"] = []string{"normal"}
	doc["claims_parameter_supported"] = true
	doc["request_parameter_supported"] = false
	doc["request_uri_parameter_supported"] = false
	doc["prompt_values_supported"] = []string{PromptNone, PromptLogin, PromptConsent, PromptSelectAccount}
	scopes := slices.Clone(s.scopes)
	if !slices.Contains(scopes, ScopeOpenID) {
		scopes = append(scopes, ScopeOpenID)
		slices.Sort(scopes)
	}
	doc["scopes_supported"] = scopes
}
