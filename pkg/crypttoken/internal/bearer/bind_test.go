package bearer

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sealedtoken/issuer/internal/authheader"
	"github.com/sealedtoken/issuer/pkg/crypttoken"
	"github.com/sealedtoken/issuer/pkg/dpop"
	"github.com/sealedtoken/issuer/pkg/jws"
)

func TestCredentials(t *testing.T) {
	tests := []struct {
		name          string
		values        []string
		scheme, token string
		err           error
	}{
		{name: "RFC 6750 §2.1 Bearer", values: []string{"Bearer abc"}, scheme: "Bearer", token: "abc"},
		{name: "RFC 9449 §7.1 DPoP", values: []string{"DPoP a.b.c"}, scheme: "DPoP", token: "a.b.c"},
		{name: "RFC 7235 §2.1 scheme any case", values: []string{"dpop  x=="}, scheme: "DPoP", token: "x=="},
		{name: "DPoP alone", values: []string{"DPoP"}, err: ErrBadRequest},
		{name: "DPoP two tokens", values: []string{"DPoP a b"}, err: ErrBadRequest},
		{name: "scheme prefix", values: []string{"DPoPx abc"}, err: ErrNoToken},
		{name: "another scheme", values: []string{"Basic abc"}, err: ErrNoToken},
		{name: "two fields", values: []string{"DPoP a", "DPoP a"}, err: ErrBadRequest},
		{name: "none", err: ErrNoToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, tok, err := Credentials(tt.values)
			if s != tt.scheme || tok != tt.token || !errors.Is(err, tt.err) {
				t.Fatalf("Credentials(%q) = %q, %q, %v", tt.values, s, tok, err)
			}
		})
	}
}

func TestChallenges(t *testing.T) {
	algs := DPoPAlgs
	tests := []struct {
		name string
		ref  Refusal
		want []string
	}{
		{name: "RFC 9449 §7.1 no token: both schemes", ref: For(ErrNoToken),
			want: []string{`Bearer realm="r"`, `DPoP realm="r", algs="ES256 EdDSA PS256 RS256"`}},
		{name: "RFC 6750 §3 a Bearer error", ref: For(ErrBadRequest),
			want: []string{`Bearer realm="r", error="invalid_request", error_description="malformed bearer credentials"`}},
		{name: "RFC 9449 §7.1 a DPoP error", ref: Refusal{Status: 401, Code: CodeInvalidDPoPProof, Scheme: SchemeDPoP, Description: cleanDescription("bad (RFC 9449 §4.3)")},
			want: []string{`DPoP realm="r", algs="ES256 EdDSA PS256 RS256", error="invalid_dpop_proof", error_description="bad (RFC 9449 section 4.3)"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.ref.Challenges("r", algs)
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Fatalf("Challenges = %q, want %q", got, tt.want)
			}
		})
	}
	if got := cleanDescription("a\"b\\c§\x01é"); got != "a'b/csection ???" {
		t.Fatalf("cleanDescription = %q", got)
	}
}

func TestNewBinding(t *testing.T) {
	for _, u := range []string{"ftp://x", "https://", "https://a/?q", "https://a/#f", "https://u@a", "::"} {
		if _, err := NewBinding(BindingConfig{ExternalURL: u}); err == nil {
			t.Errorf("external URL %q accepted", u)
		}
	}
	if _, err := NewBinding(BindingConfig{ExternalURL: "https://api.example.com/v1/"}); err != nil {
		t.Fatal(err)
	}
}

// FuzzCredentials: Credentials never panics, returns a token only with a
// scheme, and the token is a b64token that ends the only field.
func FuzzCredentials(f *testing.F) {
	for _, s := range []string{"DPoP abc", "dpop  a.b.c==", "Bearer x", "DPoP", "DPoP a b", "DPoPabc", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		scheme, tok, err := Credentials([]string{v})
		if err != nil {
			if tok != "" || scheme != "" {
				t.Fatal("token with an error")
			}
			return
		}
		if (scheme != SchemeBearer && scheme != SchemeDPoP) || !authheader.B64Token(tok) || !strings.HasSuffix(v, tok) ||
			!strings.EqualFold(v[:len(scheme)+1], scheme+" ") {
			t.Fatalf("Credentials(%q) = %q, %q", v, scheme, tok)
		}
	})
}

// failingReplay is a replay cache that cannot be reached.
type failingReplay struct{}

func (failingReplay) UseOnce(context.Context, string, time.Time) error {
	return errors.New("replay cache: connection refused")
}

// TestCheckFailsClosed: a bound token whose binding cannot be checked is
// refused, never taken as a bearer token: a DPoP proof when the replay
// cache fails (503), a certificate-bound token without a certificate.
func TestCheckFailsClosed(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jkt, err := jws.ThumbprintString(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewBinding(BindingConfig{Replay: failingReplay{}, ExternalURL: "https://api.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	proof, err := dpop.NewProof(key, jws.ES256, dpop.Claims{Method: "GET", URI: "https://api.example.com/x", AccessToken: "tok"})
	if err != nil {
		t.Fatal(err)
	}
	r := &Request{Method: "GET", Path: "/x", Values: func(name string) []string {
		if name == dpop.HeaderName {
			return []string{proof}
		}
		return nil
	}}
	ref, ok := b.Check(context.Background(), &crypttoken.Claims{Confirmation: crypttoken.Confirmation{JKT: jkt}}, SchemeDPoP, "tok", r)
	if ok || ref.Status != 503 || !errors.Is(ref.Err, dpop.ErrReplayCheck) {
		t.Fatalf("replay cache down: ok %v, %+v", ok, ref)
	}
	ref, ok = b.Check(context.Background(), &crypttoken.Claims{Confirmation: crypttoken.Confirmation{X5TS256: "abc"}}, SchemeBearer, "tok", r)
	if ok || ref.Status != 401 || ref.Code != CodeInvalidToken {
		t.Fatalf("no certificate: ok %v, %+v", ok, ref)
	}
	if _, ok := b.Check(context.Background(), &crypttoken.Claims{}, SchemeBearer, "tok", r); !ok {
		t.Fatal("a bearer token as Bearer refused")
	}
}
