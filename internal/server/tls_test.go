package server_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/sealedtoken/issuer/internal/devtls"
	"github.com/sealedtoken/issuer/internal/server"
)

// tlsServer serves f's handler over TLS on a free loopback port.
func tlsServer(t *testing.T, f *fixture, l server.Limits) (addr string, pool *x509.CertPool, srv *server.Server, served chan error) {
	t.Helper()
	certPEM, keyPEM, err := devtls.Generate(devtls.DefaultHosts, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv = server.NewServer(f.h.ServeFastHTTP, l, server.TLSConfig(cert), zerolog.Nop())
	served = make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return ln.Addr().String(), pool, srv, served
}

func httpsClient(pool *x509.CertPool, maxVersion uint16) *http.Client {
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, MaxVersion: maxVersion},
	}}
}

func postToken(c *http.Client, addr string) (*http.Response, error) {
	r, _ := http.NewRequest("POST", "https://"+addr+"/token", strings.NewReader("grant_type=client_credentials"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(testClientID+":"+testSecret)))
	return c.Do(r)
}

func TestTLSOnly(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	addr, pool, _, _ := tlsServer(t, f, server.Limits{})

	t.Run("TLS 1.3 request gets a token", func(t *testing.T) {
		resp, err := postToken(httpsClient(pool, 0), addr)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != 200 || body["access_token"] == nil {
			t.Fatalf("status %d body %v err %v", resp.StatusCode, body, err)
		}
		if resp.TLS == nil || resp.TLS.Version != tls.VersionTLS13 {
			t.Fatalf("negotiated %v, want TLS 1.3", resp.TLS)
		}
	})
	t.Run("TLS 1.2 is accepted", func(t *testing.T) {
		resp, err := postToken(httpsClient(pool, tls.VersionTLS12), addr)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.TLS.Version != tls.VersionTLS12 {
			t.Fatalf("status %d version %x", resp.StatusCode, resp.TLS.Version)
		}
	})
	t.Run("TLS 1.1 is refused", func(t *testing.T) {
		conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11})
		if err == nil {
			conn.Close()
			t.Fatal("a TLS 1.1 handshake succeeded")
		}
	})
	t.Run("plain HTTP to the TLS port gets no token", func(t *testing.T) {
		conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(3 * time.Second))
		body := "grant_type=client_credentials"
		_, _ = io.WriteString(conn, "POST /token HTTP/1.1\r\nHost: "+addr+"\r\nContent-Type: application/x-www-form-urlencoded\r\n"+
			"Authorization: Basic "+base64.StdEncoding.EncodeToString([]byte(testClientID+":"+testSecret))+"\r\n"+
			"Content-Length: "+strconv.Itoa(len(body))+"\r\n\r\n"+body)
		got, _ := io.ReadAll(bufio.NewReader(conn))
		if strings.Contains(string(got), "access_token") || strings.HasPrefix(string(got), "HTTP/1.1 200") {
			t.Fatalf("plain HTTP got an answer: %q", got)
		}
	})
}

func TestBodyLimit(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	addr, pool, _, _ := tlsServer(t, f, server.Limits{MaxBodyBytes: 1024})
	r, _ := http.NewRequest("POST", "https://"+addr+"/token", strings.NewReader("grant_type=client_credentials&pad="+strings.Repeat("a", 4096)))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := httpsClient(pool, 0).Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 413 || !json.Valid(b) {
		t.Fatalf("status %d body %s, want 413 JSON", resp.StatusCode, b)
	}
}

// TestGracefulShutdown sends a request whose body arrives slowly, shuts
// the server down while it is in flight, and checks the request is still
// answered and Serve then returns nil.
func TestGracefulShutdown(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	addr, pool, srv, served := tlsServer(t, f, server.Limits{})
	conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	head, body := tokenRequestHead(addr, testClientID, false)
	beginSlowRequest(t, conn, head, body)
	shut := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		shut <- srv.Shutdown(ctx)
	}()
	time.Sleep(300 * time.Millisecond)
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Error("the listener still accepts connections during shutdown")
	}
	finishSlowRequest(t, conn, body)
	if err := <-shut; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve after Shutdown: %v", err)
	}
}

// TestTLSReadTimeoutIsAnsweredCleanly: issue 8 — a request left incomplete
// over TLS was answered at the read timeout with a record that failed its
// integrity check (bad_record_mac). The cause: the write deadline fasthttp
// sets before the TLS handshake was still in force when the read timed out,
// so the 408 failed to go out after its record had taken a sequence
// number, and the close_notify that followed was sealed with the next one.
// The peer must get the 408 and a clean close.
func TestTLSReadTimeoutIsAnsweredCleanly(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	for _, tc := range []struct {
		name    string
		version uint16
		send    string
	}{
		{name: "TLS 1.3, body cut short", version: tls.VersionTLS13, send: "POST /token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\ngrant_type="},
		{name: "TLS 1.2, body cut short", version: tls.VersionTLS12, send: "POST /token HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\ngrant_type="},
		{name: "TLS 1.3, headers cut short", version: tls.VersionTLS13, send: "POST /token HTTP/1.1\r\nHost: x\r\nAuthori"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr, pool, _, _ := tlsServer(t, f, server.Limits{ReadTimeout: 300 * time.Millisecond, WriteTimeout: 300 * time.Millisecond})
			conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, MinVersion: tc.version, MaxVersion: tc.version})
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if _, err := io.WriteString(conn, tc.send); err != nil {
				t.Fatal(err)
			}
			_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			got, err := io.ReadAll(conn)
			if err != nil {
				t.Fatalf("reading the answer: %v (after %q)", err, got)
			}
			if !strings.HasPrefix(string(got), "HTTP/1.1 408 ") || !strings.Contains(string(got), "request timed out") {
				t.Fatalf("answer %q, want a 408", got)
			}
		})
	}
}

// TestPlainReadTimeoutIsAnswered: the 408 of a stalled request reaches a
// plain-HTTP peer too (a TLS-terminating proxy), deadline or not.
func TestPlainReadTimeoutIsAnswered(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := server.NewServer(f.h.ServeFastHTTP, server.Limits{ReadTimeout: 300 * time.Millisecond, WriteTimeout: 300 * time.Millisecond}, nil, zerolog.Nop())
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Idle long enough for a deadline set at accept time to pass.
	time.Sleep(100 * time.Millisecond)
	if _, err := io.WriteString(conn, "POST /token HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nab"); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	got, _ := io.ReadAll(conn)
	if !strings.HasPrefix(string(got), "HTTP/1.1 408 ") {
		t.Fatalf("answer %q, want a 408", got)
	}
}
