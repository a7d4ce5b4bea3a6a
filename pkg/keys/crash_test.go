package keys

import (
	"bufio"
	"context"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const (
	crashEnv   = "KEYS_TEST_CRASH_CHILD_PATH"
	crashSets  = 8  // distinct sets the child cycles through
	crashKills = 30 // SIGKILLs
)

// crashSet returns the i-th set the crash child writes: sets differ in
// their number of keys, their kids and their material, so a torn or mixed
// file cannot pass for one of them.
func crashSet(t testing.TB, i int) *Set {
	keys := make([]*Key, 0, 1+i%3)
	for j := 0; j <= i%3; j++ {
		m := sha256.Sum256(fmt.Appendf(nil, "crash %d %d", i, j))
		off := time.Duration(j) * time.Hour
		k, err := NewKey(fmt.Sprintf("set%d-key%d", i, j), A256KW, m[:], lc(off, off, off+time.Hour, off+2*time.Hour))
		require.NoError(t, err)
		keys = append(keys, k)
	}
	return mustSet(t, "crash", keys...)
}

// TestCrashChild is the child process of TestCrashKill: it writes the crash
// sets to the file in a loop until it is killed (or for 20 s at most).
func TestCrashChild(t *testing.T) {
	path := os.Getenv(crashEnv)
	if path == "" {
		t.Skip("child process of TestCrashKill")
	}
	ctx := context.Background()
	sets := make([]*Set, crashSets)
	for i := range sets {
		sets[i] = crashSet(t, i)
	}
	deadline := time.Now().Add(20 * time.Second)
	for i := 0; time.Now().Before(deadline); i++ {
		if err := WriteFile(ctx, path, sets[i%crashSets]); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			fmt.Println("ready")
		}
	}
}

// TestCrashKill runs a child that rewrites a ring file in a loop, SIGKILLs
// it at random moments, and checks after every kill that the file loads and
// is one of the sets written: the atomic write never leaves a torn file
// (SPEC §8 "a crash at any point leaves the key ring readable").
func TestCrashKill(t *testing.T) {
	if os.Getenv(crashEnv) != "" {
		t.Skip("in the child")
	}
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "crash.json")
	sets := make([]*Set, crashSets)
	for i := range sets {
		sets[i] = crashSet(t, i)
	}
	require.NoError(t, WriteFile(ctx, path, sets[0]))
	seen := map[string]int{}
	for kill := 0; kill < crashKills; kill++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashEnv+"="+path)
		out, err := cmd.StdoutPipe()
		require.NoError(t, err)
		require.NoError(t, cmd.Start())
		ready := make(chan error, 1)
		go func() {
			line, err := bufio.NewReader(out).ReadString('\n')
			if err == nil && line != "ready\n" {
				err = fmt.Errorf("child said %q", line)
			}
			ready <- err
		}()
		select {
		case err := <-ready:
			require.NoError(t, err)
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			t.Fatal("child did not start writing")
		}
		time.Sleep(time.Duration(rand.IntN(5000)) * time.Microsecond)
		require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
		_ = cmd.Wait()

		got, err := ReadFile(ctx, path)
		require.NoError(t, err, "after kill %d the ring file must load", kill)
		found := false
		for _, s := range sets {
			if s.equal(got) {
				found = true
				seen[kids(got)[0]]++
			}
		}
		require.True(t, found, "after kill %d the file holds a set that was never written", kill)
	}
	t.Logf("sets found after %d kills: %v", crashKills, seen)
}
