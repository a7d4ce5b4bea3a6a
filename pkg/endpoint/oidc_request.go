package endpoint

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Error codes of OpenID Connect Core 1.0 §3.1.2.6, answered by redirect
// like the RFC 6749 §4.1.2.1 codes.
const (
	InteractionRequired      ErrorCode = "interaction_required"
	LoginRequired            ErrorCode = "login_required"
	AccountSelectionRequired ErrorCode = "account_selection_required"
	ConsentRequired          ErrorCode = "consent_required"
	InvalidRequestObject     ErrorCode = "invalid_request_object"
	RequestNotSupported      ErrorCode = "request_not_supported"
	RegistrationNotSupported ErrorCode = "registration_not_supported"
)

// Prompt values of OpenID Connect Core 1.0 §3.1.2.1.
const (
	PromptNone          = "none"
	PromptLogin         = "login"
	PromptConsent       = "consent"
	PromptSelectAccount = "select_account"
)

// Bounds on OpenID request parameters; longer values are invalid_request.
const (
	// MaxNonceLen bounds nonce: it is copied into the code and the ID
	// token.
	MaxNonceLen = 512
	// MaxLoginHintLen bounds login_hint, which a login page shows.
	MaxLoginHintLen = 256
	// MaxClaimsParamLen bounds the claims parameter (Core §5.5).
	MaxClaimsParamLen = 4096
	// maxMaxAge bounds max_age: ten years, far beyond any session.
	maxMaxAge = 10 * 365 * 24 * time.Hour
	// MaxAgeGrace is how much older than max_age a Grant's AuthTime may
	// be when Authorize checks it: the time between the ResourceOwner's
	// check (a login, or a session found fresh enough) and the user's
	// answer on a consent page. The ResourceOwner checks max_age exactly,
	// when it decides whether the user must log in; this bound is the
	// backstop for one that does not.
	MaxAgeGrace = 10 * time.Minute
)

// OpenIDRequest holds the OpenID Connect parameters of an authorization
// request whose scope includes openid (Core §3.1.2.1), as validated by
// ValidateAuthorize. A ResourceOwner reads it to decide: PromptNone means
// no page may be shown (HandleAuthorize answers interaction_required if one
// would be), Login asks for the password whatever session the user has,
// Consent asks for consent whatever was remembered, MaxAge bounds the age
// of the authentication a session may stand for, Hint names the user the
// client expects, and LoginHint prefills a login form.
//
// Authorize enforces the rules that depend on the Grant whatever the
// ResourceOwner did: a Grant older than MaxAge, or without AuthTime when
// MaxAge is set, is answered login_required, and so is one for another
// user than the Hint names.
type OpenIDRequest struct {
	// Nonce is the nonce parameter, echoed in the ID token (§3.1.2.1,
	// §15.5.2); empty when not sent (optional for the code flow).
	Nonce string
	// PromptNone, Login, Consent record the prompt parameter; Login is set
	// for select_account too, which this server treats as login (it keeps
	// one session per browser).
	PromptNone, Login, Consent bool
	// MaxAge is max_age when HasMaxAge: the longest time since the user
	// last authenticated that the client accepts; 0 demands a fresh
	// login.
	MaxAge    time.Duration
	HasMaxAge bool
	// LoginHint is login_hint: the name a login form may prefill.
	LoginHint string
	// Hint is the verified id_token_hint (nil when absent): the user and
	// session of an ID token this server issued to the client.
	Hint *IDTokenHint
	// Claims are the claims requested individually with the claims
	// parameter (§5.5); nil when absent.
	Claims *ClaimsRequest
}

// ClaimsRequest is a parsed claims parameter (OpenID Connect Core 1.0
// §5.5): the claims requested for the ID token and for the UserInfo
// response, each with whether it is essential and the value it must have
// ("value" or "values"), if any.
//
// This server releases a standard claim only under the scope that covers
// it (§5.4), so a claims request selects and never widens what the user
// consented to (§5.5.1 lets the OP leave requested claims out, essential
// ones too); the one request it acts on is a "sub" with a value, which
// must be the signed-in user or the answer is login_required (§5.5.1).
type ClaimsRequest struct {
	IDToken, UserInfo map[string]ClaimRequest
}

// ClaimRequest is one member of a claims request (Core §5.5.1): null, or
// an object with "essential", "value", "values".
type ClaimRequest struct {
	Essential bool
	Values    []json.RawMessage // "value" as one element, or "values"
}

// SubjectValue returns the value the claims request demands for "sub" (in
// the ID token or the UserInfo response), and whether it demands one.
func (c *ClaimsRequest) SubjectValue() (string, bool) {
	if c == nil {
		return "", false
	}
	for _, m := range []map[string]ClaimRequest{c.IDToken, c.UserInfo} {
		if r, ok := m["sub"]; ok && len(r.Values) == 1 {
			var s string
			if json.Unmarshal(r.Values[0], &s) == nil {
				return s, true
			}
		}
	}
	return "", false
}

