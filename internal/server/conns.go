package server

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Graceful shutdown and unused connections.
//
// fasthttp's ShutdownWithContext closes keep-alive connections that are
// idle between requests, but it waits for every connection that has not
// yet finished its first request, and it cannot tell one that is reading
// a request from one that never sent a byte: for the first request its
// ConnState hook reports StateActive before anything is read (the
// idle-connection bookkeeping is cleared at the same point), and for TLS
// the handshake runs before either. So a bare TCP connection, a TLS
// handshake stalled midway, or a completed handshake with no request
// (load balancers and pooling clients keep such spares) held the shutdown
// for limits.read_timeout. The ConnState hook cannot fix this: it fires at
// the same points, and with MaxConnsPerIP it is handed fasthttp's own
// unexported wrapper of the connection.
//
// The Server therefore wraps every accepted connection (after TLS, so it
// sees request bytes, not handshake bytes) in a trackedConn, which
// records whether a byte of an HTTP request has been read. At Shutdown
// every connection still waiting for its first byte is dropped; later
// ones fasthttp handles itself (it closes idle keep-alive connections and
// ends each busy one after its response, with Connection: close).
//
// Dropping does not close the connection from the shutdown goroutine: it
// moves the read deadline into the past, which wakes a Read or a TLS
// handshake blocked in the serving goroutine. The wrapper then reports a
// clean end of stream (io.EOF), on which fasthttp ends the connection
// without answering it (a 408 to a client that sent nothing would be
// wrong) and without logging, and closes it itself — over TLS with a
// close_notify alert when the handshake had completed.
//
// The one race left is inherent in HTTP/1.1 and shared with net/http: a
// request whose first bytes arrive just as its connection is dropped is
// not answered, and the client sees the connection close, as when a
// keep-alive connection times out under it.

// Connection states of a trackedConn.
const (
	connFresh   int32 = iota // no byte of a request read yet
	connStarted              // a request has begun; fasthttp manages the rest
	connDropped              // shutting down: reads end, deadlines stay past
)

// aLongTimeAgo is a read deadline in the past, to wake a blocked Read.
var aLongTimeAgo = time.Unix(1, 0)

// connTracker holds the connections that have not started a request, so
// Shutdown can drop them.
type connTracker struct {
	mu       sync.Mutex
	fresh    map[*trackedConn]struct{}
	draining bool
}

func newConnTracker() *connTracker {
	return &connTracker{fresh: make(map[*trackedConn]struct{})}
}

// add registers a new connection; during a shutdown it is dropped at once.
func (t *connTracker) add(c *trackedConn) {
	t.mu.Lock()
	if t.draining {
		c.state.Store(connDropped)
	} else {
		t.fresh[c] = struct{}{}
	}
	t.mu.Unlock()
}

func (t *connTracker) forget(c *trackedConn) {
	t.mu.Lock()
	delete(t.fresh, c)
	t.mu.Unlock()
}

// drain drops every connection that has not started a request, and every
// one accepted from now on. It returns how many it dropped.
func (t *connTracker) drain() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.draining = true
	n := 0
	for c := range t.fresh {
		if c.drop() {
			n++
		}
	}
	clear(t.fresh)
	return n
}

// trackedConn is a served connection that knows whether a request has
// begun on it. Once one has, every method is a plain pass-through but for
// one atomic load.
type trackedConn struct {
	net.Conn // the accepted connection, or the *tls.Conn over it
	t        *connTracker
	state    atomic.Int32
}

// drop ends a connection that has not started a request; false if it has.
func (c *trackedConn) drop() bool {
	if !c.state.CompareAndSwap(connFresh, connDropped) {
		return false
	}
	_ = c.Conn.SetReadDeadline(aLongTimeAgo)
	return true
}

