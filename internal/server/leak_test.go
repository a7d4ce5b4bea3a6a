package server_test

import (
	"context"
	"encoding/base64"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/sealedtoken/issuer/internal/server"
)

// TestMalformedRequestsLeakNothingToTheLog: issue 8 — fasthttp's own parse
// errors quoted request bytes (an Authorization header, a query string)
// into the log despite SecureErrorLogMessage. Every malformed request is
// answered 400 and logged with fixed text only.
func TestMalformedRequestsLeakNothingToTheLog(t *testing.T) {
	const secretValue = "Sup3rSecretValue-0123456789"
	basicCred := base64.StdEncoding.EncodeToString([]byte("backend:" + secretValue))
	requests := []struct {
		name, raw string
		secrets   []string
	}{
		{name: "NUL in an Authorization header",
			raw:     "POST /token HTTP/1.1\r\nHost: x\r\nAuthorization: Basic " + basicCred + "\x00\r\nContent-Length: 0\r\n\r\n",
			secrets: []string{basicCred, secretValue}},
		{name: "a header line without a colon",
			raw:     "POST /token HTTP/1.1\r\nHost: x\r\nclient_secret " + secretValue + "\r\nContent-Length: 0\r\n\r\n",
			secrets: []string{secretValue}},
		{name: "no HTTP version, secret in the query",
			raw:     "POST /token?client_secret=" + secretValue + "\r\n\r\n",
			secrets: []string{secretValue}},
		{name: "garbage method line",
			raw:     "\x16\x03\x01" + secretValue + "\r\n\r\n",
			secrets: []string{secretValue}},
		{name: "bad Content-Length after an Authorization header",
			raw:     "POST /token HTTP/1.1\r\nHost: x\r\nAuthorization: Basic " + basicCred + "\r\nContent-Length: x" + secretValue + "\r\n\r\n",
			secrets: []string{basicCred, secretValue}},
		{name: "chunked body with a bad chunk size",
			raw:     "POST /token HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + secretValue + "\r\n",
			secrets: []string{secretValue}},
	}
	for _, rq := range requests {
		t.Run(rq.name, func(t *testing.T) {
			f := newFixture(t, fixtureOpts{})
			var logs syncBuf
			log := zerolog.New(&logs).Level(zerolog.DebugLevel)
			h := server.NewHandler(f.ep, server.HandlerOptions{Log: log})
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			srv := server.NewServer(h.ServeFastHTTP, server.Limits{ReadTimeout: time.Second}, nil, log)
			go func() { _ = srv.Serve(ln) }()
			defer func() {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				_ = srv.Shutdown(ctx)
			}()
			conn, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if _, err := io.WriteString(conn, rq.raw); err != nil {
				t.Fatal(err)
			}
			_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			got, _ := io.ReadAll(conn)
			if !strings.HasPrefix(string(got), "HTTP/1.1 4") {
				t.Errorf("answer %q, want a 4xx", got)
			}
			for _, s := range rq.secrets {
				if strings.Contains(string(got), s) {
					t.Errorf("the answer echoes request bytes: %q", got)
				}
			}
			// The serving goroutine logs after the answer; give it a moment.
			deadline := time.Now().Add(2 * time.Second)
			for time.Now().Before(deadline) && !strings.Contains(logText(&logs), `"unreadable"`) {
				time.Sleep(10 * time.Millisecond)
			}
			time.Sleep(50 * time.Millisecond)
			text := logText(&logs)
			if !strings.Contains(text, `"unreadable"`) {
				t.Errorf("no log line for the malformed request:\n%s", text)
			}
			for _, s := range rq.secrets {
				if strings.Contains(text, s) {
					t.Errorf("the log contains request bytes (%.12s...):\n%s", s, text)
				}
			}
		})
	}
}

func logText(b *syncBuf) string {
	s, _ := b.snapshot()
	return s
}
