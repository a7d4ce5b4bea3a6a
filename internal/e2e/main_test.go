package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/sealedtoken/issuer/internal/testbin"
)

// issuerBin and rsBin are the binaries TestMain builds once: cmd/issuer and
// the README's resource server, examples/resource-server, as written.
var issuerBin, rsBin string

func TestMain(m *testing.M) {
	testbin.Main(m, func(dir string) (err error) {
		ctx := context.Background()
		if issuerBin, err = testbin.Build(ctx, dir, "./cmd/issuer"); err != nil {
			return err
		}
		rsBin, err = testbin.Build(ctx, dir, "./examples/resource-server")
		return err
	})
}

// proc is a running binary; it is killed when the test ends.
type proc struct {
	name     string
	cmd      *exec.Cmd
	out      *testbin.Buffer // stdout and stderr
	exited   chan struct{}
	exitCode int
}

func startProc(t *testing.T, name, bin string, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, out: &testbin.Buffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	p.cmd.Env = append(os.Environ(), env...)
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = p.cmd.Wait()
		p.exitCode = p.cmd.ProcessState.ExitCode()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("%s output:\n%s", p.name, tail(p.out.String(), 6000))
		}
	})
	return p
}

// kill stops the process at once (SIGKILL) and waits for it.
func (p *proc) kill() {
	select {
	case <-p.exited:
	default:
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.exited
	}
}

// running reports whether the process has not exited.
func (p *proc) running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// waitFor polls cond every 50 ms for up to d, failing with the process's
// output if it exits or the time runs out.
func (p *proc) waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if !p.running() {
			t.Fatalf("%s exited (%d) before %s\n%s", p.name, p.exitCode, what, tail(p.out.String(), 6000))
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not %s within %s\n%s", p.name, what, d, tail(p.out.String(), 6000))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// run runs bin to completion and returns its combined output.
func run(t *testing.T, bin string, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", filepath.Base(bin), args, err, out)
	}
	return string(out)
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}
