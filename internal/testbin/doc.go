// Package testbin builds the project's binaries for end-to-end tests
// (cmd/issuer's and internal/e2e's) and collects the output of the
// processes they start. It is for tests only.
//
// Build runs the go command that is on PATH, or else the one of the
// toolchain running the tests (runtime.GOROOT); Main is a whole TestMain
// that builds once for every test of a package. A Buffer is safe for
// concurrent use.
package testbin
