package main_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// needMake returns the make binary, or skips (fails under CI=true).
func needMake(t *testing.T) string {
	t.Helper()
	mk, err := exec.LookPath("make")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("make missing and CI=true: %v", err)
		}
		t.Skip("install make: apt-get install -y make")
	}
	return mk
}

// TestMakefileStampsVersion builds the binary the way "make build" does,
// with the Makefile's own -ldflags, and checks that "issuer version"
// prints the stamped version: the Makefile must set the variable that
// exists (internal/cli.Version), or the version silently stays "(devel)".
func TestMakefileStampsVersion(t *testing.T) {
	mk := needMake(t)
	bin := filepath.Join(t.TempDir(), "issuer")
	cmd := exec.Command(mk, "build", "VERSION=v9.8.7-stamped", "BIN="+bin)
	cmd.Dir = filepath.Join("..", "..")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(out), "issuer v9.8.7-stamped ") {
		t.Fatalf("issuer version = %q, want the version make stamped", out)
	}
}

// TestMakeRunListen: "make run LISTEN=..." passes the address to the dev
// server (checked with make -n: the recipe, not run).
func TestMakeRunListen(t *testing.T) {
	mk := needMake(t)
	tests := []struct{ name, arg, want string }{
		{name: "LISTEN given", arg: "LISTEN=127.0.0.1:9443", want: "serve --listen 127.0.0.1:9443"},
		{name: "LISTEN unset", arg: "LISTEN=", want: "serve"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Under "make test" the parent make's MAKEFLAGS would add
			// "Entering/Leaving directory" lines: run a make of our own.
			cmd := exec.Command(mk, "--no-print-directory", "-n", "run", tt.arg)
			cmd.Dir = filepath.Join("..", "..")
			for _, kv := range os.Environ() {
				if k, _, _ := strings.Cut(kv, "="); k != "MAKEFLAGS" && k != "MFLAGS" && k != "MAKELEVEL" {
					cmd.Env = append(cmd.Env, kv)
				}
			}
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("make -n run: %v\n%s", err, out)
			}
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			if last := strings.TrimSpace(lines[len(lines)-1]); !strings.HasSuffix(last, tt.want) {
				t.Fatalf("make run runs %q, want it to end with %q", last, tt.want)
			}
		})
	}
}
