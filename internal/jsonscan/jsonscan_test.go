package jsonscan

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSkipAgreesWithEncodingJSON(t *testing.T) {
	tests := []struct {
		name string
		in   string
	}{
		{"RFC 8259 §4: empty object", `{}`},
		{"RFC 8259 §4: object", `{"a":1,"b":[true,false,null],"c":{"d":"e"}}`},
		{"RFC 8259 §5: empty array", `[ ]`},
		{"RFC 8259 §5: trailing comma", `[1,]`},
		{"RFC 8259 §4: trailing comma in object", `{"a":1,}`},
		{"RFC 8259 §4: missing colon", `{"a" 1}`},
		{"RFC 8259 §4: name not a string", `{a:1}`},
		{"RFC 8259 §6: leading zero", `01`},
		{"RFC 8259 §6: minus alone", `-`},
		{"RFC 8259 §6: fraction needs digits", `1.`},
		{"RFC 8259 §6: exponent needs digits", `1e+`},
		{"RFC 8259 §6: exponent", `-1.5E-3`},
		{"RFC 8259 §7: control character", "\"a\x01\""},
		{"RFC 8259 §7: bad escape", `"\x"`},
		{"RFC 8259 §7: short unicode escape", `"\u12"`},
		{"RFC 8259 §7: escapes", `"\"\\\/\b\f\n\r\t\u00e9"`},
		{"RFC 8259 §8.1: invalid UTF-8", "\"\xff\""},
		{"RFC 8259 §3: literals", `[true,false,null]`},
		{"RFC 8259 §3: bad literal", `nul`},
		{"RFC 8259 §2: white space", " \t\r\n{ \"a\" : 1 } \n"},
		{"RFC 8259 §2: two values", `1 2`},
		{"unterminated string", `"abc`},
		{"unterminated object", `{"a":1`},
		{"long string crosses the word-at-a-time path", `"abcdefghijklmnopqrstuvwxyz\"0123456789"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := json.Valid([]byte(tt.in))
			if !utf8.ValidString(tt.in) {
				// Stricter than encoding/json, which replaces invalid
				// bytes: RFC 8259 §8.1 requires UTF-8.
				want = false
			}
			if got := valid(tt.in); got != want {
				t.Fatalf("valid(%q) = %v, want %v", tt.in, got, want)
			}
		})
	}
}

func valid(s string) bool {
	d := New([]byte(s))
	if _, err := d.Skip(); err != nil {
		return false
	}
	return d.End() == nil
}

func TestDepthBound(t *testing.T) {
	ok := strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1)
	if !valid(ok) {
		t.Fatalf("depth %d refused", MaxDepth+1)
	}
	deep := strings.Repeat("[", MaxDepth+2) + strings.Repeat("]", MaxDepth+2)
	if valid(deep) {
		t.Fatalf("depth %d accepted", MaxDepth+2)
	}
	// A million brackets must not exhaust the stack.
	if valid(strings.Repeat("[", 1<<20)) {
		t.Fatal("unbalanced nesting accepted")
	}
}

// TestSkipNested: the levels the caller has already walked count against
// MaxDepth, so a value at depth d may nest MaxDepth-d more; Offset stands
// just past the value skipped.
func TestSkipNested(t *testing.T) {
	for _, depth := range []int{0, 1, 2, MaxDepth} {
		inner := MaxDepth - depth + 1 // arrays, the value itself included
		ok := strings.Repeat("[", inner) + strings.Repeat("]", inner)
		d := New([]byte(ok + " ,"))
		raw, err := d.SkipNested(depth)
		if err != nil || string(raw) != ok || d.Offset() != len(ok) {
			t.Errorf("depth %d, %d arrays: %q at %d, %v; want the value, ending at %d", depth, inner, raw, d.Offset(), err, len(ok))
		}
		deep := "[" + ok + "]"
		d = New([]byte(deep))
		if _, err := d.SkipNested(depth); err == nil {
			t.Errorf("depth %d, %d arrays accepted", depth, inner+1)
		}
	}
}

func TestStringViewsAndCopies(t *testing.T) {
	b := []byte(`"plain" "esc\naped"`)
	d := New(b)
	s, err := d.String()
	if err != nil || s != "plain" {
		t.Fatalf("String = %q, %v", s, err)
	}
	b[1] = 'P' // a view sees the change: proof it is not a copy
	if s != "Plain" {
		t.Fatalf("plain string is a copy: %q", s)
	}
	e, err := d.String()
	if err != nil || e != "esc\naped" {
		t.Fatalf("String = %q, %v", e, err)
	}
}

func TestSurrogates(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"pair", `"\ud83d\ude00"`, "😀"},
		{"lone high", `"\ud83dx"`, "\uFFFDx"},
		{"lone low", `"\ude00"`, "\uFFFD"},
		{"high then non-surrogate escape", `"\ud83d\u0041"`, "\uFFFDA"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := New([]byte(tt.in))
			got, err := d.String()
			if err != nil || got != tt.want {
				t.Fatalf("String(%s) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
			var std string
			if err := json.Unmarshal([]byte(tt.in), &std); err != nil || std != got {
				t.Fatalf("encoding/json gives %q, %v", std, err)
			}
		})
	}
}

func TestDate(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want int64
		ok   bool
	}{
		{"RFC 7519 §2: integer seconds", `1700000000`, 1700000000, true},
		{"RFC 7519 §2: fractional seconds truncate", `1700000000.9`, 1700000000, true},
		{"RFC 7519 §2: exponent", `1.7e9`, 1700000000, true},
		{"negative", `-1`, -1, true},
		{"zero", `0`, 0, true},
		{"upper bound", `253402300799`, MaxNumericDate, true},
		{"beyond year 9999", `253402300800`, 0, false},
		{"before year 1", `-62135596800`, 0, false},
		{"huge", `1e300`, 0, false},
		{"nineteen digits", `1234567890123456789`, 0, false},
		{"string", `"1700000000"`, 0, false},
		{"leading zero", `01`, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := New([]byte(tt.in))
			got, err := d.Date()
			if err == nil {
				err = d.End()
			}
			if (err == nil) != tt.ok {
				t.Fatalf("Date(%s) error %v, want ok=%v", tt.in, err, tt.ok)
			}
			if tt.ok && got.Unix() != tt.want {
				t.Fatalf("Date(%s) = %d, want %d", tt.in, got.Unix(), tt.want)
			}
			if err != nil && !errors.Is(err, ErrSyntax) {
				t.Fatalf("error %v is not ErrSyntax", err)
			}
		})
	}
}

func TestUint(t *testing.T) {
	tests := []struct {
		in   string
		max  uint64
		want uint64
		ok   bool
	}{
		{"0", 10, 0, true},
		{"10", 10, 10, true},
		{"11", 10, 0, false},
		{"-1", 10, 0, false},
		{"1.0", 10, 0, false},
		{"1e1", 100, 0, false},
		{"18446744073709551615", math.MaxUint64, math.MaxUint64, true},
		{"18446744073709551616", math.MaxUint64, 0, false},
	}
	for _, tt := range tests {
		d := New([]byte(tt.in))
		got, err := d.Uint(tt.max)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("Uint(%s, %d) = %d, %v; want %d ok=%v", tt.in, tt.max, got, err, tt.want, tt.ok)
		}
	}
}

func TestStringOrArray(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		ok   bool
	}{
		{`"a"`, []string{"a"}, true},
		{`["a","b"]`, []string{"a", "b"}, true},
		{`[]`, nil, true},
		{`["a",]`, nil, false},
		{`[1]`, nil, false},
		{`1`, nil, false},
	}
	for _, tt := range tests {
		var got []string
		d := New([]byte(tt.in))
		err := d.StringOrArray(func(s string) { got = append(got, s) })
		if (err == nil) != tt.ok {
			t.Errorf("StringOrArray(%s): %v, want ok=%v", tt.in, err, tt.ok)
			continue
		}
		if tt.ok && strings.Join(got, ",") != strings.Join(tt.want, ",") {
			t.Errorf("StringOrArray(%s) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzSkip: for any input of bounded nesting, the scanner and encoding/json
// agree on whether it is one valid JSON value; the date parser never panics.
func FuzzSkip(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":[1,2.5e3,"x\u00e9",true,null]}`, `[1,]`, `"\ud83d"`, `-0.0e-0`, "\"\xff\""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if depth(b) <= MaxDepth {
			if got, want := valid(string(b)), json.Valid(b) && utf8.Valid(b); got != want {
				t.Fatalf("valid(%q) = %v, encoding/json says %v", b, got, want)
			}
		}
		d := New(b)
		if tm, err := d.Date(); err == nil && (tm.Unix() < MinNumericDate || tm.Unix() > MaxNumericDate) {
			t.Fatalf("Date out of range: %v", tm)
		}
	})
}

// depth over-estimates the nesting of b, counting brackets even in strings.
func depth(b []byte) int {
	n, m := 0, 0
	for _, c := range b {
		switch c {
		case '[', '{':
			n++
			m = max(m, n)
		case ']', '}':
			n--
		}
	}
	return m
}

// FuzzString: every string the scanner decodes is what encoding/json
// decodes.
func FuzzString(f *testing.F) {
	for _, s := range []string{`"abc"`, `"a\"b"`, `"\ud83d\ude00"`, `"\ud800\u0041"`, "\"caf\xc3\xa9\"", `"\u0000"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		d := New(b)
		got, err := d.String()
		if err != nil || d.End() != nil {
			return
		}
		var want string
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatalf("scanner accepted %q, encoding/json: %v", b, err)
		}
		if got != want {
			t.Fatalf("String(%q) = %q, encoding/json %q", b, got, want)
		}
	})
}