// Read marks the connection started when it returns request bytes. On a
// dropped connection it returns io.EOF, which fasthttp takes for a client
// that closed before sending a request.
func (c *trackedConn) Read(p []byte) (int, error) {
	switch c.state.Load() {
	case connStarted:
		return c.Conn.Read(p)
	case connDropped:
		return 0, io.EOF
	}
	n, err := c.Conn.Read(p)
	if n > 0 && c.state.CompareAndSwap(connFresh, connStarted) {
		c.t.forget(c)
		return n, err
	}
	if c.state.Load() == connDropped {
		// Dropped while this Read waited, perhaps as bytes arrived: the
		// race described above; the request is not served.
		return 0, io.EOF
	}
	return n, err
}

// SetReadDeadline keeps a dropped connection's read deadline in the past:
// fasthttp sets its own before every read, perhaps just after the drop.
// The state is loaded after the inner call, and drop stores its state
// before setting the deadline, so whichever runs second leaves it past.
func (c *trackedConn) SetReadDeadline(t time.Time) error {
	err := c.Conn.SetReadDeadline(t)
	if c.state.Load() == connDropped {
		return c.Conn.SetReadDeadline(aLongTimeAgo)
	}
	return err
}

// SetDeadline is SetReadDeadline's counterpart for both directions.
func (c *trackedConn) SetDeadline(t time.Time) error {
	err := c.Conn.SetDeadline(t)
	if c.state.Load() == connDropped {
		return c.Conn.SetReadDeadline(aLongTimeAgo)
	}
	return err
}

// Close forgets a connection that never started a request.
func (c *trackedConn) Close() error {
	if c.state.Load() != connStarted {
		c.t.forget(c)
	}
	return c.Conn.Close()
}

// trackedTLSConn is a trackedConn over TLS. It has the methods by which
// fasthttp recognizes a TLS connection (RequestCtx.IsTLS, the handshake
// before the first request), delegated to the *tls.Conn.
type trackedTLSConn struct {
	*trackedConn
	tls *tls.Conn
	// peer is the client's certificate chain, kept after the handshake
	// so that each request reads it without copying the connection state
	// (PeerCertificates). fasthttp serves a connection from one goroutine.
	peer    []*x509.Certificate
	peerSet bool
}

// PeerCertificates returns the certificate chain the client presented in
// the handshake (RFC 8705: requested, not verified), or nil.
func (c *trackedTLSConn) PeerCertificates() []*x509.Certificate {
	if !c.peerSet {
		st := c.tls.ConnectionState()
		if !st.HandshakeComplete {
			return nil
		}
		c.peer, c.peerSet = st.PeerCertificates, true
	}
	return c.peer
}

// Handshake runs the server handshake. If the connection is dropped while
// it waits for the client, it reports success: the Read that follows
// returns io.EOF, so fasthttp ends the connection quietly rather than
// logging a handshake error that only the shutdown caused.
func (c *trackedTLSConn) Handshake() error {
	err := c.tls.Handshake()
	if err != nil && c.state.Load() == connDropped {
		return nil
	}
	if err == nil {
		c.peer, c.peerSet = c.tls.ConnectionState().PeerCertificates, true
	}
	return err
}

// ConnectionState returns the TLS connection's state.
func (c *trackedTLSConn) ConnectionState() tls.ConnectionState { return c.tls.ConnectionState() }

// trackingListener wraps every accepted connection: in TLS when conf is
// set, then in a trackedConn registered with t.
type trackingListener struct {
	net.Listener
	t    *connTracker
	conf *tls.Config
}

func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	// fasthttp's TCPKeepalive cannot reach the TCP connection through the
	// wrappers, so keep-alive probes are enabled here (Go's listeners
	// enable them by default too).
	if kc, ok := c.(interface{ SetKeepAlive(bool) error }); ok {
		_ = kc.SetKeepAlive(true)
	}
	if l.conf == nil {
		tc := &trackedConn{Conn: c, t: l.t}
		l.t.add(tc)
		return tc, nil
	}
	sc := tls.Server(c, l.conf)
	tc := &trackedConn{Conn: sc, t: l.t}
	l.t.add(tc)
	return &trackedTLSConn{trackedConn: tc, tls: sc}, nil
}