// parseOpenIDRequest reads the OpenID Connect parameters of an
// authorization request for client c (Core §3.1.2.1) and checks them.
// Errors are redirected (§3.1.2.6).
func (s *Server) parseOpenIDRequest(p Params, clientID string) (*OpenIDRequest, *Error) {
	// Request objects (Core §6) and dynamic registration parameters are
	// not supported: §3.1.2.6 names their errors. request_uri is left to
	// pushed authorization requests (RFC 9126).
	if p.Has("request") {
		return nil, NewError(RequestNotSupported, "the request parameter (request objects, Core section 6) is not supported")
	}
	if p.Has("registration") {
		return nil, NewError(RegistrationNotSupported, "the registration parameter is not supported")
	}
	o := &OpenIDRequest{}
	var e *Error
	if o.Nonce, e = parseNonce(p.Get("nonce")); e != nil {
		return nil, e
	}
	if o.PromptNone, o.Login, o.Consent, e = ParsePrompt(p.Get("prompt")); e != nil {
		return nil, e
	}
	if o.MaxAge, o.HasMaxAge, e = ParseMaxAge(p.Get("max_age")); e != nil {
		return nil, e
	}
	if h := p.Get("login_hint"); h != "" {
		if len(h) > MaxLoginHintLen || !utf8.ValidString(h) || strings.ContainsFunc(h, isControl) {
			return nil, NewError(InvalidRequest, "login_hint is too long or holds control characters")
		}
		o.LoginHint = h
	}
	if raw := p.Get("claims"); raw != "" {
		if o.Claims, e = ParseClaimsRequest(raw); e != nil {
			return nil, e
		}
	}
	if raw := p.Get("id_token_hint"); raw != "" {
		h, err := s.verifyIDTokenHint(raw)
		if err != nil {
			return nil, NewError(InvalidRequest, "id_token_hint is not an ID token this server issued").withCause(err)
		}
		if !slices.Contains(h.Audience, clientID) {
			return nil, NewError(InvalidRequest, "id_token_hint was issued to another client")
		}
		o.Hint = h
	}
	return o, nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) }

// parseNonce checks the nonce parameter (Core §3.1.2.1, §15.5.2): any
// string of printable characters, at most MaxNonceLen bytes.
func parseNonce(v string) (string, *Error) {
	if len(v) > MaxNonceLen {
		return "", Errorf(InvalidRequest, "nonce longer than %d bytes", MaxNonceLen)
	}
	if !utf8.ValidString(v) || strings.ContainsFunc(v, isControl) {
		return "", NewError(InvalidRequest, "nonce holds control characters or invalid UTF-8")
	}
	return v, nil
}

// ParsePrompt parses the prompt parameter (OpenID Connect Core 1.0
// §3.1.2.1): space-delimited, case-sensitive values among none, login,
// consent and select_account (taken as login). "none" with any other value
// is invalid_request, and so is an unknown value (Core leaves unknown
// values to the OP; refusing them tells the client at once). An empty
// value is no prompt at all.
func ParsePrompt(v string) (none, login, consent bool, e *Error) {
	if v == "" {
		return false, false, false, nil
	}
	if len(v) > 256 {
		return false, false, false, NewError(InvalidRequest, "prompt is too long")
	}
	n := 0
	for tok := range strings.SplitSeq(v, " ") {
		switch tok {
		case "":
			continue
		case PromptNone:
			none = true
		case PromptLogin, PromptSelectAccount:
			login = true
		case PromptConsent:
			consent = true
		default:
			return false, false, false, Errorf(InvalidRequest, "prompt value %q is not supported (none, login, consent, select_account)", safeName(tok))
		}
		n++
	}
	if none && n > 1 {
		return false, false, false, NewError(InvalidRequest, "prompt=none cannot be combined with other values (Core section 3.1.2.1)")
	}
	return none, login, consent, nil
}

// ParseMaxAge parses the max_age parameter (OpenID Connect Core 1.0
// §3.1.2.1): a non-negative integer number of seconds, without sign or
// leading zeros beyond "0". Absent is (0, false).
func ParseMaxAge(v string) (time.Duration, bool, *Error) {
	if v == "" {
		return 0, false, nil
	}
	if len(v) > 12 || (len(v) > 1 && v[0] == '0') || strings.TrimLeft(v, "0123456789") != "" {
		return 0, false, NewError(InvalidRequest, "max_age must be a non-negative integer number of seconds")
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, false, NewError(InvalidRequest, "max_age must be a non-negative integer number of seconds")
	}
	// Capped before the multiplication: twelve digits of seconds overflow
	// a Duration, which would turn a huge max_age into a negative one.
	if n > int64(maxMaxAge/time.Second) {
		return maxMaxAge, true, nil
	}
	return time.Duration(n) * time.Second, true, nil
}

