package testbin

import (
	"context"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestBuild builds a main package of this module and runs it; a package
// that does not compile is an error naming it.
func TestBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the compiler")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dir := t.TempDir()
	bin, err := Build(ctx, dir, "./examples/resource-server")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(bin, dir) {
		t.Fatalf("binary %s is not in %s", bin, dir)
	}
	// The resource server refuses to start without its configuration:
	// proof the file is the program, run to its usage error.
	out, _ := exec.CommandContext(ctx, bin, "-no-such-flag").CombinedOutput()
	if len(out) == 0 {
		t.Fatal("the binary printed nothing for an unknown flag")
	}
	if _, err := Build(ctx, dir, "./internal/testbin/nonexistent"); err == nil || !strings.Contains(err.Error(), "nonexistent") {
		t.Fatalf("Build of a missing package: %v", err)
	}
}

func TestBufferConcurrent(t *testing.T) {
	var b Buffer
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				_, _ = b.Write([]byte("x"))
				_ = b.String()
			}
		}()
	}
	wg.Wait()
	if got := len(b.String()); got != 800 {
		t.Fatalf("%d bytes, want 800", got)
	}
}
