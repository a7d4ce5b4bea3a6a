// Package deptest checks, from a package's own tests, what the package
// depends on (SPEC §2): the packages a resource server imports must pull
// in no HTTP framework, no logger and, for most, nothing outside the
// standard library, go-jose and golang.org/x/crypto. scripts/depcheck.sh
// enforces the same rules over the whole tree; these tests make a package's
// rule fail where the package is worked on.
//
// It runs the go command of the toolchain that runs the tests
// (runtime.GOROOT), and skips the test when that command cannot list the
// package. It is for tests only.
package deptest
