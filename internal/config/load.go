package config

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// MaxFileSize is the largest configuration [Load] and [Parse] accept.
const MaxFileSize = 8 << 20

// Environment variables that override the file (SPEC §6: "env vars may
// override the listen address and the data directory"). An empty variable
// counts as unset. A relative ISSUER_DATA_DIR is resolved against the
// working directory, as a command-line path would be.
const (
	EnvListen  = "ISSUER_LISTEN"   // overrides listen
	EnvDataDir = "ISSUER_DATA_DIR" // overrides data_dir
	EnvStore   = "ISSUER_STORE"    // overrides store (keeps a Redis password out of the file)
)

// Option adjusts how a configuration is loaded. Only this package
// implements it.
type Option interface{ apply(*options) }

type options struct {
	getenv  func(string) string
	baseDir string
}

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

// WithEnv applies the environment overrides EnvListen, EnvDataDir and
// EnvStore, looked up with getenv (os.Getenv in production, a map in tests).
// Errors in an overridden value name the variable, not the key.
func WithEnv(getenv func(string) string) Option {
	return optionFunc(func(o *options) { o.getenv = getenv })
}

// WithBaseDir sets the directory against which a relative data_dir is
// resolved. The default is the directory of the file for [Load] and the
// working directory for [Parse].
func WithBaseDir(dir string) Option {
	return optionFunc(func(o *options) { o.baseDir = dir })
}

// Load reads and parses the configuration file at path; see [Parse]. A
// relative data_dir in the file is resolved against the file's directory,
// so the server finds its files whatever directory it is started from.
func Load(path string, opts ...Option) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	base := filepath.Dir(path)
	if abs, err := filepath.Abs(base); err == nil {
		base = abs
	}
	return Parse(data, path, append([]Option{WithBaseDir(base)}, opts...)...)
}

// Parse decodes, completes and validates a YAML configuration. source names
// the data in error messages (usually the file name).
//
// Steps: the YAML is decoded over [Default], so absent keys keep their
// defaults; unknown keys, wrong types and duplicate keys are errors; the
// environment overrides of [WithEnv] are applied; derived defaults are set
// (a lone audience is the default; authorization_code clients get
// response_types [code]); paths are made absolute (see doc.go); and the
// result is validated. Every problem is reported, each as an *Error that
// names its key path and line, joined with errors.Join. On error the
// Config is nil.
func Parse(data []byte, source string, opts ...Option) (*Config, error) {
	o := newOptions(opts)
	if len(data) > MaxFileSize {
		return nil, &Error{Source: source, Msg: fmt.Sprintf("larger than %d bytes", MaxFileSize), Kind: ErrSyntax}
	}
	root, err := parseYAML(data, source)
	if err != nil {
		return nil, err
	}
	var errs errList
	c := Default()
	d := decoder{source: source, errs: &errs, pos: map[string]int{}, budget: nodeBudget(root)}
	if !d.decodeRoot(root, c) {
		return nil, errs.err()
	}
	// A key whose value could not be decoded kept its default; do not
	// report it a second time from validation.
	bad := make(map[string]bool, len(errs.errs))
	for _, e := range errs.errs {
		if e, ok := e.(*Error); ok && e.Path != "" && e.Kind != ErrUnknownKey {
			bad[e.Path] = true
		}
	}
	env := applyEnv(c, o.getenv)
	applyDerived(c)
	dataDirBase := o.baseDir
	if _, ok := env["data_dir"]; ok {
		dataDirBase = "" // working directory
	}
	v := validator{src: source, pos: d.pos, env: env, skip: bad, errs: &errs}
	if err := resolvePaths(c, dataDirBase); err != nil {
		v.errf("data_dir", "%v", err)
	}
	v.config(c)
	if errs.len() > 0 {
		return nil, errs.err()
	}
	return c, nil
}

func newOptions(opts []Option) options {
	o := options{getenv: func(string) string { return "" }}
	for _, opt := range opts {
		if opt != nil {
			opt.apply(&o)
		}
	}
	if o.getenv == nil {
		o.getenv = func(string) string { return "" }
	}
	return o
}

// applyEnv applies the environment overrides and returns key path ->
// variable for the keys it set.
func applyEnv(c *Config, getenv func(string) string) map[string]string {
	env := map[string]string{}
	if s := getenv(EnvListen); s != "" {
		c.Listen, env["listen"] = s, EnvListen
	}
	if s := getenv(EnvDataDir); s != "" {
		c.DataDir, env["data_dir"] = s, EnvDataDir
	}
	if s := getenv(EnvStore); s != "" {
		c.Store, env["store"] = Store(s), EnvStore
	}
	return env
}

