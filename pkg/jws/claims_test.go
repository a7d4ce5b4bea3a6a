package jws_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/sealedtoken/issuer/pkg/jws"
)

func TestParseClaims(t *testing.T) {
	tests := []struct {
		name    string
		payload string
		check   func(*jws.Claims) bool
		want    error
	}{
		{name: "RFC 7519 §4.1: registered claims", payload: `{"iss":"i","sub":"s","aud":"a","exp":1772370000,"nbf":1772360000,"iat":1772360000,"jti":"j"}`,
			check: func(c *jws.Claims) bool {
				return c.Issuer == "i" && c.Subject == "s" && c.HasAudience("a") && c.Expiry.Unix() == 1772370000 &&
					c.NotBefore.Unix() == 1772360000 && c.IssuedAt.Unix() == 1772360000 && c.ID == "j" && c.Extra == nil
			}},
		{name: "RFC 7519 §4.1.3: aud as an array", payload: `{"aud":["a","b"]}`, check: func(c *jws.Claims) bool { return len(c.Audience) == 2 && c.HasAudience("b") }},
		{name: "RFC 7519 §4.1.3: aud an empty array", payload: `{"aud":[]}`, check: func(c *jws.Claims) bool { return len(c.Audience) == 0 }},
		{name: "RFC 7519 §4.1.3: aud a number", payload: `{"aud":1}`, want: jws.ErrClaims},
		{name: "RFC 7519 §4.1.3: aud an array with a number", payload: `{"aud":["a",1]}`, want: jws.ErrClaims},
		{name: "RFC 7519 §2: NumericDate with a fraction", payload: `{"exp":1772370000.75}`, check: func(c *jws.Claims) bool { return c.Expiry.Unix() == 1772370000 }},
		{name: "RFC 7519 §2: NumericDate as a string", payload: `{"exp":"1772370000"}`, want: jws.ErrClaims},
		{name: "RFC 7519 §4.1.1: iss a number", payload: `{"iss":1}`, want: jws.ErrClaims},
		{name: "RFC 7519 §4: duplicate registered claim", payload: `{"sub":"a","sub":"b"}`, want: jws.ErrClaims},
		{name: "RFC 7519 §4: duplicate private claim", payload: `{"x":1,"x":2}`, want: jws.ErrClaims},
		{name: "RFC 7519 §4.3: private claims kept raw", payload: `{"cnf":{"jkt":"abc"},"scope":"a b"}`, check: func(c *jws.Claims) bool {
			var cnf struct{ JKT string }
			return string(c.Extra["scope"]) == `"a b"` && c.Decode("cnf", &cnf) == nil && cnf.JKT == "abc"
		}},
		{name: "null registered claim is absent", payload: `{"exp":null,"sub":null}`, check: func(c *jws.Claims) bool { return c.Expiry.IsZero() && c.Subject == "" }},
		{name: "RFC 7519 §7.2 step 10: not an object", payload: `["a"]`, want: jws.ErrClaims},
		{name: "RFC 8259: trailing data", payload: `{}{}`, want: jws.ErrClaims},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := jws.ParseClaims([]byte(tt.payload))
			if tt.want != nil {
				if !errors.Is(err, tt.want) {
					t.Fatalf("error %v, want %v", err, tt.want)
				}
				return
			}
			if err != nil || !tt.check(c) {
				t.Fatalf("ParseClaims = %+v, %v", c, err)
			}
		})
	}
}

