package keys

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestKeyState(t *testing.T) {
	k := mustKey(t, "k", A256KW, 1, lc(0, time.Hour, 2*time.Hour, 3*time.Hour))
	tests := []struct {
		name string
		at   time.Duration
		want State
	}{
		{"created, not yet active: pending", 0, StatePending},
		{"just before activation: pending", time.Hour - time.Nanosecond, StatePending},
		{"at activation: active", time.Hour, StateActive},
		{"just before retirement: active", 2*time.Hour - time.Nanosecond, StateActive},
		{"at retirement: retired", 2 * time.Hour, StateRetired},
		{"just before expiry: retired", 3*time.Hour - time.Nanosecond, StateRetired},
		{"at expiry: expired", 3 * time.Hour, StateExpired},
		{"long after: expired", 300 * time.Hour, StateExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, k.State(t0.Add(tt.at)))
		})
	}
	require.Equal(t, "retired", StateRetired.String())
	require.Equal(t, "State(9)", State(9).String())
}

func TestNewKeyRejects(t *testing.T) {
	good := lc(0, 0, time.Hour, time.Hour)
	tests := []struct {
		name     string
		id       string
		alg      Alg
		material []byte
		lc       Lifecycle
		want     error
	}{
		{"empty kid", "", A256KW, material(1), good, ErrKeyID},
		{"kid with space", "a b", A256KW, material(1), good, ErrKeyID},
		{"kid with quote", `a"b`, A256KW, material(1), good, ErrKeyID},
		{"kid too long", strings.Repeat("a", 129), A256KW, material(1), good, ErrKeyID},
		{"alg none (RFC 7518 §4.1 allow-list)", "k", "none", material(1), good, ErrAlg},
		{"alg RSA-OAEP", "k", "RSA-OAEP", material(1), good, ErrAlg},
		{"128-bit key", "k", A256KW, material(1)[:16], good, ErrKeySize},
		{"33-byte key", "k", A256KW, append(material(1), 0), good, ErrKeySize},
		{"activates before created", "k", A256KW, material(1), lc(time.Hour, 0, 2*time.Hour, 2*time.Hour), ErrLifecycle},
		{"retires at activation", "k", A256KW, material(1), lc(0, time.Hour, time.Hour, 2*time.Hour), ErrLifecycle},
		{"expires before retiring", "k", A256KW, material(1), lc(0, 0, 2*time.Hour, time.Hour), ErrLifecycle},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := NewKey(tt.id, tt.alg, tt.material, tt.lc)
			require.Nil(t, k)
			require.ErrorIs(t, err, tt.want)
		})
	}
}

func TestKeyMaterialIsCopied(t *testing.T) {
	m := material(9)
	k, err := NewKey("k", A256KW, m, lc(0, 0, time.Hour, time.Hour))
	require.NoError(t, err)
	m[0] ^= 0xff
	require.Equal(t, material(9), k.Material())
	out := k.Material()
	out[1] ^= 0xff
	require.Equal(t, material(9), k.Material())
	require.NotContains(t, k.String(), string(material(9)))
}

func TestWithLifecycleSharesCounter(t *testing.T) {
	k := mustKey(t, "k", Direct, 1, lc(0, 0, 10*time.Hour, 11*time.Hour))
	k.CountSeal()
	d, err := k.withLifecycle(lc(0, 0, 5*time.Hour, 6*time.Hour))
	require.NoError(t, err)
	require.Equal(t, uint64(1), d.Sealed())
	d.CountSeal()
	require.Equal(t, uint64(2), k.Sealed())
	require.Equal(t, t0.Add(10*time.Hour), k.Retires, "original untouched")
	_, err = k.withLifecycle(lc(0, time.Hour, time.Hour, time.Hour))
	require.ErrorIs(t, err, ErrLifecycle)
}

func TestExhausted(t *testing.T) {
	tests := []struct {
		name   string
		alg    Alg
		sealed uint64
		want   bool
	}{
		{"fresh Direct key", Direct, 0, false},
		{"Direct key below RotateAt", Direct, RotateAt - 1, false},
		{"Direct key at RotateAt (NIST SP 800-38D §8.3 margin)", Direct, RotateAt, true},
		{"A256KW key is never exhausted", A256KW, SealLimit, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := mustKey(t, "k", tt.alg, 1, lc(0, 0, time.Hour, time.Hour))
			k.sealed.Store(tt.sealed)
			require.Equal(t, tt.want, k.Exhausted())
		})
	}
}

func TestErrorsArePrefixed(t *testing.T) {
	for _, err := range []error{ErrKeySize, ErrAlg, ErrKeyID, ErrLifecycle, ErrNoActiveKey, ErrDuplicateKeyID,
		ErrRingName, ErrNilKey, ErrFormat, ErrVersion, ErrRingMismatch, ErrKEKRequired, ErrWrongKEK, ErrNotWrapped,
		ErrUnwrap, ErrKEKSize, ErrPolicy, ErrExportInternal, ErrNotOpen, ErrFileName, ErrRunning, ErrExist} {
		require.True(t, strings.HasPrefix(err.Error(), "keys: "), err.Error())
		require.False(t, errors.Is(err, ErrFormat) && err != ErrFormat)
	}
}
