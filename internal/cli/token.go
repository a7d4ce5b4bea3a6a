package cli

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/sealedtoken/issuer/internal/server"
	"github.com/sealedtoken/issuer/pkg/crypttoken"
	"github.com/sealedtoken/issuer/pkg/keys"
)

const tokenHelp = `usage: issuer token inspect [--config FILE | --ring FILE] TOKEN|-

Decrypts a token (an access token, refresh token or authorization code)
and prints its protected header and claims as JSON, with its time claims
(exp, nbf, iat, auth_time: seconds since the epoch) also in RFC 3339 UTC
under "times". "-" reads the token
from standard input. The token is validated as the issuer validates it
(algorithm allow-list, key id, type, expiry with leeway, and, with
--config, issuer and audience); a token that does not open is reported
with the reason (for example "crypttoken: token expired") and exit code 1.

  --config FILE   try every audience ring and the internal ring of this
                  configuration (the dev server writes one:
                  .issuer-dev/issuer.dev.yaml)
  --ring FILE     use one ring file, or a JWK Set exported with
                  "issuer keys export" (what a resource server holds); a
                  wrapped ring file needs its key-encryption key in
                  $ISSUER_KEK

exit codes: 0 the token opened, 1 it did not, 2 usage or config error
`

// maxTokenInput bounds what inspect reads from standard input.
const maxTokenInput = 64 << 10

// candidate is a ring a token may open with, and what to expect.
type candidate struct {
	name string
	ring *keys.Ring
	exp  crypttoken.Expected
}

func runToken(ctx context.Context, args []string, env Env) error {
	if len(args) == 0 {
		return usagef("token: missing subcommand (inspect); see issuer token -h")
	}
	if a := args[0]; a == "-h" || a == "-help" || a == "--help" {
		fmt.Fprint(env.Stdout, tokenHelp)
		return nil
	}
	if args[0] != "inspect" {
		return usagef("token: unknown subcommand %q (want inspect)", args[0])
	}
	fs := newFlags("token")
	cfgPath := fs.String("config", "", "")
	ringPath := fs.String("ring", "", "")
	if err := parse(fs, args[1:], tokenHelp, env); err != nil {
		return err
	}
	switch {
	case fs.NArg() != 1:
		return usagef("token inspect: want one TOKEN argument (or - for standard input)")
	case (*cfgPath == "") == (*ringPath == ""):
		return usagef("token inspect: give exactly one of --config FILE and --ring FILE")
	}
	token := fs.Arg(0)
	if token == "-" {
		in := env.Stdin
		if in == nil {
			in = os.Stdin
		}
		b, err := io.ReadAll(io.LimitReader(in, maxTokenInput))
		if err != nil {
			return err
		}
		token = string(b)
	}
	token = strings.TrimSpace(token)

	hdr, typ, err := peekHeader(token)
	if err != nil {
		return err
	}
	var cands []candidate
	if *cfgPath != "" {
		cfg, err := loadConfig(*cfgPath, env)
		if err != nil {
			return err
		}
		kr, closeRings, err := server.ConnectKeyRings(ctx, cfg, env.Getenv)
		if err != nil {
			return err
		}
		defer closeRings()
		if err := openRings(ctx, kr); err != nil {
			return err
		}
		for _, n := range kr.Names() {
			if n == keys.SigningRing {
				continue // signs; opens nothing
			}
			r, _ := kr.Ring(n)
			exp := crypttoken.Expected{Issuer: cfg.Issuer, Audience: n, Type: typ, Leeway: cfg.Tokens.Leeway}
			if n == keys.InternalRing {
				exp.Audience = cfg.Issuer
			}
			cands = append(cands, candidate{name: n, ring: r, exp: exp})
		}
	} else {
		set, err := readRing(ctx, *ringPath, env.Getenv)
		if err != nil {
			return err
		}
		cands = append(cands, candidate{name: set.Name(), ring: keys.NewRing(set), exp: crypttoken.Expected{Type: typ, Leeway: 30 * time.Second}})
	}

	var firstErr error
	for _, c := range cands {
		op, err := crypttoken.NewOpener(c.ring, c.exp)
		if err != nil {
			return err
		}
		claims, err := op.Open(token)
		if err == nil {
			out, err := json.MarshalIndent(inspection{Ring: c.name, Header: hdr, Claims: claimsJSON(claims), Times: claimTimes(claims, time.Now())}, "", "  ")
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(env.Stdout, "%s\n", out)
			return err
		}
		// A ring that does not hold the key says less than one that does.
		if firstErr == nil || errors.Is(firstErr, crypttoken.ErrUnknownKey) && !errors.Is(err, crypttoken.ErrUnknownKey) {
			firstErr = err
		}
	}
	if len(cands) > 1 && errors.Is(firstErr, crypttoken.ErrUnknownKey) {
		// Every ring of the configuration was tried: the kid is in none.
		kid, _ := hdr["kid"].(string)
		known := false
		for _, c := range cands {
			_, ok := c.ring.Load().Lookup(kid)
			known = known || ok
		}
		if !known {
			return fmt.Errorf("token does not open: %w: kid %.64q is in none of the rings of this configuration: sealed by another issuer, or with a key since removed (expired, or retired with --now)",
				crypttoken.ErrUnknownKey, kid)
		}
	}
	return fmt.Errorf("token does not open: %w", firstErr)
}

