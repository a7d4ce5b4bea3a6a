package devtls

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// Validity is how long a generated certificate is valid.
const Validity = 365 * 24 * time.Hour

// renewBefore is how close to its expiry an existing certificate is
// replaced instead of reused.
const renewBefore = 7 * 24 * time.Hour

// ErrInvalid means an existing certificate or key file does not parse, or
// the two do not belong together.
var ErrInvalid = errors.New("devtls: invalid certificate or key file")

// DefaultHosts are the names every dev certificate covers.
var DefaultHosts = []string{"127.0.0.1", "::1", "localhost"}

// Generate returns a fresh self-signed ECDSA P-256 certificate valid from
// now (backdated by a minute for clock skew) for Validity, covering hosts
// (IP addresses become IP SANs, other names DNS SANs), and its PKCS #8
// private key, both PEM-encoded.
func Generate(hosts []string, now time.Time) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("devtls: generating key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, fmt.Errorf("devtls: serial number: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "issuer dev server", Organization: []string{"issuer dev mode (self-signed)"}},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.Add(Validity),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		// IsCA lets clients that insist on a CA certificate in their trust
		// store (curl --cacert, Python's ssl module) accept the self-signed
		// leaf as its own anchor.
		IsCA: true,
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if h != "" {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("devtls: creating certificate: %w", err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("devtls: encoding key: %w", err)
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})
	clear(pkcs8)
	return certPEM, keyPEM, nil
}

// Ensure makes certFile and keyFile hold a usable dev certificate for
// hosts at now, creating the directories (mode 0700) as needed. An existing
// pair is reused when it parses, its halves match, it covers every host
// and it is valid for at least another week; otherwise a new pair is
// generated and written, key file first, with mode 0600. It reports whether
// it wrote a new pair.
//
// A pair that exists but does not parse is replaced only if both files are
// missing or both parse: a corrupt file is an error wrapping ErrInvalid,
// never silently overwritten, since the operator may have put it there.
func Ensure(certFile, keyFile string, hosts []string, now time.Time) (created bool, err error) {
	certPEM, cerr := os.ReadFile(certFile)
	keyPEM, kerr := os.ReadFile(keyFile)
	switch {
	case cerr == nil && kerr == nil:
		cert, err := Check(certPEM, keyPEM)
		if err != nil {
			return false, fmt.Errorf("%w: %s, %s: %w", ErrInvalid, certFile, keyFile, err)
		}
		if covers(cert, hosts) && now.Add(renewBefore).Before(cert.NotAfter) && !now.Before(cert.NotBefore) {
			return false, nil
		}
	case errors.Is(cerr, fs.ErrNotExist) && errors.Is(kerr, fs.ErrNotExist):
	case cerr != nil && !errors.Is(cerr, fs.ErrNotExist):
		return false, fmt.Errorf("devtls: %w", cerr)
	case kerr != nil && !errors.Is(kerr, fs.ErrNotExist):
		return false, fmt.Errorf("devtls: %w", kerr)
	default:
		// One of the two is missing: the other is useless alone.
	}
	certPEM, keyPEM, err = Generate(hosts, now)
	if err != nil {
		return false, err
	}
	defer clear(keyPEM)
	if err := writeFile(keyFile, keyPEM, 0o600); err != nil {
		return false, err
	}
	if err := writeFile(certFile, certPEM, 0o644); err != nil {
		return false, err
	}
	return true, nil
}

// Check parses a PEM certificate and key and verifies that they belong
// together; it returns the leaf certificate.
func Check(certPEM, keyPEM []byte) (*x509.Certificate, error) {
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(pair.Certificate[0])
}

// covers reports whether cert is valid for every host.
func covers(cert *x509.Certificate, hosts []string) bool {
	for _, h := range hosts {
		if h != "" && cert.VerifyHostname(h) != nil {
			return false
		}
	}
	return true
}

// writeFile writes data to path atomically: a temporary file in the same
// directory, fsync, chmod, rename, fsync of the directory.
func writeFile(path string, data []byte, mode os.FileMode) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("devtls: %w", err)
	}
	f, err := os.CreateTemp(dir, ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("devtls: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err == nil {
		err = f.Sync()
	}
	if err == nil {
		err = f.Chmod(mode)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("devtls: writing %s: %w", path, err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("devtls: %w", err)
	}
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

// Fingerprint returns the SHA-256 fingerprint of a PEM certificate as
// colon-separated upper-case hex, the form browsers and openssl show, or ""
// if certPEM holds no certificate.
func Fingerprint(certPEM []byte) string {
	block, _ := pem.Decode(certPEM)
	if block == nil || block.Type != "CERTIFICATE" {
		return ""
	}
	sum := sha256.Sum256(block.Bytes)
	var b bytes.Buffer
	const hexd = "0123456789ABCDEF"
	for i, c := range sum {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteByte(hexd[c>>4])
		b.WriteByte(hexd[c&15])
	}
	return b.String()
}
