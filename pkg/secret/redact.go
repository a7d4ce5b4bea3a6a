package secret

import (
	"fmt"
	"io"
	"log/slog"
)

// Redacted is what a Secret prints as, in every format.
const Redacted = "[REDACTED]"

// Secret carries a secret value (client secret, password, authorization
// code, token) through structs that might be printed or logged. Every
// rendering — String, GoString, Format (so %v %s %q %x %+v %#v …),
// MarshalJSON, MarshalText, slog's LogValue — yields "[REDACTED]"; only
// Reveal returns the value.
//
// Caveats, both from reflection rules outside this type's control: fmt cannot
// call methods on unexported struct fields, so a struct holding a Secret in
// an unexported field and printed with %v shows the raw string; and
// encoding/json writes map keys of string kind as they are. Keep Secret
// fields exported (or give the struct its own String), and never key a map
// by a Secret.
//
// UnmarshalText (and so encoding/json and YAML decoding) reads the plain
// value, so a Secret can be loaded from configuration.
type Secret string

// Reveal returns the secret value. Call it only where the value is used.
func (s Secret) Reveal() string { return string(s) }

// String returns "[REDACTED]".
func (Secret) String() string { return Redacted }

// GoString returns "[REDACTED]".
func (Secret) GoString() string { return Redacted }

// Format writes "[REDACTED]" whatever the verb and flags.
func (Secret) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, Redacted) }

// MarshalJSON returns the JSON string "[REDACTED]".
func (Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + Redacted + `"`), nil }

// MarshalText returns "[REDACTED]".
func (Secret) MarshalText() ([]byte, error) { return []byte(Redacted), nil }

// LogValue returns "[REDACTED]" for log/slog.
func (Secret) LogValue() slog.Value { return slog.StringValue(Redacted) }

// UnmarshalText sets *s to text, for decoding configuration.
func (s *Secret) UnmarshalText(text []byte) error {
	*s = Secret(text)
	return nil
}

var (
	_ fmt.Stringer   = Secret("")
	_ fmt.GoStringer = Secret("")
	_ fmt.Formatter  = Secret("")
	_ slog.LogValuer = Secret("")
)