// resolvePaths makes data_dir absolute (a relative one is resolved against
// base, or the working directory if base is empty) and resolves relative
// tls.cert_file, tls.key_file, tls.client_ca_file, keys.dir, store_path,
// login.key_file and dpop.nonce_key_file against data_dir.
func resolvePaths(c *Config, base string) error {
	if c.DataDir == "" {
		return nil // reported by the validator
	}
	dir := c.DataDir
	if !filepath.IsAbs(dir) && base != "" {
		dir = filepath.Join(base, dir)
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return errors.New("cannot make the data directory absolute: the working directory is unknown")
	}
	c.DataDir = dir
	for _, p := range []*string{&c.TLS.CertFile, &c.TLS.KeyFile, &c.TLS.ClientCAFile, &c.Keys.Dir, &c.StorePath, &c.Login.KeyFile, &c.DPoP.NonceKeyFile} {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		} else if *p != "" {
			*p = filepath.Clean(*p)
		}
	}
	return nil
}

// Dev-mode names (SPEC §6: "issuer serve" with no arguments).
const (
	// DevAudience is the only, default audience of the dev configuration.
	DevAudience = "https://api.example.com"
	// DemoClientID is the id of [DemoClient].
	DemoClientID = "demo"
	// DevCertFile and DevKeyFile are the TLS files of the dev
	// configuration, relative to its data directory.
	DevCertFile = "tls/cert.pem"
	DevKeyFile  = "tls/key.pem"
	// DevLoginKeyFile is the login.key_file that "issuer serve" creates in
	// dev mode, relative to the data directory. [Dev] does not set it:
	// the caller that creates the file does.
	DevLoginKeyFile = "login.key"
	// DemoUsername and DemoUserID are the name and id of [DemoUser].
	DemoUsername = "alice"
	DemoUserID   = "u-alice"
)

// Dev returns the configuration of the dev server: listen on
// 127.0.0.1:8443, issuer https://<listen address>, TLS files DevCertFile and
// DevKeyFile and the key rings under dataDir ("" means the working
// directory), one default audience DevAudience, the file store under
// dataDir (DefaultStorePath), and no clients or users. With [WithEnv], ISSUER_LISTEN, ISSUER_DATA_DIR and
// ISSUER_STORE override as for a file, and the issuer follows the listen
// address (an unspecified host becomes 127.0.0.1). With port 0 (any free
// port, for tests) the issuer is left empty: set it from the bound address
// before calling Validate.
//
// The caller creates the TLS files and appends a client, for example
// [DemoClient], then calls [Config.Validate]. Dev itself returns an error
// only for invalid overrides.
func Dev(dataDir string, opts ...Option) (*Config, error) {
	o := newOptions(opts)
	c := Default()
	if dataDir != "" {
		c.DataDir = dataDir
	}
	c.TLS = TLS{CertFile: DevCertFile, KeyFile: DevKeyFile}
	c.Audiences = []Audience{{Name: DevAudience, Default: true}}
	env := applyEnv(c, o.getenv)
	c.Issuer = issuerFor(c.Listen)
	var errs errList
	v := validator{env: env, errs: &errs}
	if c.Issuer == "" {
		v.skip = map[string]bool{"issuer": true}
	}
	if err := resolvePaths(c, ""); err != nil {
		v.errf("data_dir", "%v", err)
	}
	v.config(c)
	if errs.len() > 0 {
		return nil, errs.err()
	}
	return c, nil
}

// issuerFor returns the https URL of a listen address, with an unspecified
// host replaced by 127.0.0.1, or "" if the port is 0.
func issuerFor(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		host, port = "127.0.0.1", "8443" // the listen error is reported
	}
	if n, err := strconv.Atoi(port); err == nil && n == 0 {
		return ""
	}
	if a, err := netip.ParseAddr(host); host == "" || err == nil && a.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "https://" + strings.TrimSuffix(net.JoinHostPort(host, port), ":443")
}

// DemoClient returns the dev server's confidential demo client, id
// DemoClientID: client_credentials only, scopes "read" and "write" with
// "read" by default, and the default audience. secretHash is the hash of
// the generated secret (pkg/secret).
func DemoClient(secretHash Hash) Client {
	return Client{
		ID:            DemoClientID,
		SecretHash:    secretHash,
		GrantTypes:    []string{GrantClientCredentials},
		Scopes:        []string{"read", "write"},
		DefaultScopes: []string{"read"},
	}
}

// DemoUser returns the dev server's demo user, DemoUsername with id
// DemoUserID; passwordHash is the hash of the generated password (bcrypt or
// argon2id, see pkg/secret).
func DemoUser(passwordHash Hash) User {
	return User{Username: DemoUsername, ID: DemoUserID, PasswordHash: passwordHash}
}
