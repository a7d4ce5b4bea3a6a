package certbind_test

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/sealedtoken/issuer/pkg/certbind"
)

// TestParseHeader: RFC 9440 §2.2 and RFC 8941 §4.2.7, rule by rule.
func TestParseHeader(t *testing.T) {
	c := clientCert(t)
	b64 := base64.StdEncoding.EncodeToString(c.Raw)
	tests := []struct {
		name   string
		values []string
		want   error
	}{
		{name: "RFC 9440 §2.2: a byte sequence", values: []string{":" + b64 + ":"}},
		{name: "RFC 8941 §4.2.7: padding may be absent", values: []string{":" + strings.TrimRight(b64, "=") + ":"}},
		{name: "RFC 8941 §4.2: surrounding spaces", values: []string{"  :" + b64 + ":  "}},
		{name: "RFC 8941 §4.2.3: parameters are ignored", values: []string{":" + b64 + ":;a=1;b;c=\"x\";d=?0;e=tok/en;f=:AAAA:"}},
		{name: "RFC 9440 §2.2: no header", values: nil, want: certbind.ErrNoCertificate},
		{name: "RFC 9440 §2.2: two header fields", values: []string{":" + b64 + ":", ":" + b64 + ":"}, want: certbind.ErrMalformedHeader},
		{name: "RFC 8941 §4.2.7: colons required", values: []string{b64}, want: certbind.ErrMalformedHeader},
		{name: "RFC 8941 §4.2.7: unterminated", values: []string{":" + b64}, want: certbind.ErrMalformedHeader},
		{name: "RFC 8941 §3.3.5: base64url is not base64", values: []string{":" + base64.RawURLEncoding.EncodeToString(c.Raw) + "-_:"}, want: certbind.ErrMalformedHeader},
		{name: "RFC 8941 §4.2.7: a line break inside", values: []string{":" + b64[:10] + "\n" + b64[10:] + ":"}, want: certbind.ErrMalformedHeader},
		{name: "RFC 8941 §4.2: data after the item", values: []string{":" + b64 + ": x"}, want: certbind.ErrMalformedHeader},
		{name: "RFC 8941 §4.2.3.3: a bad parameter key", values: []string{":" + b64 + ":;A=1"}, want: certbind.ErrMalformedHeader},
		{name: "RFC 8941: PEM is not a byte sequence", values: []string{"-----BEGIN CERTIFICATE-----" + b64 + "-----END CERTIFICATE-----"}, want: certbind.ErrMalformedHeader},
		{name: "RFC 9440 §2.2: not a certificate", values: []string{":" + base64.StdEncoding.EncodeToString([]byte("hello")) + ":"}, want: certbind.ErrMalformedCertificate},
		{name: "RFC 9440 §2.2: empty", values: []string{"::"}, want: certbind.ErrMalformedCertificate},
		{name: "size bound", values: []string{":" + strings.Repeat("A", certbind.MaxHeaderSize) + ":"}, want: certbind.ErrMalformedHeader},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := certbind.ParseHeader(tt.values)
			if tt.want != nil {
				if !errors.Is(err, tt.want) {
					t.Fatalf("error %v, want %v", err, tt.want)
				}
				return
			}
			if err != nil || !got.Equal(c) {
				t.Fatalf("ParseHeader: %v", err)
			}
		})
	}
	if got, err := certbind.ParseHeader([]string{string(certbind.AppendHeader(nil, c))}); err != nil || !got.Equal(c) {
		t.Fatalf("AppendHeader round trip: %v", err)
	}
}

// TestParseChainHeader: RFC 9440 §2.3, a List of Byte Sequences.
func TestParseChainHeader(t *testing.T) {
	a, b := clientCert(t), clientCert(t)
	ea, eb := base64.StdEncoding.EncodeToString(a.Raw), base64.StdEncoding.EncodeToString(b.Raw)
	got, err := certbind.ParseChainHeader([]string{":" + ea + ":, :" + eb + ":"})
	if err != nil || len(got) != 2 || !got[0].Equal(a) || !got[1].Equal(b) {
		t.Fatalf("one field: %d, %v", len(got), err)
	}
	got, err = certbind.ParseChainHeader([]string{":" + ea + ":", ":" + eb + ":"})
	if err != nil || len(got) != 2 || !got[1].Equal(b) {
		t.Fatalf("two fields: %d, %v", len(got), err)
	}
	if got, err := certbind.ParseChainHeader(nil); err != nil || len(got) != 0 {
		t.Fatalf("no field: %v", err)
	}
	for _, bad := range []string{":" + ea + ":,", ":" + ea + ": :" + eb + ":", ":" + ea + ":,,:" + eb + ":"} {
		if _, err := certbind.ParseChainHeader([]string{bad}); !errors.Is(err, certbind.ErrMalformedHeader) {
			t.Errorf("%.40q...: %v", bad, err)
		}
	}
}

// TestThumbprint: RFC 8705 §3.1: base64url SHA-256 of the DER, as go-jose
// computes a JWK's x5t#S256.
func TestThumbprint(t *testing.T) {
	c := clientCert(t)
	sum := sha256.Sum256(c.Raw)
	j := jose.JSONWebKey{Key: c.PublicKey, Certificates: []*x509.Certificate{c}, CertificateThumbprintSHA256: sum[:]}
	raw, err := j.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), `"x5t#S256":"`+certbind.Thumbprint(c)+`"`) {
		t.Fatalf("go-jose writes %s, we compute %s", raw, certbind.Thumbprint(c))
	}
	if len(certbind.Thumbprint(c)) != 43 {
		t.Fatal("not 43 characters")
	}
}

// TestCheckBinding: RFC 8705 §3: the token's cnf.x5t#S256 against the
// presented certificate; a missing certificate never passes.
func TestCheckBinding(t *testing.T) {
	owner, other := clientCert(t), clientCert(t)
	x5t := certbind.Thumbprint(owner)
	if err := certbind.CheckBinding(owner, x5t); err != nil {
		t.Fatal(err)
	}
	if err := certbind.CheckBinding(other, x5t); !errors.Is(err, certbind.ErrBinding) {
		t.Fatalf("another certificate: %v", err)
	}
	if err := certbind.CheckBinding(nil, x5t); !errors.Is(err, certbind.ErrNoCertificate) {
		t.Fatalf("no certificate: %v", err)
	}
	if err := certbind.CheckBinding(owner, ""); !errors.Is(err, certbind.ErrBinding) {
		t.Fatalf("empty binding: %v", err)
	}
}
