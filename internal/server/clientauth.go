package server

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/rs/zerolog"

	"github.com/sealedtoken/issuer/internal/config"
	"github.com/sealedtoken/issuer/internal/jwksfetch"
	"github.com/sealedtoken/issuer/internal/login"
	"github.com/sealedtoken/issuer/pkg/certbind"
	"github.com/sealedtoken/issuer/pkg/dpop"
	"github.com/sealedtoken/issuer/pkg/endpoint"
	"github.com/sealedtoken/issuer/pkg/jws"
	"github.com/sealedtoken/issuer/pkg/secret"
)

// The SPEC §10 wiring of the App: client authentication with keys and
// certificates, the client certificates the listener asks for, DPoP
// nonces.

// maxClientCAFile bounds what loadClientCAs reads of tls.client_ca_file.
const maxClientCAFile = 1 << 20

// loadClientCAs reads the PEM certificates of tls.client_ca_file; nil
// when the key is unset. Errors name the key.
func loadClientCAs(cfg *config.Config) (*x509.CertPool, error) {
	path := cfg.TLS.ClientCAFile
	if path == "" {
		return nil, nil
	}
	data, err := readBounded(path, maxClientCAFile)
	if err != nil {
		return nil, fmt.Errorf("tls.client_ca_file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("tls.client_ca_file %s: no PEM certificate in it", path)
	}
	return pool, nil
}

// readBounded reads a regular file of at most limit bytes.
func readBounded(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, limit)
	}
	return data, nil
}

// dpopNonces returns the DPoP nonces that dpop.require_nonce asks for (nil
// without it), keyed with dpop.nonce_key_file or dpop.nonce_key_env, or
// with a random key, which suits one replica only (logged). Errors name
// the key and never quote key material.
func dpopNonces(cfg *config.Config, getenv func(string) string, now func() time.Time, log zerolog.Logger) (*dpop.Nonces, error) {
	d := cfg.DPoP
	if !d.RequireNonce {
		return nil, nil
	}
	var key []byte
	switch {
	case d.NonceKeyFile != "":
		data, err := readBounded(d.NonceKeyFile, login.MaxKeyFileSize)
		if err != nil {
			return nil, fmt.Errorf("dpop.nonce_key_file: %w", err)
		}
		key, err = login.ParseKeyFile(data)
		clear(data)
		if err != nil {
			return nil, fmt.Errorf("dpop.nonce_key_file %s: %w", d.NonceKeyFile, err)
		}
	case d.NonceKeyEnv != "":
		v := getenv(d.NonceKeyEnv)
		if v == "" {
			return nil, fmt.Errorf("dpop.nonce_key_env names %s, which is not set", d.NonceKeyEnv)
		}
		var err error
		if key, err = login.DecodeKey(v); err != nil {
			return nil, fmt.Errorf("dpop.nonce_key_env %s: %w", d.NonceKeyEnv, err)
		}
	default:
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, fmt.Errorf("dpop: nonce key: %w", err)
		}
		log.Warn().Str("component", "dpop").Msg("dpop.require_nonce without dpop.nonce_key_file or nonce_key_env: this process made a random nonce key, so replicas behind a load balancer refuse each other's nonces; give them one key")
	}
	n, err := dpop.NewNonces(d.NonceStep, now, key)
	clear(key)
	if err != nil {
		return nil, fmt.Errorf("dpop.nonce_step: %w", err)
	}
	return n, nil
}

