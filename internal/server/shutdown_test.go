package server_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/sealedtoken/issuer/internal/devtls"
	"github.com/sealedtoken/issuer/internal/server"
)

// shutdownReadTimeout is the servers' limits.read_timeout in these tests:
// long, so that a connection the shutdown waits for shows as a shutdown
// that takes seconds instead of a fraction of one.
const shutdownReadTimeout = 30 * time.Second

// shutdownBound is how long a graceful shutdown may take once the one
// in-flight request is answered: fasthttp polls its open connections every
// 100 ms, so a second is ample even under -race.
const shutdownBound = time.Second

// tokenRequestHead is a client_credentials request of client (whose
// secret is testSecret) on the wire: the head and the body, which the
// tests send in two parts to keep the request in flight. forwarded adds
// the trusted proxy's X-Forwarded-Proto, which a plain-HTTP server
// requires.
func tokenRequestHead(host, client string, forwarded bool) (head, body string) {
	body = "grant_type=client_credentials&scope=read"
	head = "POST /token HTTP/1.1\r\nHost: " + host + "\r\nContent-Type: application/x-www-form-urlencoded\r\n" +
		"Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(client+":"+testSecret)) + "\r\n" +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\n"
	if forwarded {
		head += "X-Forwarded-Proto: https\r\n"
	}
	return head + "\r\n", body
}

// beginSlowRequest writes a token request's head and the first five bytes
// of its body to conn, then waits until the server is reading the rest: a
// request in flight for the shutdown tests.
func beginSlowRequest(t *testing.T, conn net.Conn, head, body string) {
	t.Helper()
	if _, err := io.WriteString(conn, head+body[:5]); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // the server is now reading the body
}

// finishSlowRequest sends the rest of the body begun by beginSlowRequest
// and requires the answer to be a token response.
func finishSlowRequest(t *testing.T, conn net.Conn, body string) *http.Response {
	t.Helper()
	if _, err := io.WriteString(conn, body[5:]); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("the in-flight request got no response: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(b), "access_token") {
		t.Fatalf("in-flight request: %d %s", resp.StatusCode, b)
	}
	return resp
}

// stallConn lets its first Write through and blocks every later one until
// release is closed: a TLS client on it sends its ClientHello, reads the
// server's flight and then stalls before its Finished, so the server is
// left mid-handshake.
type stallConn struct {
	net.Conn
	mu      sync.Mutex
	writes  int
	stalled chan struct{} // closed when the second Write starts
	release chan struct{}
}

func (c *stallConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.writes++
	n := c.writes
	c.mu.Unlock()
	if n > 1 {
		if n == 2 {
			close(c.stalled)
		}
		<-c.release
		return 0, net.ErrClosed
	}
	return c.Conn.Write(p)
}

// unusedConn is a connection a client opened and sent no request on.
type unusedConn struct {
	name string
	// conn is read after the shutdown: the server must have closed it.
	conn net.Conn
}

