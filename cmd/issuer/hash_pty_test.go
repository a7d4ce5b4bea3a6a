//go:build linux

package main_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/sealedtoken/issuer/pkg/secret"
)

// openPTY opens a pseudo-terminal pair (Linux /dev/ptmx).
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	var unlock int32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, m.Fd(), syscall.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock))); e != 0 {
		m.Close()
		t.Fatalf("TIOCSPTLCK: %v", e)
	}
	var n uint32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, m.Fd(), syscall.TIOCGPTN, uintptr(unsafe.Pointer(&n))); e != 0 {
		m.Close()
		t.Fatalf("TIOCGPTN: %v", e)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		m.Close()
		t.Fatal(err)
	}
	return m, s
}

// TestHashPromptsWithoutEcho runs "issuer hash" on a terminal as a person
// would: it prompts twice, the typed secret is not echoed back to the
// terminal, and the hash printed verifies it. Two entries that differ are
// refused.
func TestHashPromptsWithoutEcho(t *testing.T) {
	const pw = "typed-on-a-terminal-0123"
	tests := []struct {
		name         string
		first, again string
		wantCode     int
	}{
		{name: "the same secret twice", first: pw, again: pw, wantCode: 0},
		{name: "two entries that differ", first: pw, again: pw + "x", wantCode: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			master, slave := openPTY(t)
			defer master.Close()
			cmd := exec.Command(binary, "hash", "--cost", "10")
			var stdout bytes.Buffer
			cmd.Stdin, cmd.Stderr = slave, slave
			cmd.Stdout = &stdout // the hash, kept apart from the terminal
			cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			slave.Close()
			var term bytes.Buffer // everything the terminal showed
			var mu sync.Mutex
			done := make(chan struct{})
			go func() {
				defer close(done)
				buf := make([]byte, 1024)
				for {
					n, err := master.Read(buf)
					mu.Lock()
					term.Write(buf[:n])
					mu.Unlock()
					if err != nil {
						return
					}
				}
			}()
			waitFor := func(prompt string, count int) {
				deadline := time.Now().Add(10 * time.Second)
				for {
					mu.Lock()
					n := strings.Count(term.String(), prompt)
					mu.Unlock()
					if n >= count {
						// The prompt is written just before echo is turned
						// off; a person takes longer than this to type.
						time.Sleep(100 * time.Millisecond)
						return
					}
					if time.Now().After(deadline) {
						_ = cmd.Process.Kill()
						t.Fatalf("no %q prompt; the terminal showed %q", prompt, term.String())
					}
					time.Sleep(10 * time.Millisecond)
				}
			}
			waitFor("Secret: ", 1)
			_, _ = master.WriteString(tt.first + "\r")
			waitFor("Again: ", 1)
			_, _ = master.WriteString(tt.again + "\r")
			err := cmd.Wait()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			<-done
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d; terminal %q", code, tt.wantCode, term.String())
			}
			if strings.Contains(term.String(), pw) {
				t.Fatalf("the secret was echoed to the terminal: %q", term.String())
			}
			if tt.wantCode != 0 {
				if !strings.Contains(term.String(), "differ") {
					t.Fatalf("the refusal does not say why: %q", term.String())
				}
				return
			}
			h, err := secret.Parse(strings.TrimSpace(stdout.String()))
			if err != nil || !h.Verify(pw) {
				t.Fatalf("printed hash %q does not verify the typed secret: %v", stdout.String(), err)
			}
		})
	}
}
