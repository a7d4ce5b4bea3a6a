package config

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sealedtoken/issuer/pkg/endpoint"
)

// Bounds of the OpenID Connect keys (SPEC §11).
const (
	maxSessionTTL = 720 * time.Hour
	maxConsentTTL = 8760 * time.Hour
	// maxClaimLen bounds a string claim: a picture URL fits, a novel
	// does not.
	maxClaimLen = 2048
)

// amrValues are the registered Authentication Method Reference values
// (RFC 8176 §2), accepted in login.trusted_amr.
var amrValues = []string{"face", "fpt", "geo", "hwk", "iris", "kba", "mca", "mfa", "otp", "pin",
	"pop", "pwd", "rba", "retina", "sc", "sms", "swk", "tel", "user", "vbm", "wia"}

func (v *validator) loginOpenID(l *Login) {
	if l.SessionTTL != 0 && (l.SessionTTL < time.Minute || l.SessionTTL > maxSessionTTL) {
		v.errf("login.session_ttl", "want 0s (no single sign-on) or between 1m and %s, got %s", fmtDuration(maxSessionTTL), fmtDuration(l.SessionTTL))
	}
	if l.ConsentTTL != 0 && (l.ConsentTTL < time.Minute || l.ConsentTTL > maxConsentTTL) {
		v.errf("login.consent_ttl", "want 0s (consent never remembered) or between 1m and %s, got %s", fmtDuration(maxConsentTTL), fmtDuration(l.ConsentTTL))
	}
	if len(l.TrustedAMR) > 0 && l.TrustedHeader == "" {
		v.errf("login.trusted_amr", "has no effect without login.trusted_header")
	}
	seen := map[string]bool{}
	for i, m := range l.TrustedAMR {
		switch {
		case !slices.Contains(amrValues, m):
			v.errf(idx("login.trusted_amr", i), "%q is not a registered amr value (RFC 8176 §2: %s)", m, strings.Join(amrValues, ", "))
		case seen[m]:
			v.errf(idx("login.trusted_amr", i), "duplicate value %q", m)
		}
		seen[m] = true
	}
}

// postLogoutRedirects: the same rules as redirect_uris (RP-Initiated
// Logout 1.0 §3 matches them exactly too).
func (v *validator) postLogoutRedirects(p string, cl *Client) {
	seen := make(map[string]bool, len(cl.PostLogoutRedirectURIs))
	for j, r := range cl.PostLogoutRedirectURIs {
		rp := idx(p+".post_logout_redirect_uris", j)
		if err := checkRedirectURI(r); err != nil {
			v.errf(rp, "%v", err)
		} else if seen[r] {
			v.errf(rp, "duplicate URI %q", r)
		}
		seen[r] = true
	}
	if len(cl.PostLogoutRedirectURIs) > 0 && !cl.HasGrant(GrantAuthorizationCode) {
		v.errf(p+".post_logout_redirect_uris", "set, but the client does not sign users in (no authorization_code grant)")
	}
}

