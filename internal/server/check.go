package server

import (
	"crypto/tls"
	"errors"
	"fmt"

	"github.com/rs/zerolog"

	"github.com/sealedtoken/issuer/internal/config"
	"github.com/sealedtoken/issuer/pkg/secret"
)

// ErrConfig means a valid configuration names something the server cannot
// use: a key-encryption key or login key that is missing or malformed, a
// secret hash that does not parse. The error names the key.
var ErrConfig = errors.New("server: configuration cannot be used")

// Check runs, on a configuration already validated (config.Load), the
// checks Build would make before serving that need no key ring, store or
// port: the TLS certificate and key load and match (ErrCertificate), the
// key-encryption key of keys.kek_env and the login key decode, and every
// client secret and user password hash parses (ErrConfig). It writes
// nothing and listens on nothing: "issuer serve --check".
func Check(cfg *config.Config, getenv func(string) string) error {
	var errs []error
	if cfg.TLS.CertFile != "" {
		if _, err := tls.LoadX509KeyPair(cfg.TLS.CertFile, cfg.TLS.KeyFile); err != nil {
			errs = append(errs, fmt.Errorf("%w: tls.cert_file %s, tls.key_file %s: %w", ErrCertificate, cfg.TLS.CertFile, cfg.TLS.KeyFile, err))
		}
	}
	if _, err := NewKeyRings(cfg, getenv); err != nil {
		errs = append(errs, fmt.Errorf("%w: %w", ErrConfig, err))
	}
	if _, err := loginKey(cfg, getenv, zerolog.Nop()); err != nil {
		errs = append(errs, fmt.Errorf("%w: %w", ErrConfig, err))
	}
	if _, _, err := staticClients(cfg); err != nil {
		errs = append(errs, fmt.Errorf("%w: %w", ErrConfig, err))
	}
	for _, u := range cfg.Users {
		if _, err := secret.Parse(string(u.PasswordHash)); err != nil {
			errs = append(errs, fmt.Errorf("%w: user %q: password_hash: %w", ErrConfig, u.Username, err))
		}
	}
	return errors.Join(errs...)
}
