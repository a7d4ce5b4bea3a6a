package config

import (
	"slices"
	"strings"

	"github.com/sealedtoken/issuer/pkg/jws"
)

// grants12 checks the keys of SPEC §12: trusted_issuers, and the clients'
// token_exchange and require_pushed_authorization_requests, against the
// grants that use them.
func (v *validator) grants12(c *Config) {
	audiences := make(map[string]bool, len(c.Audiences))
	for _, a := range c.Audiences {
		audiences[a.Name] = true
	}
	for i := range c.Clients {
		cl := &c.Clients[i]
		p := idx("clients", i)
		te := cl.TokenExchange.Audiences
		switch {
		case cl.HasGrant(GrantTokenExchange) && len(te) == 0:
			v.errf(p+".token_exchange.audiences", "required with the token-exchange grant: the audiences the client may exchange tokens into (RFC 8693 §2.1)")
		case !cl.HasGrant(GrantTokenExchange) && len(te) > 0:
			v.errf(p+".token_exchange.audiences", "set, but the client does not have the token-exchange grant (%s)", GrantTokenExchange)
		}
		seen := make(map[string]bool, len(te))
		for j, a := range te {
			switch {
			case !audiences[a]:
				v.errf(idx(p+".token_exchange.audiences", j), "unknown audience %q (not in audiences)", a)
			case seen[a]:
				v.errf(idx(p+".token_exchange.audiences", j), "duplicate audience %q", a)
			}
			seen[a] = true
		}
		if cl.HasGrant(GrantTokenExchange) && cl.Public {
			v.errf(p+".grant_types", "a public client cannot use token exchange: it cannot authenticate, and anyone could act with the tokens it holds (RFC 8693 §2.1)")
		}
		if cl.HasGrant(GrantJWTBearer) && len(c.TrustedIssuers) == 0 {
			v.errf(p+".grant_types", "the jwt-bearer grant needs trusted_issuers, and there are none")
		}
		if cl.RequirePushedAuthorizationRequests && !cl.HasGrant(GrantAuthorizationCode) && !slices.Contains(cl.ResponseTypes, ResponseToken) {
			v.errf(p+".require_pushed_authorization_requests", "has no effect: the client makes no authorization requests")
		}
		if cl.HasGrant(GrantDeviceCode) && len(c.Users) == 0 && c.Login.TrustedHeader == "" {
			v.errf(p+".grant_types", "nobody can approve a device code: there are no users and no login.trusted_header")
		}
	}
	issuers := make(map[string]string, len(c.TrustedIssuers))
	for i := range c.TrustedIssuers {
		ti := &c.TrustedIssuers[i]
		p := idx("trusted_issuers", i)
		switch {
		case ti.Issuer == "":
			v.errf(p+".issuer", "required: the \"iss\" of the issuer's JWTs")
		case issuers[ti.Issuer] != "":
			v.errf(p+".issuer", "duplicate issuer %q (also %s)", ti.Issuer, issuers[ti.Issuer])
		case ti.Issuer == c.Issuer:
			v.errf(p+".issuer", "%q is this server's own issuer", ti.Issuer)
		default:
			issuers[ti.Issuer] = p
		}
		switch {
		case ti.JWKS == "" && ti.JWKSURI == "":
			v.errf(p, "set jwks (the issuer's public JWK Set) or jwks_uri (where it publishes it)")
		case ti.JWKS != "" && ti.JWKSURI != "":
			v.errf(p+".jwks_uri", "set either jwks or jwks_uri, not both")
		case ti.JWKS != "":
			if _, err := ParseTrustedJWKS(ti.JWKS); err != nil {
				v.errf(p+".jwks", "%v", err)
			}
		default:
			if err := checkJWKSURI(ti.JWKSURI); err != nil {
				v.errf(p+".jwks_uri", "%v", err)
			}
		}
		switch ti.SubjectsAs {
		case SubjectsAsUser:
			if len(c.Users) == 0 {
				v.errf(p+".subjects_as", "user needs users: a sub must be one of their usernames, and there are none")
			}
		case SubjectsAsIs:
		case "":
			v.errf(p+".subjects_as", "required: user (sub is a configured username) or as_is (sub is kept)")
		default:
			v.errf(p+".subjects_as", "unknown value %q (want user or as_is)", ti.SubjectsAs)
		}
		if ti.Audience != "" && strings.TrimSpace(ti.Audience) != ti.Audience {
			v.errf(p+".audience", "%q has leading or trailing spaces", ti.Audience)
		}
	}
}

// ParseTrustedJWKS parses a trusted issuer's inline JWK Set: public keys
// only, at least one that can verify signatures.
func ParseTrustedJWKS(s JSON) (*jws.KeySet, error) {
	set, err := jws.ParseKeySet([]byte(s))
	if err != nil {
		return nil, err
	}
	if set.Len() == 0 {
		return nil, errNoSigningKey
	}
	return set, nil
}

type configError string

func (e configError) Error() string { return string(e) }

const errNoSigningKey = configError("the JWK Set holds no key that can verify signatures (ES256, ES384, EdDSA, RS256, PS256)")
