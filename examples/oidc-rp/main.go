// Command oidc-rp is a complete OpenID Connect relying party for the
// issuer, built on github.com/coreos/go-oidc/v3 and golang.org/x/oauth2:
// discovery, the authorization code flow with PKCE, state and nonce, ID
// token verification (signature from jwks_uri, iss, aud, exp, nonce,
// at_hash), the UserInfo endpoint and RP-Initiated Logout.
//
// Against the dev server ("issuer serve"), whose public client demo-oidc
// redirects to http://127.0.0.1:5556/callback:
//
//	go run ./examples/oidc-rp -issuer https://127.0.0.1:8443 -cacert .issuer-dev/tls/cert.pem
//
// then open http://127.0.0.1:5556/ and sign in. With -once the program
// prints the verified ID token claims and the UserInfo response as JSON
// after the first login and exits (for scripts and tests).
package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"html/template"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

func main() {
	issuer := flag.String("issuer", "https://127.0.0.1:8443", "the issuer URL (its /.well-known/openid-configuration is read)")
	caFile := flag.String("cacert", "", "PEM file of a CA (or the dev server's self-signed certificate) to trust for the issuer")
	clientID := flag.String("client-id", "demo-oidc", "the client id (a public client: PKCE, no secret)")
	clientSecret := flag.String("client-secret", "", "the client secret, for a confidential client")
	listen := flag.String("listen", "127.0.0.1:5556", "where this relying party listens; the redirect URI is http://<listen>/callback")
	scopes := flag.String("scopes", "openid profile email", "the scopes to ask for")
	once := flag.Bool("once", false, "print the result of the first login as JSON and exit")
	flag.Parse()
	if err := run(*issuer, *caFile, *clientID, *clientSecret, *listen, strings.Fields(*scopes), *once); err != nil {
		log.Fatal(err)
	}
}

// Result is what -once prints: the verified ID token's claims and the
// UserInfo response.
type Result struct {
	IDToken  map[string]any `json:"id_token"`
	UserInfo map[string]any `json:"userinfo"`
}

// pending is one authorization request in flight, by its state.
type pending struct {
	nonce, verifier string
	created         time.Time
}

// rp is the relying party.
type rp struct {
	provider    *oidc.Provider
	verifier    *oidc.IDTokenVerifier
	oauth       oauth2.Config
	ctx         context.Context // carries the HTTP client that trusts -cacert
	endSession  string
	signedOut   string
	mu          sync.Mutex
	pending     map[string]pending
	lastIDToken string // for the logout's id_token_hint
	done        chan Result
}

