package keys

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestWriteFileReadFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "ring.json")
	set := sampleSet(t)
	for _, opts := range [][]Option{nil, {WithKEK(testKEK)}} {
		require.NoError(t, WriteFile(ctx, path, set, opts...))
		fi, err := os.Stat(path)
		require.NoError(t, err)
		require.Equal(t, FileMode, fi.Mode().Perm(), "ring files are 0600")
		got, err := ReadFile(ctx, path, opts...)
		require.NoError(t, err)
		requireSameSet(t, set, got)
	}
	requireNoTempFiles(t, dir)

	// A file with laxer permissions is narrowed on the next write.
	require.NoError(t, os.Chmod(path, 0o644))
	require.NoError(t, WriteFile(ctx, path, set))
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, FileMode, fi.Mode().Perm())

	_, err = ReadFile(ctx, filepath.Join(dir, "missing.json"))
	require.ErrorIs(t, err, os.ErrNotExist)

	// Errors from ReadFile name the file.
	require.NoError(t, os.WriteFile(path, []byte(`{"version": 7}`), 0o600))
	_, err = ReadFile(ctx, path)
	require.ErrorIs(t, err, ErrVersion)
	require.Contains(t, err.Error(), path)

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	require.ErrorIs(t, WriteFile(cancelled, path, set), context.Canceled)
	_, err = ReadFile(cancelled, path)
	require.ErrorIs(t, err, context.Canceled)
}

func requireNoTempFiles(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		require.False(t, isTempName(e.Name()), "temporary file left behind: %s", e.Name())
	}
}

// TestWriteFileFaults fails or "crashes" each step of the atomic write in
// turn. Before the rename the old file must be intact; from the rename on
// the new one must be in place; a failure (not a crash) leaves no
// temporary file.
func TestWriteFileFaults(t *testing.T) {
	ctx := context.Background()
	old := sampleSet(t)
	next := mustSet(t, "https://api.example.com", mustKey(t, "k-next", A256KW, 42, lc(0, 0, time.Hour, 2*time.Hour)))
	for _, step := range writeSteps {
		for _, crash := range []bool{false, true} {
			name := string(step) + "/fails"
			if crash {
				name = string(step) + "/crashes"
			}
			t.Run(name, func(t *testing.T) {
				dir := t.TempDir()
				path := filepath.Join(dir, "ring.json")
				require.NoError(t, WriteFile(ctx, path, old))
				injected := errors.New("injected fault")
				if crash {
					injected = errSimulatedCrash
				}
				err := WriteFile(ctx, path, next, withFault(func(s writeStep) error {
					if s == step {
						return injected
					}
					return nil
				}))
				require.ErrorIs(t, err, injected)
				require.Contains(t, err.Error(), string(step))
				got, rerr := ReadFile(ctx, path)
				require.NoError(t, rerr, "the ring file always loads")
				if step == stepSyncDir {
					requireSameSet(t, next, got)
				} else {
					requireSameSet(t, old, got)
				}
				if !crash {
					requireNoTempFiles(t, dir)
				}
				fi, serr := os.Stat(path)
				require.NoError(t, serr)
				require.Equal(t, FileMode, fi.Mode().Perm())
			})
		}
	}
}

func TestWriteFileFailsWithoutReplacing(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "ring.json")
	good := sampleSet(t)
	require.NoError(t, WriteFile(ctx, path, good))
	before, err := os.ReadFile(path)
	require.NoError(t, err)

	tests := []struct {
		name string
		do   func() error
	}{
		{"nil set", func() error { return WriteFile(ctx, path, nil) }},
		{"bad KEK", func() error { return WriteFile(ctx, path, good, WithKEK([]byte("short"))) }},
		{"time not representable in RFC 3339", func() error {
			far := mustSet(t, "r", mustKey(t, "k", A256KW, 1, Lifecycle{Created: t0, Activates: t0, Retires: t0.AddDate(9000, 0, 0), Expires: t0.AddDate(9000, 0, 0)}))
			return WriteFile(ctx, path, far)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Error(t, tt.do())
			after, err := os.ReadFile(path)
			require.NoError(t, err)
			require.Equal(t, before, after)
			requireNoTempFiles(t, dir)
		})
	}
	t.Run("directory not writable", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("root writes to read-only directories")
		}
		require.NoError(t, os.Chmod(dir, 0o500))
		defer os.Chmod(dir, 0o700)
		require.Error(t, WriteFile(ctx, path, mustSet(t, "r")))
		after, err := os.ReadFile(path)
		require.NoError(t, err)
		require.Equal(t, before, after)
	})
}

func TestWriteAtomicCreateOnly(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "ring.json")
	require.NoError(t, writeAtomic(ctx, path, []byte("first"), true, nil))
	err := writeAtomic(ctx, path, []byte("second"), true, nil)
	require.ErrorIs(t, err, ErrExist)
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, "first", string(got))
	requireNoTempFiles(t, dir)
}
