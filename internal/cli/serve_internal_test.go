package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSelfCommand: the dev banner prints a command that runs this very
// binary from the working directory.
func TestSelfCommand(t *testing.T) {
	got := selfCommand()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case got == "issuer":
		t.Fatalf("selfCommand() = issuer, but the test binary %s is not issuer on PATH", exe)
	case strings.Contains(exe, "go-build"):
		if got != "go run ./cmd/issuer" {
			t.Fatalf("selfCommand() = %q for a go-build temporary %s, want go run ./cmd/issuer", got, exe)
		}
	default:
		if !strings.Contains(got, filepath.Base(exe)) {
			t.Fatalf("selfCommand() = %q, want a path to %s", got, exe)
		}
	}
}