func run(issuer, caFile, clientID, clientSecret, listen string, scopes []string, once bool) error {
	httpClient := &http.Client{Timeout: 10 * time.Second}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("%s holds no PEM certificate", caFile)
		}
		httpClient.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	}
	ctx := oidc.ClientContext(context.Background(), httpClient)
	// OpenID Connect Discovery 1.0: the issuer in the document must be
	// the one asked for.
	provider, err := oidc.NewProvider(ctx, issuer)
	if err != nil {
		return fmt.Errorf("discovery: %w", err)
	}
	var meta struct {
		EndSession string   `json:"end_session_endpoint"`
		Algs       []string `json:"id_token_signing_alg_values_supported"`
	}
	if err := provider.Claims(&meta); err != nil {
		return err
	}
	r := &rp{
		provider: provider,
		// The algorithms default to the discovery document's.
		verifier: provider.Verifier(&oidc.Config{ClientID: clientID}),
		oauth: oauth2.Config{
			ClientID:     clientID,
			ClientSecret: clientSecret,
			Endpoint:     provider.Endpoint(),
			RedirectURL:  "http://" + listen + "/callback",
			Scopes:       scopes,
		},
		ctx:        ctx,
		endSession: meta.EndSession,
		signedOut:  "http://" + listen + "/signed-out",
		pending:    map[string]pending{},
		done:       make(chan Result, 1),
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", r.login)
	mux.HandleFunc("GET /callback", r.callback)
	mux.HandleFunc("GET /logout", r.logout)
	mux.HandleFunc("GET /signed-out", func(w http.ResponseWriter, _ *http.Request) {
		page(w, "Signed out", "You are signed out of the issuer.", nil)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	fmt.Printf("relying party for %s (ID tokens signed with %v) listening: open http://%s/\n", issuer, meta.Algs, listen)
	if !once {
		select {}
	}
	res := <-r.done
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	out, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	fmt.Println(string(out))
	return nil
}

// random returns n random bytes, base64url.
func random(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// login starts the authorization code flow: state (CSRF), nonce (ID token
// replay, Core §3.1.2.1) and a PKCE verifier (RFC 7636) per request.
func (r *rp) login(w http.ResponseWriter, req *http.Request) {
	state, nonce, verifier := random(16), random(16), oauth2.GenerateVerifier()
	r.mu.Lock()
	for s, p := range r.pending {
		if time.Since(p.created) > 10*time.Minute {
			delete(r.pending, s)
		}
	}
	r.pending[state] = pending{nonce: nonce, verifier: verifier, created: time.Now()}
	r.mu.Unlock()
	http.Redirect(w, req, r.oauth.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)), http.StatusFound)
}

// callback finishes the flow: state, code exchange with the PKCE
// verifier, ID token verification (Core §3.1.3.7), nonce, at_hash
// (Core §3.1.3.8), then UserInfo (Core §5.3) with the access token.
func (r *rp) callback(w http.ResponseWriter, req *http.Request) {
	res, err := r.finish(req)
	if err != nil {
		log.Printf("login failed: %v", err)
		http.Error(w, "login failed: "+err.Error(), http.StatusBadRequest)
		return
	}
	page(w, "Signed in", "The ID token verified; its claims and the UserInfo response:", res)
	select {
	case r.done <- *res:
	default:
	}
}

func (r *rp) finish(req *http.Request) (*Result, error) {
	q := req.URL.Query()
	if e := q.Get("error"); e != "" {
		return nil, fmt.Errorf("authorization error %s: %s", e, q.Get("error_description"))
	}
	r.mu.Lock()
	p, ok := r.pending[q.Get("state")]
	delete(r.pending, q.Get("state"))
	r.mu.Unlock()
	if !ok {
		return nil, errors.New("unknown or reused state")
	}
	tok, err := r.oauth.Exchange(r.ctx, q.Get("code"), oauth2.VerifierOption(p.verifier))
	if err != nil {
		return nil, fmt.Errorf("code exchange: %w", err)
	}
	raw, ok := tok.Extra("id_token").(string)
	if !ok {
		return nil, errors.New("no id_token in the token response")
	}
	idToken, err := r.verifier.Verify(r.ctx, raw)
	if err != nil {
		return nil, fmt.Errorf("ID token: %w", err)
	}
	if idToken.Nonce != p.nonce {
		return nil, errors.New("ID token: nonce mismatch")
	}
	if err := idToken.VerifyAccessToken(tok.AccessToken); err != nil {
		return nil, fmt.Errorf("ID token: at_hash: %w", err)
	}
	res := &Result{}
	if err := idToken.Claims(&res.IDToken); err != nil {
		return nil, err
	}
	info, err := r.provider.UserInfo(r.ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		return nil, fmt.Errorf("userinfo: %w", err)
	}
	if info.Subject != idToken.Subject {
		return nil, errors.New("userinfo: sub differs from the ID token's (Core §5.3.2)")
	}
	if err := info.Claims(&res.UserInfo); err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.lastIDToken = raw
	r.mu.Unlock()
	return res, nil
}

// logout sends the user to the end-session endpoint (RP-Initiated Logout
// 1.0 §2) with the ID token as id_token_hint, so the issuer ends the
// session without asking, and back to /signed-out.
func (r *rp) logout(w http.ResponseWriter, req *http.Request) {
	if r.endSession == "" {
		http.Error(w, "the issuer has no end_session_endpoint", http.StatusNotImplemented)
		return
	}
	r.mu.Lock()
	hint := r.lastIDToken
	r.mu.Unlock()
	v := url.Values{"client_id": {r.oauth.ClientID}, "post_logout_redirect_uri": {r.signedOut}, "state": {random(8)}}
	if hint != "" {
		v.Set("id_token_hint", hint)
	}
	http.Redirect(w, req, r.endSession+"?"+v.Encode(), http.StatusFound)
}

var pageTmpl = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title></head>
<body><h1>{{.Title}}</h1><p>{{.Text}}</p>
{{if .JSON}}<pre id="result">{{.JSON}}</pre>{{end}}
<p><a href="/">Sign in</a> · <a href="/logout" id="logout">Sign out</a></p>
</body></html>
`))

func page(w http.ResponseWriter, title, text string, v any) {
	var js string
	if v != nil {
		b, _ := json.MarshalIndent(v, "", "  ")
		js = string(b)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = pageTmpl.Execute(w, struct{ Title, Text, JSON string }{title, text, js})
}
