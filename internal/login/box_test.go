package login

import (
	"strings"
	"testing"
)

// TestBox: a value opens only in a box of the same key and additional
// data (a session cookie never passes for a ticket), and nothing over the
// length bound is decoded.
func TestBox(t *testing.T) {
	mk := func(key byte, aad string, maxLen int) box {
		b, err := newBox([32]byte{key}, "test", aad, maxLen)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	sealer := mk(1, sessionAAD, maxSessionCookie)
	v, err := sealer.seal([]byte("plaintext"))
	if err != nil {
		t.Fatal(err)
	}
	if w, _ := sealer.seal([]byte("plaintext")); w == v {
		t.Fatal("two seals of one plaintext are equal: the nonce is not fresh")
	}
	tests := []struct {
		name string
		b    box
		v    string
		ok   bool
	}{
		{name: "same key and additional data", b: sealer, v: v, ok: true},
		{name: "another key", b: mk(2, sessionAAD, maxSessionCookie), v: v},
		{name: "another kind of message (ticket)", b: mk(1, ticketAAD, maxSessionCookie), v: v},
		{name: "over the length bound", b: mk(1, sessionAAD, len(v)-1), v: v},
		{name: "empty", b: sealer, v: ""},
		{name: "not base64url", b: sealer, v: strings.Replace(v, v[:1], "+", 1)},
		{name: "truncated", b: sealer, v: v[:len(v)-4]},
		{name: "shorter than nonce and tag", b: sealer, v: "AAAA"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pt, ok := tt.b.open(tt.v)
			if ok != tt.ok || ok && string(pt) != "plaintext" {
				t.Errorf("open = %q, %v; want ok %v", pt, ok, tt.ok)
			}
		})
	}
}

// TestFields: what appendField and appendAMR write reads back, and the
// reader refuses fields over their limit, amr lists over maxAMR and
// truncated input.
func TestFields(t *testing.T) {
	b := appendField(nil, "client")
	b, ok := appendAMR(b, []string{"pwd", "otp"})
	if !ok {
		t.Fatal("appendAMR refused two short values")
	}
	f := fields(b)
	if s, ok := f.next(maxTicketField); !ok || s != "client" {
		t.Fatalf("next = %q, %v", s, ok)
	}
	if amr, ok := f.amr(); !ok || len(amr) != 2 || amr[0] != "pwd" || amr[1] != "otp" || len(f) != 0 {
		t.Fatalf("amr = %q, %v, %d left", amr, ok, len(f))
	}
	if _, ok := appendAMR(nil, make([]string, maxAMR+1)); ok {
		t.Error("appendAMR took more than maxAMR values")
	}
	if _, ok := appendAMR(nil, []string{strings.Repeat("x", maxAMRValue+1)}); ok {
		t.Error("appendAMR took a value over maxAMRValue")
	}
	f = fields(appendField(nil, "toolong"))
	if _, ok := f.next(6); ok {
		t.Error("next read a field over its limit")
	}
	f = fields(appendField(nil, "client")[:5])
	if _, ok := f.next(maxTicketField); ok {
		t.Error("next read a truncated field")
	}
	f = fields{maxAMR + 1}
	if _, ok := f.amr(); ok {
		t.Error("amr read a count over maxAMR")
	}
}
