package server

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// TestFormatStamp: the cached stamp is always what formatting the time
// itself gives, within a second, across seconds and going back in time.
func TestFormatStamp(t *testing.T) {
	base := time.Date(2026, 12, 2, 5, 30, 59, 0, time.Local)
	for _, d := range []time.Duration{0, 999 * time.Millisecond, time.Second, 1500 * time.Millisecond, -3 * time.Second, time.Hour, 0} {
		at := base.Add(d)
		if got, want := formatStamp(at), at.Format(time.RFC3339); got != want {
			t.Fatalf("formatStamp(%v) = %q, want %q", at, got, want)
		}
	}
}

// TestTimestampHookMatchesZerolog: a line written through the hook has the
// "time" field zerolog's own Timestamp writes, in the same place.
func TestTimestampHookMatchesZerolog(t *testing.T) {
	var ours, theirs bytes.Buffer
	for {
		before := time.Now().Unix()
		lo := zerolog.New(&ours).Hook(Timestamp)
		lt := zerolog.New(&theirs).With().Timestamp().Logger()
		lo.Info().Str("k", "v").Msg("m")
		lt.Info().Str("k", "v").Msg("m")
		if time.Now().Unix() == before {
			break // both lines were written within one second
		}
		ours.Reset()
		theirs.Reset()
	}
	if ours.String() != theirs.String() {
		t.Fatalf("hook wrote %s, zerolog wrote %s", ours.String(), theirs.String())
	}
	var m map[string]string
	if err := json.Unmarshal(ours.Bytes(), &m); err != nil || m["time"] == "" {
		t.Fatalf("line %s: %v", ours.String(), err)
	}
}