var (
	// birthdate: YYYY-MM-DD, 0000-MM-DD (year withheld) or YYYY (Core §5.1).
	birthdateRE = regexp.MustCompile(`^(\d{4}-\d{2}-\d{2}|\d{4})$`)
	// zoneinfo: a tz database name such as Europe/Paris (Core §5.1).
	zoneinfoRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+)*$`)
	// locale: a BCP 47 tag such as fr-CA; Core §5.1 notes that some
	// implementations write fr_CA.
	localeRE = regexp.MustCompile(`^[A-Za-z]{2,8}([-_][A-Za-z0-9]{1,8})*$`)
	// phone_number: E.164 is RECOMMENDED (Core §5.1), with an RFC 3966
	// extension; digits, spaces and the usual punctuation are accepted.
	phoneRE = regexp.MustCompile(`^\+?[0-9][0-9 ().\-]{1,30}(;ext=[0-9]{1,10})?$`)
)

// userClaims checks users[].claims: the JSON types come from the decoder
// (a key that is not a standard claim is an unknown key); the values here.
func (v *validator) userClaims(p string, c *UserClaims) {
	text := func(name, s string, multiline bool) bool {
		switch {
		case s == "":
			return false
		case len(s) > maxClaimLen:
			v.errf(p+"."+name, "longer than %d bytes", maxClaimLen)
		case !utf8.ValidString(s):
			v.errf(p+"."+name, "not valid UTF-8")
		case strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 && !(multiline && r == '\n') || r == 0x7f }):
			v.errf(p+"."+name, "contains a control character")
		default:
			return true
		}
		return false
	}
	for _, f := range []struct{ name, value string }{
		{"name", c.Name}, {"given_name", c.GivenName}, {"family_name", c.FamilyName}, {"middle_name", c.MiddleName},
		{"nickname", c.Nickname}, {"preferred_username", c.PreferredUsername}, {"gender", c.Gender},
	} {
		text(f.name, f.value, false)
	}
	for _, f := range []struct{ name, value string }{{"profile", c.Profile}, {"picture", c.Picture}, {"website", c.Website}} {
		if text(f.name, f.value, false) {
			if u, err := url.Parse(f.value); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				v.errf(p+"."+f.name, "%q is not an absolute http(s) URL (OpenID Connect Core 1.0 §5.1)", f.value)
			}
		}
	}
	if text("email", c.Email, false) {
		local, domain, ok := strings.Cut(c.Email, "@")
		if !ok || local == "" || domain == "" || strings.ContainsAny(c.Email, " <>") || strings.Contains(domain, "@") {
			v.errf(p+".email", "%q is not an email address (RFC 5322 addr-spec)", c.Email)
		}
	} else if c.EmailVerified {
		v.errf(p+".email_verified", "set, but there is no email")
	}
	if text("birthdate", c.Birthdate, false) {
		ok := birthdateRE.MatchString(c.Birthdate)
		if ok && len(c.Birthdate) == 10 {
			d := c.Birthdate
			if strings.HasPrefix(d, "0000-") {
				d = "2000" + d[4:] // year withheld: check month and day in a leap year
			}
			_, err := time.Parse(time.DateOnly, d)
			ok = err == nil
		}
		if !ok {
			v.errf(p+".birthdate", "%q is not YYYY-MM-DD, 0000-MM-DD or YYYY (OpenID Connect Core 1.0 §5.1)", c.Birthdate)
		}
	}
	if text("zoneinfo", c.Zoneinfo, false) && !zoneinfoRE.MatchString(c.Zoneinfo) {
		v.errf(p+".zoneinfo", "%q is not a time zone name such as Europe/Paris", c.Zoneinfo)
	}
	if text("locale", c.Locale, false) && !localeRE.MatchString(c.Locale) {
		v.errf(p+".locale", "%q is not a BCP 47 language tag such as en-US", c.Locale)
	}
	if text("phone_number", c.PhoneNumber, false) {
		if !phoneRE.MatchString(c.PhoneNumber) {
			v.errf(p+".phone_number", "%q is not a telephone number such as +1 (425) 555-1212", c.PhoneNumber)
		}
	} else if c.PhoneNumberVerified {
		v.errf(p+".phone_number_verified", "set, but there is no phone_number")
	}
	a := &c.Address
	for _, f := range []struct {
		name, value string
		multiline   bool
	}{
		{"formatted", a.Formatted, true}, {"street_address", a.StreetAddress, true}, {"locality", a.Locality, false},
		{"region", a.Region, false}, {"postal_code", a.PostalCode, false}, {"country", a.Country, false},
	} {
		text("address."+f.name, f.value, f.multiline)
	}
	if c.UpdatedAt < 0 || c.UpdatedAt > 253402300799 {
		v.errf(p+".updated_at", "want seconds since 1970 (a NumericDate before the year 10000), got %d", c.UpdatedAt)
	}
}

// OIDC returns the claims as JSON values keyed by claim name, leaving out
// empty ones (and the verified flags of absent email and phone number),
// for endpoint.UserClaimsSource.
func (c *UserClaims) OIDC() endpoint.UserClaims {
	m := endpoint.UserClaims{}
	str := func(name, s string) {
		if s != "" {
			m[name], _ = json.Marshal(s) // a string always marshals
		}
	}
	str("name", c.Name)
	str("given_name", c.GivenName)
	str("family_name", c.FamilyName)
	str("middle_name", c.MiddleName)
	str("nickname", c.Nickname)
	str("preferred_username", c.PreferredUsername)
	str("profile", c.Profile)
	str("picture", c.Picture)
	str("website", c.Website)
	str("email", c.Email)
	if c.Email != "" {
		m["email_verified"], _ = json.Marshal(c.EmailVerified)
	}
	str("gender", c.Gender)
	str("birthdate", c.Birthdate)
	str("zoneinfo", c.Zoneinfo)
	str("locale", c.Locale)
	str("phone_number", c.PhoneNumber)
	if c.PhoneNumber != "" {
		m["phone_number_verified"], _ = json.Marshal(c.PhoneNumberVerified)
	}
	if c.Address != (Address{}) {
		a := map[string]string{}
		for name, s := range map[string]string{"formatted": c.Address.Formatted, "street_address": c.Address.StreetAddress,
			"locality": c.Address.Locality, "region": c.Address.Region, "postal_code": c.Address.PostalCode, "country": c.Address.Country} {
			if s != "" {
				a[name] = s
			}
		}
		m["address"], _ = json.Marshal(a) // sorted keys
	}
	if c.UpdatedAt != 0 {
		m["updated_at"] = json.RawMessage(fmt.Sprint(c.UpdatedAt))
	}
	return m
}