// clientAuth builds the endpoint registration of a client or resource
// server from its configuration: the method, the keys (jwks parsed, or
// jwks_uri), the tls_client_auth matcher, and for secret_env the secret
// read from the environment: as an HS256 key for client_secret_jwt, as a
// sha256 hash for the secret methods. Errors name the key (path) and never
// quote the secret.
func clientAuth(path string, a config.Auth, getenv func(string) string) (endpoint.ClientAuth, secret.Hash, error) {
	ea := endpoint.ClientAuth{Method: endpoint.AuthMethod(a.Method), JWKSURI: a.JWKSURI}
	var h secret.Hash
	if a.JWKS != "" {
		set, err := jws.ParseKeySet([]byte(a.JWKS))
		if err != nil {
			return ea, h, fmt.Errorf("%s.jwks: %w", path, err)
		}
		ea.JWKS = set
	}
	if a.Method == config.AuthTLS {
		m, err := certbind.NewMatcher(a.Rule)
		if err != nil {
			return ea, h, fmt.Errorf("%s.tls_client_auth_*: %w", path, err)
		}
		ea.TLS = m
	}
	if a.SecretEnv != "" {
		v := getenv(a.SecretEnv)
		switch {
		case v == "":
			return ea, h, fmt.Errorf("%s.secret_env names %s, which is not set", path, a.SecretEnv)
		case len(v) < config.MinEnvSecret:
			return ea, h, fmt.Errorf("%s.secret_env: %s holds fewer than %d bytes; use a generated secret (openssl rand -base64 32)", path, a.SecretEnv, config.MinEnvSecret)
		}
		if a.Method == config.AuthSecretJWT {
			k, err := jws.NewHMACKey([]byte(v), "")
			if err != nil {
				return ea, h, fmt.Errorf("%s.secret_env: %w", path, err)
			}
			ea.HMACKey = k
		} else {
			var err error
			if h, err = secret.Parse(secret.NewSHA256(v)); err != nil {
				return ea, h, fmt.Errorf("%s.secret_env: %w", path, err)
			}
		}
	}
	return ea, h, nil
}

// wantsClientCertificates reports whether the listener should ask TLS
// clients for a certificate: a client CA file is configured, or a client
// or resource server authenticates with mutual TLS or has
// certificate-bound tokens. Asking costs every other client nothing but a
// CertificateRequest, but a browser holding certificates may then ask its
// user to pick one on the login page, so it is asked only when needed.
func wantsClientCertificates(cfg *config.Config) bool {
	if cfg.TLS.ClientCAFile != "" {
		return true
	}
	for i := range cfg.Clients {
		c := &cfg.Clients[i]
		if a := c.AuthOf(); a.UsesClientCertificate() || c.TLSClientCertificateBoundAccessTokens {
			return true
		}
	}
	for i := range cfg.ResourceServers {
		if a := cfg.ResourceServers[i].AuthOf(); a.UsesClientCertificate() {
			return true
		}
	}
	return false
}

// withClientCertificates makes conf ask for (RequestClientCert: request,
// do not require, do not verify) a client certificate while want reports
// true: the handshake proves possession of the certificate's key, and the
// endpoints verify what each method requires (a chain to
// tls.client_ca_file for tls_client_auth; the registered key for
// self_signed_tls_client_auth, which a verifying handshake would refuse).
// want is read per handshake, so a reload that adds the first mTLS client
// takes effect for new connections.
func withClientCertificates(conf *tls.Config, want func() bool) *tls.Config {
	asking := conf.Clone()
	asking.ClientAuth = tls.RequestClientCert
	conf.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
		if want() {
			return asking, nil
		}
		return nil, nil
	}
	return conf
}

// setupClientAuth prepares what every endpoint server of the App shares
// for SPEC §10: the environment lookup (secret_env), one fetcher of
// jwks_uri (its cache outlives reloads), the CAs of tls.client_ca_file and
// the DPoP nonces.
func (a *App) setupClientAuth(cfg *config.Config, o Options) error {
	a.getenv = o.Getenv
	a.fetcher = o.KeySetFetcher
	if a.fetcher == nil {
		f, err := jwksfetch.New()
		if err != nil {
			return err
		}
		a.fetcher = f
	}
	var err error
	if a.clientCAs, err = loadClientCAs(cfg); err != nil {
		return err
	}
	if a.dpopNonces, err = dpopNonces(cfg, o.Getenv, o.Now, a.log); err != nil {
		return err
	}
	return nil
}

// clientAuthOptions are the endpoint options of setupClientAuth's parts.
func (a *App) clientAuthOptions() []endpoint.Option {
	opts := []endpoint.Option{endpoint.WithKeySetFetcher(a.fetcher)}
	if a.clientCAs != nil {
		opts = append(opts, endpoint.WithClientCAs(a.clientCAs))
	}
	if a.dpopNonces != nil {
		opts = append(opts, endpoint.WithDPoPNonces(a.dpopNonces))
	}
	return opts
}
