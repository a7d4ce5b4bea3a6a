package endpoint

// clientCredentials validates a client credentials grant (RFC 6749 §4.4).
// Only confidential clients may use it (§4.4: "MUST only be used by
// confidential clients"); no refresh token is issued (§4.4.3).
func (s *Server) clientCredentials(tr *TokenRequest) *Error {
	if tr.Client.Public {
		return NewError(UnauthorizedClient, "a public client may not use the client_credentials grant (RFC 6749 §4.4)")
	}
	if e := requireGrant(tr); e != nil {
		return e
	}
	scopes, e := grantScope(tr.Client, tr.requestedScope, nil)
	if e != nil {
		return e
	}
	aud, e := s.chooseAudience(tr.Client, tr.Params.Get("resource"), "")
	if e != nil {
		return e
	}
	tr.Scopes, tr.Audience, tr.Subject = scopes, aud, tr.Client.ID
	return nil
}
