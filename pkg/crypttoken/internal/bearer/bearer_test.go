package bearer

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/sealedtoken/issuer/internal/authheader"
	"github.com/sealedtoken/issuer/pkg/crypttoken"
)

func TestToken(t *testing.T) {
	tests := []struct {
		name   string
		values []string
		want   string
		err    error
	}{
		{name: "none", err: ErrNoToken},
		{name: "bearer", values: []string{"Bearer abc.DEF-_~+/"}, want: "abc.DEF-_~+/"},
		{name: "trailing padding", values: []string{"Bearer abc=="}, want: "abc=="},
		{name: "scheme any case (RFC 7235 §2.1)", values: []string{"bEaReR abc"}, want: "abc"},
		{name: "several spaces", values: []string{"Bearer    abc"}, want: "abc"},
		{name: "other scheme", values: []string{"Basic abc"}, err: ErrNoToken},
		{name: "empty value", values: []string{""}, err: ErrNoToken},
		{name: "scheme prefix", values: []string{"Bearerabc"}, err: ErrNoToken},
		{name: "tab after scheme", values: []string{"Bearer\tabc"}, err: ErrNoToken},
		{name: "scheme alone", values: []string{"Bearer"}, err: ErrBadRequest},
		{name: "scheme and space", values: []string{"Bearer "}, err: ErrBadRequest},
		{name: "two tokens", values: []string{"Bearer a b"}, err: ErrBadRequest},
		{name: "trailing space", values: []string{"Bearer abc "}, err: ErrBadRequest},
		{name: "padding only", values: []string{"Bearer =="}, err: ErrBadRequest},
		{name: "padding inside", values: []string{"Bearer a=b"}, err: ErrBadRequest},
		{name: "comma", values: []string{"Bearer a,b"}, err: ErrBadRequest},
		{name: "non-ASCII", values: []string{"Bearer é"}, err: ErrBadRequest},
		{name: "two fields (RFC 7230 §3.2.2)", values: []string{"Bearer a", "Bearer a"}, err: ErrBadRequest},
		{name: "two fields of other schemes", values: []string{"Basic a", "Basic b"}, err: ErrBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Token(tt.values)
			if got != tt.want || !errors.Is(err, tt.err) {
				t.Fatalf("Token(%q) = %q, %v; want %q, %v", tt.values, got, err, tt.want, tt.err)
			}
		})
	}
}

func TestRefusals(t *testing.T) {
	tests := []struct {
		name      string
		ref       Refusal
		status    int
		challenge string
		body      string
	}{
		{name: "no token", ref: For(ErrNoToken), status: 401, challenge: `Bearer realm="r"`},
		{name: "bad request", ref: For(ErrBadRequest), status: 400,
			challenge: `Bearer realm="r", error="invalid_request", error_description="malformed bearer credentials"`,
			body:      `{"error":"invalid_request","error_description":"malformed bearer credentials"}` + "\n"},
		{name: "expired", ref: For(crypttoken.ErrExpired), status: 401,
			challenge: `Bearer realm="r", error="invalid_token", error_description="the access token expired"`},
		{name: "nbf", ref: For(crypttoken.ErrNotYetValid), status: 401,
			challenge: `Bearer realm="r", error="invalid_token", error_description="the access token is not valid yet"`},
		{name: "anything else", ref: For(errors.New("crypttoken: kid \"secret-detail\"")), status: 401,
			challenge: `Bearer realm="r", error="invalid_token", error_description="the access token is invalid"`},
		{name: "revoked (draft-ietf-oauth-status-list §8.3)", ref: For(fmt.Errorf("%w: suspended", crypttoken.ErrRevoked)), status: 401,
			challenge: `Bearer realm="r", error="invalid_token", error_description="the access token was revoked"`,
			body:      `{"error":"invalid_token","error_description":"the access token was revoked"}` + "\n"},
		{name: "no status claim", ref: For(crypttoken.ErrNoStatus), status: 401,
			challenge: `Bearer realm="r", error="invalid_token", error_description="the access token carries no revocation status"`},
		{name: "unsigned or forged signature", ref: For(fmt.Errorf("%w: jws: invalid signature", crypttoken.ErrSignature)), status: 401,
			challenge: `Bearer realm="r", error="invalid_token", error_description="the access token is not signed by the issuer"`},
		{name: "status list not known yet: 503, retry", ref: For(crypttoken.ErrStatusUnknown), status: 503,
			body: `{"error":"temporarily_unavailable","error_description":"the revocation status of the access token cannot be checked yet; retry shortly"}` + "\n"},
		{name: "insufficient scope", ref: Insufficient([]string{"a", "b:c"}), status: 403,
			challenge: `Bearer realm="r", error="insufficient_scope", error_description="the access token lacks a required scope", scope="a b:c"`,
			body:      `{"error":"insufficient_scope","error_description":"the access token lacks a required scope","scope":"a b:c"}` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.ref.Status != tt.status || (tt.challenge != "") != tt.ref.Challenged() {
				t.Errorf("status %d, challenged %v", tt.ref.Status, tt.ref.Challenged())
			}
			if tt.challenge != "" && tt.ref.Challenge("r") != tt.challenge {
				t.Errorf("challenge %q", tt.ref.Challenge("r"))
			}
			if (tt.status == 503) != (tt.ref.RetryAfter > 0) {
				t.Errorf("Retry-After %d with status %d", tt.ref.RetryAfter, tt.status)
			}
			if tt.body != "" && string(tt.ref.Body()) != tt.body {
				t.Errorf("body %q", tt.ref.Body())
			}
			if strings.Contains(tt.ref.Challenge("r")+string(tt.ref.Body()), "secret-detail") {
				t.Error("refusal echoes the error detail")
			}
		})
	}
	if got := For(ErrNoToken).Challenge(""); got != "Bearer" {
		t.Errorf("challenge without realm = %q", got)
	}
	if For(ErrNoToken).Body() != nil {
		t.Error("body for a request without a token")
	}
}

// FuzzToken: Token never panics, and a token it returns is a b64token that
// ends the only field.
func FuzzToken(f *testing.F) {
	for _, s := range []string{"Bearer abc", "bearer  a.b.c==", "Basic x", "Bearer", "Bearer a b", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		tok, err := Token([]string{v})
		if err != nil {
			if tok != "" {
				t.Fatal("token with an error")
			}
			return
		}
		if !authheader.B64Token(tok) || !strings.HasSuffix(v, tok) || !strings.EqualFold(v[:7], "Bearer ") {
			t.Fatalf("Token(%q) = %q", v, tok)
		}
	})
}
