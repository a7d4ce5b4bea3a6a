// Package devtls creates the self-signed TLS certificate of the dev server
// (SPEC §6: "issuer serve" with no arguments serves TLS with a self-signed
// certificate).
//
// [Ensure] writes an ECDSA P-256 certificate and its private key as PEM
// files once and reuses them on later starts, as long as they still parse,
// match each other, cover the requested host names and are not about to
// expire. The key file is written with mode 0600, atomically (temporary
// file, fsync, rename), so a crash never leaves a half-written key behind.
//
// The certificate is its own issuer and is meant for one machine: clients
// trust it by pointing at the certificate file (curl --cacert). It is never
// suitable for production, where tls.cert_file and tls.key_file name a
// certificate from a real CA.
package devtls
