package server

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/sealedtoken/issuer/pkg/endpoint"
)

// zerologLine is the line zerolog writes for f at info with the Timestamp
// hook's field set to stamp: what appendRequestLine must reproduce.
func zerologLine(f *requestFields, stamp string) string {
	var buf bytes.Buffer
	log := zerolog.New(&buf)
	f.addTo(log.Info()).Str(zerolog.TimestampFieldName, stamp).Msg("request")
	return buf.String()
}

// TestRequestLineMatchesZerolog holds the request-line encoder to
// zerolog's bytes for every shape of successful line, and checks that it
// declines the lines it must leave to zerolog: failures, and values that
// need escaping.
func TestRequestLineMatchesZerolog(t *testing.T) {
	const stamp = "2026-12-02T14:27:10Z"
	full := &endpoint.Result{ClientID: "demo", GrantType: endpoint.GrantClientCredentials,
		Audience: "https://api.example.com", JTI: "jbuOhhOvHQxVCUBw6jZ4HQ"}
	tests := []struct {
		name   string
		f      requestFields
		stamp  string
		encode bool // false: the encoder must decline
	}{
		{name: "token issued", f: requestFields{route: RouteToken, method: "POST", status: 200, remote: []byte("127.0.0.1"), latencyMicros: 5693, outcome: "ok", grant: "client_credentials", res: full}, stamp: stamp, encode: true},
		{name: "no result (a GET of metadata)", f: requestFields{route: RouteMetadata, method: "GET", status: 200, remote: []byte("::1"), outcome: "ok", grant: "none"}, stamp: stamp, encode: true},
		{name: "404 with no result", f: requestFields{route: RouteNotFound, method: "GET", status: 404, remote: []byte("10.0.0.1"), latencyMicros: 3, outcome: "not_found", grant: "none"}, stamp: stamp, encode: true},
		{name: "result without grant, audience or jti", f: requestFields{route: RouteRevoke, method: "POST", status: 200, remote: []byte("10.0.0.1"), outcome: "ok", grant: "none", res: &endpoint.Result{ClientID: "c"}}, stamp: stamp, encode: true},
		{name: "presented client id only", f: requestFields{route: RouteToken, method: "POST", status: 200, remote: []byte("10.0.0.1"), outcome: "ok", grant: "refresh_token", res: &endpoint.Result{PresentedClientID: "p"}}, stamp: stamp, encode: true},
		{name: "empty result", f: requestFields{route: RouteToken, method: "POST", status: 302, remote: []byte("2001:db8::1"), outcome: "ok", grant: "none", res: &endpoint.Result{}}, stamp: "2026-12-02T14:27:10+01:00", encode: true},
		{name: "negative latency (a clock step)", f: requestFields{route: RouteToken, method: "POST", status: 200, remote: []byte("127.0.0.1"), latencyMicros: -7, outcome: "ok", grant: "none", res: full}, stamp: stamp, encode: true},
		{name: "failure with an error is zerolog's", f: requestFields{route: RouteToken, method: "POST", status: 400, remote: []byte("127.0.0.1"), outcome: "invalid_request", grant: "none", res: &endpoint.Result{Err: endpoint.NewError(endpoint.InvalidRequest, "x")}}, stamp: stamp},
		{name: "failure with a cause is zerolog's", f: requestFields{route: RouteToken, method: "POST", status: 401, remote: []byte("127.0.0.1"), outcome: "invalid_client", grant: "none", res: &endpoint.Result{Err: &endpoint.Error{Code: endpoint.InvalidClient, Cause: errors.New("wrong secret")}}}, stamp: stamp},
		{name: "client id with a quote is zerolog's", f: requestFields{route: RouteToken, method: "POST", status: 200, remote: []byte("127.0.0.1"), outcome: "ok", grant: "none", res: &endpoint.Result{ClientID: `a"b`}}, stamp: stamp},
		{name: "audience with a backslash is zerolog's", f: requestFields{route: RouteToken, method: "POST", status: 200, remote: []byte("127.0.0.1"), outcome: "ok", grant: "none", res: &endpoint.Result{ClientID: "c", Audience: `a\b`}}, stamp: stamp},
		{name: "non-ASCII client id is zerolog's", f: requestFields{route: RouteToken, method: "POST", status: 200, remote: []byte("127.0.0.1"), outcome: "ok", grant: "none", res: &endpoint.Result{ClientID: "café"}}, stamp: stamp},
		{name: "control character in a jti is zerolog's", f: requestFields{route: RouteToken, method: "POST", status: 200, remote: []byte("127.0.0.1"), outcome: "ok", grant: "none", res: &endpoint.Result{ClientID: "c", JTI: "a\nb"}}, stamp: stamp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := appendRequestLine([]byte("kept"), &tt.f, tt.stamp)
			if ok != tt.encode {
				t.Fatalf("encoded = %v, want %v", ok, tt.encode)
			}
			if !ok {
				if string(got) != "kept" {
					t.Fatalf("declined but appended %q", got)
				}
				return
			}
			if want := "kept" + zerologLine(&tt.f, tt.stamp); string(got) != want {
				t.Errorf("line\n got %s\nwant %s", got, want)
			}
		})
	}
}

