package server

import (
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// pipeConn returns a tracked server end of a pipe, registered with tr,
// and the client end.
func pipeConn(t *testing.T, tr *connTracker) (*trackedConn, net.Conn) {
	t.Helper()
	srv, cli := net.Pipe()
	t.Cleanup(func() { _ = srv.Close(); _ = cli.Close() })
	c := &trackedConn{Conn: srv, t: tr}
	tr.add(c)
	return c, cli
}

// readResult is what a Read returned.
type readResult struct {
	n   int
	err error
}

func readAsync(c net.Conn) <-chan readResult {
	ch := make(chan readResult, 1)
	go func() {
		var b [16]byte
		n, err := c.Read(b[:])
		ch <- readResult{n, err}
	}()
	return ch
}

func waitRead(t *testing.T, ch <-chan readResult) readResult {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(2 * time.Second):
		t.Fatal("Read still blocked")
		return readResult{}
	}
}

// TestConnTracker checks the states of a tracked connection: a request
// byte starts it and takes it out of the tracker; drain drops the others,
// waking a blocked Read with io.EOF; a dropped connection's read deadline
// stays in the past whatever fasthttp sets; connections accepted during
// a drain are dropped at once; Close forgets.
func TestConnTracker(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, tr *connTracker)
	}{
		{name: "request bytes start the connection and survive a drain", run: func(t *testing.T, tr *connTracker) {
			c, cli := pipeConn(t, tr)
			go func() { _, _ = cli.Write([]byte("POST")) }()
			if r := waitRead(t, readAsync(c)); r.n != 4 || r.err != nil {
				t.Fatalf("Read = %d, %v", r.n, r.err)
			}
			if got := c.state.Load(); got != connStarted {
				t.Fatalf("state %d, want started", got)
			}
			if n := tr.drain(); n != 0 {
				t.Fatalf("drain dropped %d connections, want 0", n)
			}
			go func() { _, _ = cli.Write([]byte(" /token")) }()
			if r := waitRead(t, readAsync(c)); r.n != 7 || r.err != nil {
				t.Fatalf("Read after drain = %d, %v; a started request must be read to its end", r.n, r.err)
			}
		}},
		{name: "drain wakes a Read waiting for the first byte with io.EOF", run: func(t *testing.T, tr *connTracker) {
			c, _ := pipeConn(t, tr)
			_ = c.SetReadDeadline(time.Now().Add(time.Minute)) // fasthttp's read_timeout
			ch := readAsync(c)
			time.Sleep(20 * time.Millisecond)
			if n := tr.drain(); n != 1 {
				t.Fatalf("drain dropped %d connections, want 1", n)
			}
			if r := waitRead(t, ch); r.n != 0 || r.err != io.EOF {
				t.Fatalf("Read = %d, %v; want 0, io.EOF", r.n, r.err)
			}
		}},
		{name: "a deadline set after the drop stays past", run: func(t *testing.T, tr *connTracker) {
			c, _ := pipeConn(t, tr)
			tr.drain()
			for _, set := range []func(time.Time) error{c.SetReadDeadline, c.SetDeadline} {
				if err := set(time.Now().Add(time.Minute)); err != nil {
					t.Fatal(err)
				}
				var b [1]byte
				// Below the wrapper: the inner connection must time out.
				if _, err := c.Conn.Read(b[:]); !errors.Is(err, os.ErrDeadlineExceeded) {
					t.Fatalf("inner Read after SetDeadline on a dropped conn: %v, want deadline exceeded", err)
				}
			}
		}},
		{name: "a connection accepted during the drain is dropped", run: func(t *testing.T, tr *connTracker) {
			tr.drain()
			c, _ := pipeConn(t, tr)
			if got := c.state.Load(); got != connDropped {
				t.Fatalf("state %d, want dropped", got)
			}
			if r := waitRead(t, readAsync(c)); r.err != io.EOF {
				t.Fatalf("Read = %d, %v; want io.EOF", r.n, r.err)
			}
		}},
		{name: "Close forgets a connection that sent nothing", run: func(t *testing.T, tr *connTracker) {
			c, _ := pipeConn(t, tr)
			_ = c.Close()
			if n := len(tr.fresh); n != 0 {
				t.Fatalf("%d connections tracked after Close", n)
			}
			if n := tr.drain(); n != 0 {
				t.Fatalf("drain dropped %d closed connections", n)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, newConnTracker()) })
	}
}
