//go:build !race

package server

import (
	"net"
	"testing"
	"time"
)

// nopConn is a net.Conn whose reads always succeed, for allocation counts.
type nopConn struct{ net.Conn }

func (nopConn) Read(p []byte) (int, error)         { return len(p), nil }
func (nopConn) SetReadDeadline(time.Time) error    { return nil }
func (nopConn) SetDeadline(time.Time) error        { return nil }
func (nopConn) Write(p []byte) (int, error)        { return len(p), nil }
func (nopConn) SetWriteDeadline(t time.Time) error { return nil }

// TestTrackedConnAllocations: once a request has begun, the connection
// wrapper adds no allocation to reads and deadlines (the per-request
// calls fasthttp makes).
func TestTrackedConnAllocations(t *testing.T) {
	tr := newConnTracker()
	c := &trackedConn{Conn: nopConn{}, t: tr}
	tr.add(c)
	var buf [64]byte
	if _, err := c.Read(buf[:]); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	if n := testing.AllocsPerRun(1000, func() {
		_ = c.SetReadDeadline(deadline)
		_, _ = c.Read(buf[:])
		_, _ = c.Write(buf[:])
	}); n != 0 {
		t.Fatalf("%.1f allocations per request on a tracked connection, want 0", n)
	}
}