// FuzzRequestLine: whatever the client id, audience, jti, status and
// latency, the encoder either writes zerolog's exact line or declines,
// and it declines only lines holding a value that needs escaping.
func FuzzRequestLine(f *testing.F) {
	f.Add("demo", "https://api.example.com", "jbuOhhOvHQxVCUBw6jZ4HQ", "", 200, int64(12), "2026-12-02T14:27:10Z")
	f.Add("", "", "", "p", 404, int64(0), "2026-12-02T14:27:10+01:00")
	f.Add("a\"b", "\\", "\x00", "é", 200, int64(-1), "x")
	f.Fuzz(func(t *testing.T, clientID, audience, jti, presented string, status int, latency int64, stamp string) {
		fs := requestFields{route: RouteToken, method: "POST", status: status, remote: []byte("127.0.0.1"),
			latencyMicros: latency, outcome: "ok", grant: "client_credentials",
			res: &endpoint.Result{ClientID: clientID, PresentedClientID: presented, Audience: audience, JTI: jti}}
		got, ok := appendRequestLine(nil, &fs, stamp)
		if !ok {
			if plainASCII(fs.clientID()) && plainASCII(audience) && plainASCII(jti) && plainASCII(stamp) {
				t.Fatalf("declined a line that needs no escaping: %+v", fs)
			}
			return
		}
		if want := zerologLine(&fs, stamp); string(got) != want {
			t.Fatalf("line\n got %s\nwant %s", got, want)
		}
	})
}

// BenchmarkRequestLine compares writing a token's request line with zerolog
// (and the Timestamp hook) and with the request-line encoder.
func BenchmarkRequestLine(b *testing.B) {
	fs := requestFields{route: RouteToken, method: "POST", status: 200, remote: []byte("127.0.0.1"), latencyMicros: 12,
		outcome: "ok", grant: "client_credentials", res: &endpoint.Result{ClientID: "demo",
			Audience: "https://api.example.com", JTI: "jbuOhhOvHQxVCUBw6jZ4HQ"}}
	lw := NewLogWriter(discard{}, time.Hour)
	defer lw.Close()
	b.Run("impl=zerolog", func(b *testing.B) {
		log := zerolog.New(lw).Hook(Timestamp)
		b.ReportAllocs()
		for b.Loop() {
			fs.addTo(log.Info()).Msg("request")
		}
	})
	b.Run("impl=requestline", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			writeRequestLine(lw, &fs, formatStamp(time.Now()))
		}
	})
	// The same lines written on to a file in the temporary directory, as
	// issuer serve's log and bench/tokenload's are: the difference is the
	// kernel's share of writing them (the write system call for each
	// batch), not the page cache's writeback that follows.
	b.Run("impl=requestline/dest=file", func(b *testing.B) {
		f, err := os.Create(filepath.Join(b.TempDir(), "requests.log"))
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		flw := NewLogWriter(f, time.Hour)
		defer flw.Close()
		b.ReportAllocs()
		for b.Loop() {
			writeRequestLine(flw, &fs, formatStamp(time.Now()))
		}
	})
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
