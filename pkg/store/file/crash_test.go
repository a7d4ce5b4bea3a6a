package file

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sealedtoken/issuer/pkg/store"
)

const (
	crashEnv     = "FILE_TEST_CRASH_CHILD_PATH"
	crashKills   = 12 // SIGKILLs
	crashWriters = 8
)

// TestCrashChild is the child process of TestCrashKill: it writes to the
// store from several goroutines until it is killed (or for 20 s at most),
// printing one line per write after the write returned: its
// acknowledgement.
func TestCrashChild(t *testing.T) {
	path := os.Getenv(crashEnv)
	if path == "" {
		t.Skip("child process of TestCrashKill")
	}
	ctx := context.Background()
	s, err := Open(ctx, path)
	if err != nil {
		fmt.Printf("open %v\n", err)
		os.Exit(1)
	}
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	var mu sync.Mutex
	ack := func(format string, args ...any) {
		line := fmt.Sprintf(format+"\n", args...)
		mu.Lock()
		_, _ = os.Stdout.WriteString(line) // one write per line: a line is whole or absent
		mu.Unlock()
	}
	ack("ready")
	deadline := time.Now().Add(20 * time.Second)
	exp := time.Now().Add(time.Hour)
	var wg sync.WaitGroup
	for w := range crashWriters {
		wg.Go(func() {
			fid := fmt.Sprintf("fam-%s-%d", run, w)
			var gen uint64
			for i := 0; time.Now().Before(deadline); i++ {
				id := fmt.Sprintf("%s-%d-%d", run, w, i)
				var err error
				switch i % 5 {
				case 0:
					if err = s.RedeemCode(ctx, "code-"+id, exp); err == nil {
						ack("code code-%s", id)
					}
				case 1:
					if err = s.RotateRefresh(ctx, fid, gen, exp); err == nil {
						ack("rot %s %d", fid, gen)
						gen++
					}
				case 2:
					if err = s.RevokeToken(ctx, "jti-"+id, exp); err == nil {
						ack("rev jti-%s", id)
					}
				case 3:
					if err = s.SetStatus(ctx, "list-"+run, uint64(w*1_000_000+i), exp); err == nil {
						ack("bit list-%s %d", run, w*1_000_000+i)
					}
				case 4:
					if err = s.PutRecord(ctx, "crash", "rec-"+id, []byte("value-"+id), exp); err == nil {
						ack("rec rec-%s value-%s", id, id)
					}
				}
				if err != nil {
					ack("error %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestCrashKill runs a child that writes to the store from 8 goroutines,
// SIGKILLs it at random moments, and checks after every kill that the
// file opens (never ErrCorrupt) and that every write the child
// acknowledged before it died, in this run or an earlier one, is there:
// SPEC §8, "the embedded store loses nothing it acknowledged across
// kill -9".
func TestCrashKill(t *testing.T) {
	if os.Getenv(crashEnv) != "" {
		t.Skip("in the child")
	}
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	path := filepath.Join(t.TempDir(), "store", "issuer.db")
	var acks []string
	for kill := range crashKills {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashEnv+"="+path)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string, 1<<16)
		go func() {
			defer close(lines)
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				lines <- sc.Text()
			}
		}()
		select {
		case l := <-lines:
			if l != "ready" {
				_ = cmd.Process.Kill()
				t.Fatalf("kill %d: child said %q", kill, l)
			}
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			t.Fatal("child did not start writing")
		}
		time.Sleep(time.Duration(20+rand.IntN(300)) * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		n := len(acks)
		for l := range lines { // the scanner drops a torn last line
			if strings.HasPrefix(l, "error") || strings.HasPrefix(l, "open") {
				t.Fatalf("kill %d: child: %s", kill, l)
			}
			acks = append(acks, l)
		}
		_ = cmd.Wait()
		if len(acks) == n {
			t.Fatalf("kill %d: the child acknowledged no write", kill)
		}
		checkAcks(t, path, kill, acks)
	}
	t.Logf("%d acknowledged writes survived %d SIGKILLs", len(acks), crashKills)
}

// checkAcks opens the store at path and checks every acknowledged write.
func checkAcks(t *testing.T, path string, kill int, acks []string) {
	t.Helper()
	ctx := t.Context()
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("after kill %d the store does not open: %v", kill, err)
	}
	defer s.Close()
	exp := time.Now().Add(time.Hour)
	bits := map[string][]uint64{}
	for _, a := range acks {
		f := strings.Fields(a)
		var err error
		switch f[0] {
		case "code":
			if err = s.RedeemCode(ctx, f[1], exp); errors.Is(err, store.ErrCodeReused) {
				err = nil
			} else {
				err = fmt.Errorf("redeemable again (%v)", err)
			}
		case "rot":
			gen, _ := strconv.ParseUint(f[2], 10, 64)
			g, revoked, rerr := s.RefreshState(ctx, f[1])
			if rerr != nil || revoked || g < gen+1 {
				err = fmt.Errorf("state generation %d revoked %v (%v), want at least %d", g, revoked, rerr, gen+1)
			}
		case "rev":
			if r, rerr := s.TokenRevoked(ctx, f[1]); !r || rerr != nil {
				err = fmt.Errorf("not revoked (%v)", rerr)
			}
		case "bit":
			if _, ok := bits[f[1]]; !ok {
				if bits[f[1]], err = s.StatusIndexes(ctx, f[1]); err != nil {
					break
				}
			}
			idx, _ := strconv.ParseUint(f[2], 10, 64)
			if _, found := slices.BinarySearch(bits[f[1]], idx); !found {
				err = errors.New("bit not set")
			}
		case "rec":
			if v, rerr := s.GetRecord(ctx, "crash", f[1]); string(v) != f[2] || rerr != nil {
				err = fmt.Errorf("record %q (%v)", v, rerr)
			}
		default:
			err = errors.New("unknown acknowledgement")
		}
		if err != nil {
			t.Fatalf("after kill %d, acknowledged %q was lost: %v", kill, a, err)
		}
	}
}
