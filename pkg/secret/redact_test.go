package secret

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"strings"
	"testing"
)

const plain = "hunter2-plaintext"

type loginForm struct {
	User     string
	Password Secret
	Ptr      *Secret
	Nested   struct{ Token Secret }
	Map      map[string]Secret
	List     []Secret
	Any      any
}

func newForm() loginForm {
	s := Secret(plain)
	f := loginForm{User: "alice", Password: s, Ptr: &s, Map: map[string]Secret{"k": s}, List: []Secret{s}, Any: s}
	f.Nested.Token = s
	return f
}

func TestSecretNeverPrints(t *testing.T) {
	s := Secret(plain)
	f := newForm()
	var logBuf bytes.Buffer
	logger := log.New(&logBuf, "", 0)
	logger.Printf("login %+v", f)
	tests := []struct {
		name string
		out  func() string
	}{
		{name: "String", out: s.String},
		{name: "GoString", out: s.GoString},
		{name: "%v", out: func() string { return fmt.Sprintf("%v", s) }},
		{name: "%s", out: func() string { return fmt.Sprintf("%s", s) }},
		{name: "%q", out: func() string { return fmt.Sprintf("%q", s) }},
		{name: "%x", out: func() string { return fmt.Sprintf("%x", s) }},
		{name: "%X", out: func() string { return fmt.Sprintf("%X", s) }},
		{name: "%10.3s", out: func() string { return fmt.Sprintf("%10.3s", s) }},
		{name: "%d (bad verb)", out: func() string { return fmt.Sprintf("%d", s) }},
		{name: "Sprint", out: func() string { return fmt.Sprint(s) }},
		{name: "Sprintln", out: func() string { return fmt.Sprintln("secret", s) }},
		{name: "struct %v", out: func() string { return fmt.Sprintf("%v", f) }},
		{name: "struct %+v", out: func() string { return fmt.Sprintf("%+v", f) }},
		{name: "struct %#v", out: func() string { return fmt.Sprintf("%#v", f) }},
		{name: "pointer %v", out: func() string { return fmt.Sprintf("%v", f.Ptr) }},
		{name: "pointer to struct %+v", out: func() string { return fmt.Sprintf("%+v", &f) }},
		{name: "wrapped in error", out: func() string { return fmt.Errorf("auth failed for %v: %w", s, errors.New("x")).Error() }},
		{name: "json", out: func() string { b, _ := json.Marshal(f); return string(b) }},
		{name: "MarshalText", out: func() string { b, _ := s.MarshalText(); return string(b) }},
		{name: "log.Printf", out: logBuf.String},
		{name: "slog JSON", out: func() string {
			var buf bytes.Buffer
			slog.New(slog.NewJSONHandler(&buf, nil)).Info("login", "password", s, "form", f)
			return buf.String()
		}},
		{name: "slog text", out: func() string {
			var buf bytes.Buffer
			slog.New(slog.NewTextHandler(&buf, nil)).Info("login", slog.Any("password", s))
			return buf.String()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := tt.out()
			if strings.Contains(out, plain) || strings.Contains(out, "hunter2") {
				t.Errorf("output leaks the secret: %s", out)
			}
			if !strings.Contains(out, Redacted) {
				t.Errorf("output %q lacks %s", out, Redacted)
			}
		})
	}
}

func TestSecretRevealAndUnmarshal(t *testing.T) {
	if Secret(plain).Reveal() != plain {
		t.Error("Reveal does not return the value")
	}
	var c struct{ Password Secret }
	if err := json.Unmarshal([]byte(`{"Password":"`+plain+`"}`), &c); err != nil {
		t.Fatal(err)
	}
	if c.Password.Reveal() != plain {
		t.Errorf("unmarshalled %q", c.Password.Reveal())
	}
}