// inspection is what token inspect prints.
type inspection struct {
	Ring   string         `json:"ring"`
	Header map[string]any `json:"header"`
	Claims map[string]any `json:"claims"`
	// Times repeats the time claims (exp, nbf, iat, auth_time), which the
	// claims hold as seconds since the epoch (RFC 7519 §2 NumericDate), in
	// RFC 3339 UTC with how far they are from now.
	Times map[string]string `json:"times"`
}

// claimTimes formats the time claims of c for people.
func claimTimes(c *crypttoken.Claims, now time.Time) map[string]string {
	m := map[string]string{}
	for _, t := range []struct {
		name string
		at   time.Time
	}{{"exp", c.Expiry}, {"nbf", c.NotBefore}, {"iat", c.IssuedAt}, {"auth_time", c.AuthTime}} {
		if t.at.IsZero() {
			continue
		}
		d := t.at.Sub(now).Round(time.Second)
		rel := "in " + d.String()
		switch {
		case d < 0:
			rel = (-d).String() + " ago"
		case d == 0:
			rel = "now"
		}
		m[t.name] = t.at.UTC().Format(time.RFC3339) + " (" + rel + ")"
	}
	return m
}

// peekHeader decodes the JWE protected header, without trusting it: it
// only picks the type to expect, which opening then verifies.
func peekHeader(token string) (map[string]any, crypttoken.Type, error) {
	first, _, ok := strings.Cut(token, ".")
	if !ok || len(first) > 4096 {
		return nil, "", fmt.Errorf("token does not open: %w: not a compact JWE", crypttoken.ErrMalformed)
	}
	raw, err := base64.RawURLEncoding.DecodeString(first)
	if err != nil {
		return nil, "", fmt.Errorf("token does not open: %w: header is not base64url", crypttoken.ErrMalformed)
	}
	var hdr map[string]any
	if err := json.Unmarshal(raw, &hdr); err != nil {
		return nil, "", fmt.Errorf("token does not open: %w: header is not a JSON object", crypttoken.ErrMalformed)
	}
	typ := crypttoken.TypeAccess
	if s, ok := hdr["typ"].(string); ok && crypttoken.Type(s).Valid() {
		typ = crypttoken.Type(s)
	}
	return hdr, typ, nil
}

// readRing reads a ring file, or a JWK Set as exported for a resource
// server. A wrapped ring file is opened with the key-encryption key in
// $ISSUER_KEK, looked up with getenv.
func readRing(ctx context.Context, path string, getenv func(string) string) (*keys.Set, error) {
	set, err := keys.ReadFile(ctx, path)
	if errors.Is(err, keys.ErrKEKRequired) {
		kek, kerr := keys.ParseKEK(getenv(envKEK))
		if kerr != nil {
			return nil, fmt.Errorf("%w: environment variable %s", kerr, envKEK)
		}
		set, err = keys.ReadFile(ctx, path, keys.WithKEK(kek))
	}
	if err == nil {
		return set, nil
	}
	data, rerr := os.ReadFile(path)
	if rerr != nil {
		return nil, rerr
	}
	defer clear(data)
	if js, jerr := keys.ParseJWKS("jwks", data); jerr == nil {
		return js, nil
	}
	return nil, err
}

// envKEK is the variable "token inspect --ring" reads the key-encryption
// key of a wrapped ring file from.
const envKEK = "ISSUER_KEK"

// claimsJSON maps claims to their JWT names (RFC 7519 §4.1, RFC 9068 §2.2).
func claimsJSON(c *crypttoken.Claims) map[string]any {
	m := map[string]any{}
	for k, v := range c.Extra {
		m[k] = v
	}
	str := func(k, v string) {
		if v != "" {
			m[k] = v
		}
	}
	num := func(k string, t time.Time) {
		if !t.IsZero() {
			m[k] = t.Unix()
		}
	}
	str("iss", c.Issuer)
	str("sub", c.Subject)
	switch len(c.Audience) {
	case 0:
	case 1:
		m["aud"] = c.Audience[0]
	default:
		m["aud"] = c.Audience
	}
	num("exp", c.Expiry)
	num("nbf", c.NotBefore)
	num("iat", c.IssuedAt)
	str("jti", c.ID)
	str("client_id", c.ClientID)
	str("scope", c.Scope)
	num("auth_time", c.AuthTime)
	str("fid", c.FamilyID)
	if c.Generation != 0 {
		m["gen"] = c.Generation
	}
	str("resource", c.Resource)
	str("redirect_uri", c.RedirectURI)
	str("code_challenge", c.CodeChallenge)
	str("code_challenge_method", c.CodeChallengeMethod)
	return m
}
