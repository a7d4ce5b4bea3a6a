package config

import (
	"slices"
	"time"

	"github.com/sealedtoken/issuer/pkg/endpoint"
	"github.com/sealedtoken/issuer/pkg/secret"
	"github.com/sealedtoken/issuer/pkg/store/memory"
)

// Defaults. They are applied to keys that are absent from the file (or
// present with a null value); a key given explicitly, even as zero, keeps
// its value and is validated. This is the one place defaults are set; doc.go
// and the example file show the same values, and a test keeps them in step.
const (
	DefaultListen          = "127.0.0.1:8443"
	DefaultDataDir         = "."
	DefaultKeysDir         = "keys" // relative to data_dir
	DefaultAlg             = AlgA256KW
	DefaultSigningAlg      = SigningES256
	DefaultKeyStore        = KeyStoreDir
	DefaultRotateEvery     = 24 * time.Hour
	DefaultPropagation     = time.Hour
	DefaultAccessTTL       = 10 * time.Minute
	DefaultRefreshTTL      = 720 * time.Hour
	DefaultCodeTTL         = 60 * time.Second
	DefaultLeeway          = 30 * time.Second
	DefaultStatusListTTL   = endpoint.DefaultStatusListTTL
	DefaultDeviceCodeTTL   = endpoint.DefaultDeviceCodeLifetime
	DefaultStore           = StoreFile
	DefaultStorePath       = "store/issuer.db" // relative to data_dir
	DefaultMaxBodyBytes    = ByteSize(64 << 10)
	DefaultReadTimeout     = 10 * time.Second
	DefaultWriteTimeout    = 10 * time.Second
	DefaultIdleTimeout     = 2 * time.Minute
	DefaultRateFailures    = secret.DefaultThreshold
	DefaultRateWindow      = secret.DefaultWindow
	DefaultRateBackoff     = secret.DefaultBlock
	DefaultRateMaxBackoff  = secret.DefaultMaxBlock
	DefaultClientWrites    = endpoint.DefaultClientWrites
	DefaultClientWindow    = endpoint.DefaultClientWindow
	DefaultDPoPNonceStep   = time.Minute
	DefaultLogLevel        = "info"
	DefaultLogFormat       = "auto"
	DefaultMaxConnsPerIP   = 0 // no cap
	DefaultHashConcurrency = 0 // GOMAXPROCS
	// DefaultMemoryStoreEntries is the memory store's own default bound.
	DefaultMemoryStoreEntries = memory.DefaultMaxEntries
	// DefaultGCPercent trades memory for CPU: the issuer's live heap is
	// small (tokens carry their own state), so letting it grow to five
	// times its live size before a collection costs a few MiB and saves
	// most of the collector's CPU per token (bench/RESULTS-load.md).
	DefaultGCPercent = 400
	// DefaultSessionTTL and DefaultConsentTTL are the lifetimes of the
	// login session (single sign-on) and of remembered consent (SPEC §11).
	DefaultSessionTTL = 8 * time.Hour
	DefaultConsentTTL = 90 * 24 * time.Hour
)

// Default returns a Config holding every default and nothing else: no
// issuer, audiences, clients or users, and DataDir still relative ("."). It
// is what [Parse] decodes a file over.
func Default() *Config {
	return &Config{
		Listen:  DefaultListen,
		DataDir: DefaultDataDir,
		Keys: Keys{
			Dir:         DefaultKeysDir,
			Store:       DefaultKeyStore,
			Alg:         DefaultAlg,
			SigningAlg:  DefaultSigningAlg,
			RotateEvery: DefaultRotateEvery,
			Propagation: DefaultPropagation,
		},
		Tokens: Tokens{
			AccessTTL:     DefaultAccessTTL,
			RefreshTTL:    DefaultRefreshTTL,
			CodeTTL:       DefaultCodeTTL,
			Leeway:        DefaultLeeway,
			StatusListTTL: DefaultStatusListTTL,
			DeviceCodeTTL: DefaultDeviceCodeTTL,
		},
		Store:     DefaultStore,
		StorePath: DefaultStorePath,
		DPoP:      DPoP{NonceStep: DefaultDPoPNonceStep},
		Login:     Login{SessionTTL: DefaultSessionTTL, ConsentTTL: DefaultConsentTTL},
		Limits: Limits{
			MaxBodyBytes:       DefaultMaxBodyBytes,
			ReadTimeout:        DefaultReadTimeout,
			WriteTimeout:       DefaultWriteTimeout,
			IdleTimeout:        DefaultIdleTimeout,
			MaxConnsPerIP:      DefaultMaxConnsPerIP,
			HashConcurrency:    DefaultHashConcurrency,
			MemoryStoreEntries: DefaultMemoryStoreEntries,
			GCPercent:          DefaultGCPercent,
		},
		RateLimit: RateLimit{
			Failures:     DefaultRateFailures,
			Window:       DefaultRateWindow,
			Backoff:      DefaultRateBackoff,
			MaxBackoff:   DefaultRateMaxBackoff,
			ClientWrites: DefaultClientWrites,
			ClientWindow: DefaultClientWindow,
		},
		Log: Log{Level: DefaultLogLevel, Format: DefaultLogFormat},
	}
}

// applyDerived sets the defaults that depend on other values:
//   - a lone audience is the default audience;
//   - a client with the authorization_code grant and no response_types gets
//     response_types [code] (RFC 7591 §2 pairs them the same way).
func applyDerived(c *Config) {
	if len(c.Audiences) == 1 {
		c.Audiences[0].Default = true
	}
	for i := range c.Clients {
		cl := &c.Clients[i]
		if len(cl.ResponseTypes) == 0 && slices.Contains(cl.GrantTypes, GrantAuthorizationCode) {
			cl.ResponseTypes = []string{ResponseCode}
		}
	}
}