// openUnused opens, to addr, as client, the connections that must not hold up a
// graceful shutdown: a bare TCP connection (a load balancer's spare, a
// port check), a keep-alive connection idle after one request, and over
// TLS a connection whose handshake completed and one stalled mid
// handshake.
func openUnused(t *testing.T, addr, client string, pool *x509.CertPool) []unusedConn {
	t.Helper()
	dial := func() net.Conn {
		c, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	var conns []unusedConn
	conns = append(conns, unusedConn{"bare TCP", dial()})

	// A keep-alive connection, idle after one answered request.
	ka := dial()
	if pool != nil {
		tc := tls.Client(ka, &tls.Config{RootCAs: pool, ServerName: "localhost"})
		t.Cleanup(func() { _ = tc.Close() })
		ka = tc
	}
	head, body := tokenRequestHead(addr, client, pool == nil)
	if _, err := io.WriteString(ka, head+body); err != nil {
		t.Fatal(err)
	}
	_ = ka.SetReadDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(ka)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Close {
		t.Fatalf("keep-alive request: status %d, close %v", resp.StatusCode, resp.Close)
	}
	conns = append(conns, unusedConn{"keep-alive, idle", ka})

	if pool == nil {
		return conns
	}
	done := tls.Client(dial(), &tls.Config{RootCAs: pool, ServerName: "localhost"})
	if err := done.Handshake(); err != nil {
		t.Fatal(err)
	}
	conns = append(conns, unusedConn{"TLS handshake complete", done})

	raw := dial()
	sc := &stallConn{Conn: raw, stalled: make(chan struct{}), release: make(chan struct{})}
	t.Cleanup(func() { close(sc.release) })
	go func() { _ = tls.Client(sc, &tls.Config{RootCAs: pool, ServerName: "localhost"}).Handshake() }()
	select {
	case <-sc.stalled:
	case <-time.After(5 * time.Second):
		t.Fatal("the TLS client never got the server's handshake flight")
	}
	// The client is stuck in its Write; the test reads the raw conn.
	conns = append(conns, unusedConn{"TLS mid handshake", raw})
	return conns
}

// checkClosedByServer reads every unused connection and requires that
// the server closed it without writing an HTTP response to it.
func checkClosedByServer(t *testing.T, conns []unusedConn) {
	t.Helper()
	for _, u := range conns {
		_ = u.conn.SetReadDeadline(time.Now().Add(time.Second))
		got, err := io.ReadAll(u.conn)
		var ne net.Error
		switch {
		case errors.As(err, &ne) && ne.Timeout():
			t.Errorf("%s: still open after the shutdown", u.name)
		case strings.Contains(string(got), "HTTP/1.1"):
			t.Errorf("%s: the server answered a request nobody sent: %q", u.name, got)
		}
	}
}

// TestShutdownUnusedConnections: connections that carry no request (bare
// TCP, idle keep-alive, TLS with the handshake done or stalled midway) do
// not hold up Shutdown, which returns as soon as the in-flight request is
// answered, rather than after limits.read_timeout; the in-flight request
// still gets its token, and fasthttp logs nothing about the connections
// it dropped.
func TestShutdownUnusedConnections(t *testing.T) {
	tests := []struct {
		name string
		tls  bool
	}{
		{name: "plain HTTP behind a proxy", tls: false},
		{name: "TLS", tls: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, fixtureOpts{})
			var (
				tlsConf *tls.Config
				pool    *x509.CertPool
			)
			if tt.tls {
				certPEM, keyPEM, err := devtls.Generate(devtls.DefaultHosts, time.Now())
				if err != nil {
					t.Fatal(err)
				}
				cert, err := tls.X509KeyPair(certPEM, keyPEM)
				if err != nil {
					t.Fatal(err)
				}
				tlsConf = server.TLSConfig(cert)
				pool = x509.NewCertPool()
				pool.AppendCertsFromPEM(certPEM)
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := ln.Addr().String()
			var log syncBuf
			srv := server.NewServer(f.h.ServeFastHTTP, server.Limits{ReadTimeout: shutdownReadTimeout}, tlsConf, zerolog.New(&log))
			served := make(chan error, 1)
			go func() { served <- srv.Serve(ln) }()

			unused := openUnused(t, addr, testClientID, pool)

			// The in-flight request: its head and part of its body.
			var inflight net.Conn
			if inflight, err = net.DialTimeout("tcp", addr, 2*time.Second); err != nil {
				t.Fatal(err)
			}
			defer inflight.Close()
			if tt.tls {
				inflight = tls.Client(inflight, &tls.Config{RootCAs: pool, ServerName: "localhost"})
			}
			head, body := tokenRequestHead(addr, testClientID, !tt.tls)
			beginSlowRequest(t, inflight, head, body)

			start := time.Now()
			shut := make(chan error, 1)
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				shut <- srv.Shutdown(ctx)
			}()
			time.Sleep(300 * time.Millisecond)
			select {
			case err := <-shut:
				t.Fatalf("Shutdown returned %v with a request in flight", err)
			default:
			}
			if resp := finishSlowRequest(t, inflight, body); !resp.Close {
				t.Fatal("the in-flight request's response does not close its connection during shutdown")
			}
			select {
			case err := <-shut:
				if err != nil {
					t.Fatalf("Shutdown: %v", err)
				}
			case <-time.After(shutdownBound):
				t.Fatalf("Shutdown still waiting %v after the last request was answered, %v after it began (read_timeout %v)",
					shutdownBound, time.Since(start), shutdownReadTimeout)
			}
			if err := <-served; err != nil {
				t.Fatalf("Serve: %v", err)
			}
			checkClosedByServer(t, unused)
			if got, _ := log.snapshot(); strings.Contains(got, "fasthttp") {
				t.Errorf("fasthttp logged about the dropped connections:\n%s", got)
			}
		})
	}
}
