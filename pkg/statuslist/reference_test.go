package statuslist_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/sealedtoken/issuer/pkg/statuslist"
)

// TestParseClaim: draft §6.1 and §6.2, rule by rule.
func TestParseClaim(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want statuslist.Reference
		err  error
	}{
		{name: "draft §6.2: idx and uri", raw: `{"status_list":{"idx":0,"uri":"https://example.com/statuslists/1"}}`, want: statuslist.Reference{Index: 0, URI: "https://example.com/statuslists/1"}},
		{name: "draft §6.1: other status mechanisms are ignored", raw: `{"other":{"x":1},"status_list":{"idx":7,"uri":"https://e.com/s","ext":true}}`, want: statuslist.Reference{Index: 7, URI: "https://e.com/s"}},
		{name: "draft §6.2: status_list required", raw: `{"other":{}}`, err: statuslist.ErrNoStatus},
		{name: "draft §6.2: idx required", raw: `{"status_list":{"uri":"https://e.com/s"}}`, err: statuslist.ErrMalformed},
		{name: "draft §6.2: uri required", raw: `{"status_list":{"idx":1}}`, err: statuslist.ErrMalformed},
		{name: "draft §6.2: idx non-negative", raw: `{"status_list":{"idx":-1,"uri":"https://e.com/s"}}`, err: statuslist.ErrMalformed},
		{name: "draft §6.2: idx an integer", raw: `{"status_list":{"idx":1.5,"uri":"https://e.com/s"}}`, err: statuslist.ErrMalformed},
		{name: "draft §6.2: idx not a string", raw: `{"status_list":{"idx":"1","uri":"https://e.com/s"}}`, err: statuslist.ErrMalformed},
		{name: "draft §6.2: idx beyond 2^53", raw: `{"status_list":{"idx":9007199254740993,"uri":"https://e.com/s"}}`, err: statuslist.ErrMalformed},
		{name: "draft §6.2: uri a string", raw: `{"status_list":{"idx":1,"uri":1}}`, err: statuslist.ErrMalformed},
		{name: "draft §6.2: uri conforms to RFC 3986", raw: `{"status_list":{"idx":1,"uri":"not a uri"}}`, err: statuslist.ErrMalformed},
		{name: "draft §6.1: status is an object", raw: `[]`, err: statuslist.ErrMalformed},
		{name: "duplicate status_list", raw: `{"status_list":{"idx":1,"uri":"https://e.com/s"},"status_list":{"idx":2,"uri":"https://e.com/s"}}`, err: statuslist.ErrMalformed},
		{name: "duplicate idx", raw: `{"status_list":{"idx":1,"idx":2,"uri":"https://e.com/s"}}`, err: statuslist.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := statuslist.ParseClaim([]byte(tt.raw))
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("error %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseClaim = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestReferenceRoundTrip(t *testing.T) {
	ref := statuslist.Reference{Index: 1 << 40, URI: "https://issuer.example.com/statuslists/r1.e7/3?x=\"y\""}
	b, err := json.Marshal(map[string]any{"status": ref})
	if err != nil {
		t.Fatal(err)
	}
	var m struct{ Status json.RawMessage }
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	back, err := statuslist.ParseClaim(m.Status)
	if err != nil || back != ref {
		t.Fatalf("round trip: %+v, %v", back, err)
	}
	if _, err := json.Marshal(statuslist.Reference{URI: "relative/path"}); err == nil {
		t.Fatal("a relative uri marshalled")
	}
}