func TestClaimsRoundTrip(t *testing.T) {
	c := &jws.Claims{
		Issuer: "https://issuer.example.com", Subject: "u\"1", Audience: []string{"a", "b"},
		Expiry: testNow.Add(time.Hour), NotBefore: testNow, IssuedAt: testNow, ID: "jti-1",
		Extra: map[string]json.RawMessage{"z": json.RawMessage(` [1, 2] `), "a": json.RawMessage(`"x"`)},
	}
	b, err := c.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"iss":"https://issuer.example.com","sub":"u\"1","aud":["a","b"],"exp":1772370000,"nbf":1772366400,"iat":1772366400,"jti":"jti-1","a":"x","z":[1,2]}`
	if string(b) != want {
		t.Fatalf("encoded %s\nwant    %s", b, want)
	}
	back, err := jws.ParseClaims(b)
	if err != nil || back.Subject != c.Subject || !back.Expiry.Equal(c.Expiry) || string(back.Extra["z"]) != "[1,2]" {
		t.Fatalf("decoded %+v, %v", back, err)
	}
	// go-jose reads the same claims.
	var std jwt.Claims
	if err := json.Unmarshal(b, &std); err != nil || std.Subject != c.Subject || !std.Expiry.Time().Equal(c.Expiry) || len(std.Audience) != 2 {
		t.Fatalf("go-jose read %+v, %v", std, err)
	}
	single, _ := (&jws.Claims{Audience: []string{"only"}}).MarshalJSON()
	if string(single) != `{"aud":"only"}` {
		t.Fatalf("single audience: %s", single)
	}
	for _, bad := range []*jws.Claims{
		{Extra: map[string]json.RawMessage{"sub": json.RawMessage(`"x"`)}},
		{Extra: map[string]json.RawMessage{"x": json.RawMessage(`{`)}},
		{Expiry: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
	} {
		if _, err := bad.MarshalJSON(); !errors.Is(err, jws.ErrClaims) {
			t.Errorf("%+v: %v, want ErrClaims", bad, err)
		}
	}
}

// TestValidate: RFC 7519 §4.1 claim checks, rule by rule, with the leeway
// on both sides of each boundary.
func TestValidate(t *testing.T) {
	now := testNow
	base := func() *jws.Claims {
		return &jws.Claims{Issuer: "iss", Subject: "sub", Audience: []string{"a1", "a2"}, Expiry: now.Add(time.Minute), IssuedAt: now.Add(-time.Minute), ID: "j"}
	}
	with := func(f func(*jws.Claims)) *jws.Claims { c := base(); f(c); return c }
	tests := []struct {
		name   string
		claims *jws.Claims
		exp    jws.Expected
		want   error
	}{
		{name: "zero Expected accepts a current token", claims: base()},
		{name: "RFC 7519 §4.1.4: exp required by default", claims: with(func(c *jws.Claims) { c.Expiry = time.Time{} }), want: jws.ErrMissingClaim},
		{name: "RFC 7519 §4.1.4: exp optional when asked", claims: with(func(c *jws.Claims) { c.Expiry = time.Time{} }), exp: jws.Expected{ExpiryOptional: true}},
		{name: "RFC 7519 §4.1.4: exp equal to now is expired", claims: with(func(c *jws.Claims) { c.Expiry = now }), want: jws.ErrExpired},
		{name: "RFC 7519 §4.1.4: exp just past, within leeway", claims: with(func(c *jws.Claims) { c.Expiry = now.Add(-30 * time.Second) }), exp: jws.Expected{Leeway: time.Minute}},
		{name: "RFC 7519 §4.1.4: exp past beyond leeway", claims: with(func(c *jws.Claims) { c.Expiry = now.Add(-time.Minute) }), exp: jws.Expected{Leeway: time.Minute}, want: jws.ErrExpired},
		{name: "RFC 7519 §4.1.5: nbf equal to now is valid", claims: with(func(c *jws.Claims) { c.NotBefore = now })},
		{name: "RFC 7519 §4.1.5: nbf in the future", claims: with(func(c *jws.Claims) { c.NotBefore = now.Add(time.Second) }), want: jws.ErrNotYetValid},
		{name: "RFC 7519 §4.1.5: nbf in the future, within leeway", claims: with(func(c *jws.Claims) { c.NotBefore = now.Add(time.Second) }), exp: jws.Expected{Leeway: time.Second}},
		{name: "RFC 7519 §4.1.6: iat in the future", claims: with(func(c *jws.Claims) { c.IssuedAt = now.Add(time.Second) }), want: jws.ErrIssuedInFuture},
		{name: "RFC 7519 §4.1.6: max age exceeded", claims: base(), exp: jws.Expected{MaxAge: 30 * time.Second}, want: jws.ErrTooOld},
		{name: "RFC 7519 §4.1.6: max age met", claims: base(), exp: jws.Expected{MaxAge: time.Minute}},
		{name: "RFC 7519 §4.1.6: max age needs iat", claims: with(func(c *jws.Claims) { c.IssuedAt = time.Time{} }), exp: jws.Expected{MaxAge: time.Minute}, want: jws.ErrMissingClaim},
		{name: "RFC 7523 §3: lifetime ahead of now too long", claims: with(func(c *jws.Claims) { c.Expiry = now.Add(time.Hour); c.IssuedAt = time.Time{} }), exp: jws.Expected{MaxLifetime: 5 * time.Minute}, want: jws.ErrLifetime},
		{name: "RFC 7523 §3: lifetime from iat too long", claims: with(func(c *jws.Claims) { c.IssuedAt = now.Add(-time.Hour) }), exp: jws.Expected{MaxLifetime: 5 * time.Minute}, want: jws.ErrLifetime},
		{name: "RFC 7523 §3: lifetime within bound", claims: base(), exp: jws.Expected{MaxLifetime: 5 * time.Minute}},
		{name: "RFC 7519 §4.1.1: issuer matches", claims: base(), exp: jws.Expected{Issuer: "iss"}},
		{name: "RFC 7519 §4.1.1: issuer differs", claims: base(), exp: jws.Expected{Issuer: "other"}, want: jws.ErrIssuer},
		{name: "RFC 7519 §4.1.1: issuer is case-sensitive", claims: base(), exp: jws.Expected{Issuer: "ISS"}, want: jws.ErrIssuer},
		{name: "RFC 7519 §4.1.2: subject differs", claims: base(), exp: jws.Expected{Subject: "x"}, want: jws.ErrSubject},
		{name: "RFC 7519 §4.1.3: one of the audiences", claims: base(), exp: jws.Expected{AnyAudience: []string{"x", "a2"}}},
		{name: "RFC 7519 §4.1.3: none of the audiences", claims: base(), exp: jws.Expected{AnyAudience: []string{"x"}}, want: jws.ErrAudience},
		{name: "RFC 7519 §4.1.3: no aud at all", claims: with(func(c *jws.Claims) { c.Audience = nil }), exp: jws.Expected{AnyAudience: []string{"a1"}}, want: jws.ErrAudience},
		{name: "RFC 7519 §4.1.7: jti required", claims: with(func(c *jws.Claims) { c.ID = "" }), exp: jws.Expected{RequireID: true}, want: jws.ErrMissingClaim},
		{name: "leeway out of range", claims: base(), exp: jws.Expected{Leeway: time.Hour}, want: jws.ErrConfig},
		{name: "negative leeway", claims: base(), exp: jws.Expected{Leeway: -time.Second}, want: jws.ErrConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := tt.exp
			e.Time = testClock
			err := tt.claims.Validate(e)
			if tt.want == nil && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("error %v, want %v", err, tt.want)
			}
		})
	}
}

// TestClaimsDecode: extra claims through encoding/json.
func TestClaimsDecode(t *testing.T) {
	c, err := jws.ParseClaims([]byte(`{"n":[1,2],"s":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	var n []int
	if err := c.Decode("n", &n); err != nil || len(n) != 2 {
		t.Fatalf("Decode n = %v, %v", n, err)
	}
	var i int
	if err := c.Decode("s", &i); !errors.Is(err, jws.ErrClaims) {
		t.Fatalf("Decode s into int: %v", err)
	}
	if err := c.Decode("absent", &i); !errors.Is(err, jws.ErrMissingClaim) {
		t.Fatalf("Decode absent: %v", err)
	}
	if !strings.Contains(jws.ErrExpired.Error(), "jws: token expired") {
		t.Fatal("sentinel text changed")
	}
}