// ParseClaimsRequest parses the claims parameter (OpenID Connect Core 1.0
// §5.5): a JSON object whose members "id_token" and "userinfo" (others are
// ignored, §5.5) are objects mapping claim names to null or to an object
// with "essential" (a boolean), "value" or "values" (an array); other
// members of those objects are ignored (§5.5.1). Anything else, a member
// repeated, or more than MaxClaimsParamLen bytes is invalid_request.
func ParseClaimsRequest(raw string) (*ClaimsRequest, *Error) {
	bad := func(what string) *Error {
		return Errorf(InvalidRequest, "claims is not a valid claims request (Core section 5.5): %s", what)
	}
	if len(raw) > MaxClaimsParamLen {
		return nil, bad("too long")
	}
	top, ok := objectMembers([]byte(raw))
	if !ok {
		return nil, bad("not a JSON object with distinct members")
	}
	cr := &ClaimsRequest{}
	for _, m := range top {
		var dst *map[string]ClaimRequest
		switch m.name {
		case "id_token":
			dst = &cr.IDToken
		case "userinfo":
			dst = &cr.UserInfo
		default:
			continue
		}
		claims, ok := objectMembers(m.value)
		if !ok {
			return nil, bad(m.name + " is not a JSON object with distinct members")
		}
		*dst = make(map[string]ClaimRequest, len(claims))
		for _, c := range claims {
			if c.name == "" || len(c.name) > 256 {
				return nil, bad("a claim name is empty or too long")
			}
			var r ClaimRequest
			if !bytes.Equal(c.value, []byte("null")) {
				members, ok := objectMembers(c.value)
				if !ok {
					return nil, bad("claim " + strconv.Quote(safeName(c.name)) + " is neither null nor an object")
				}
				for _, f := range members {
					switch f.name {
					case "essential":
						if err := json.Unmarshal(f.value, &r.Essential); err != nil {
							return nil, bad("essential is not a boolean")
						}
					case "value":
						r.Values = append(r.Values, f.value)
					case "values":
						var vs []json.RawMessage
						if err := json.Unmarshal(f.value, &vs); err != nil {
							return nil, bad("values is not an array")
						}
						r.Values = append(r.Values, vs...)
					}
				}
			}
			(*dst)[c.name] = r
		}
	}
	return cr, nil
}

// jsonMember is one member of a JSON object, its value as raw JSON.
type jsonMember struct {
	name  string
	value json.RawMessage
}

// objectMembers decodes a JSON object into its members in order, refusing
// anything that is not one object and any member name given twice (which
// encoding/json would silently resolve to the last).
func objectMembers(b []byte) ([]jsonMember, bool) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	tok, err := dec.Token()
	if d, ok := tok.(json.Delim); err != nil || !ok || d != '{' {
		return nil, false
	}
	var out []jsonMember
	for dec.More() {
		tok, err := dec.Token()
		name, ok := tok.(string)
		if err != nil || !ok {
			return nil, false
		}
		for _, m := range out {
			if m.name == name {
				return nil, false
			}
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, false
		}
		out = append(out, jsonMember{name: name, value: v})
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, false
	}
	if _, err := dec.Token(); err == nil {
		return nil, false // trailing data
	}
	return out, true
}

// checkOpenIDGrant enforces what OpenID Connect Core 1.0 §3.1.2.1 makes of
// a grant, whatever the ResourceOwner decided: with max_age, an
// authentication time no older than max_age (login_required otherwise,
// also when the owner cannot tell when the user authenticated); with an
// id_token_hint or a claims request for a "sub" value, that user
// (login_required otherwise, §3.1.2.1, §5.5.1).
func (s *Server) checkOpenIDGrant(_ context.Context, o *OpenIDRequest, g Grant) *Error {
	if o == nil {
		return nil
	}
	if o.HasMaxAge {
		if g.AuthTime.IsZero() {
			return NewError(LoginRequired, "max_age needs the time the user authenticated, which this sign-in does not tell")
		}
		// auth_time is whole seconds: allow the second it was truncated to.
		if s.now().Sub(g.AuthTime) > o.MaxAge+MaxAgeGrace+time.Second {
			return NewError(LoginRequired, "the user authenticated longer ago than max_age allows")
		}
	}
	if o.Hint != nil && o.Hint.Subject != g.Subject {
		return NewError(LoginRequired, "the signed-in user is not the one id_token_hint names")
	}
	if sub, ok := o.Claims.SubjectValue(); ok && sub != g.Subject {
		return NewError(LoginRequired, "the signed-in user is not the one the claims request names")
	}
	return nil
}
