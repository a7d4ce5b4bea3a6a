package server

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"
)

// Limits bound what one request or one peer may cost.
type Limits struct {
	// MaxBodyBytes is the largest request body; larger ones are answered
	// 413. Default 64 KiB.
	MaxBodyBytes int
	// ReadTimeout bounds reading a whole request, WriteTimeout writing a
	// response, IdleTimeout a keep-alive connection's wait for its next
	// request. Defaults 10 s, 10 s, 2 min.
	ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	// MaxConnsPerIP caps concurrent connections from one address; 0 means
	// no cap.
	MaxConnsPerIP int
	// Concurrency caps the connections served at once; 0 means fasthttp's
	// default (256 Ki).
	Concurrency int
}

func (l Limits) withDefaults() Limits {
	if l.MaxBodyBytes <= 0 {
		l.MaxBodyBytes = 64 << 10
	}
	if l.ReadTimeout <= 0 {
		l.ReadTimeout = 10 * time.Second
	}
	if l.WriteTimeout <= 0 {
		l.WriteTimeout = 10 * time.Second
	}
	if l.IdleTimeout <= 0 {
		l.IdleTimeout = 2 * time.Minute
	}
	return l
}

// TLSConfig returns the server TLS configuration: TLS 1.2 and 1.3 only,
// with forward-secret AEAD cipher suites for TLS 1.2 (TLS 1.3 suites are
// not configurable and all modern), X25519 (with its post-quantum hybrid)
// and P-256 key exchange, and HTTP/1.1 as the only ALPN protocol. cert is
// the server certificate.
func TLSConfig(cert tls.Certificate) *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{cert},
		CurvePreferences: []tls.CurveID{
			tls.X25519MLKEM768, tls.X25519, tls.CurveP256,
		},
		CipherSuites: []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
			tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		},
		NextProtos: []string{"http/1.1"},
	}
}

// Server is the fasthttp server of the issuer: a handler served under
// Limits, over TLS when configured, with graceful shutdown. A Server
// serves once: after Shutdown it refuses every connection.
type Server struct {
	fs           *fasthttp.Server
	tls          *tls.Config
	log          zerolog.Logger
	conns        *connTracker
	writeTimeout time.Duration
}

// NewServer returns a Server running handler. tlsConf nil serves plain
// HTTP, for deployments behind a TLS-terminating proxy (the endpoints then
// require X-Forwarded-Proto: https from a trusted proxy).
func NewServer(handler fasthttp.RequestHandler, l Limits, tlsConf *tls.Config, log zerolog.Logger) *Server {
	l = l.withDefaults()
	s := &Server{tls: tlsConf, log: log, conns: newConnTracker(), writeTimeout: l.WriteTimeout}
	s.fs = &fasthttp.Server{
		Handler:                      handler,
		ErrorHandler:                 s.parseError,
		Name:                         "issuer",
		Concurrency:                  l.Concurrency,
		ReadTimeout:                  l.ReadTimeout,
		WriteTimeout:                 l.WriteTimeout,
		IdleTimeout:                  l.IdleTimeout,
		MaxConnsPerIP:                l.MaxConnsPerIP,
		MaxRequestBodySize:           l.MaxBodyBytes,
		DisablePreParseMultipartForm: true,
		NoDefaultContentType:         true,
		SecureErrorLogMessage:        true,
		CloseOnShutdown:              true,
		// TCP keep-alive probes are enabled by Serve's listener wrapper
		// (see conns.go); fasthttp's TCPKeepalive cannot reach the TCP
		// connection through it.
		Logger:                        fasthttpLogger{log},
		ReadBufferSize:                8 << 10,
		DisableHeaderNamesNormalizing: false,
	}
	return s
}

// Serve accepts connections on ln until Shutdown, wrapping them in TLS if
// the Server has a TLS configuration. It returns nil after Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	var conf *tls.Config
	if s.tls != nil {
		conf = s.tls.Clone()
	}
	return s.fs.Serve(&trackingListener{Listener: ln, t: s.conns, conf: conf})
}

// Shutdown stops accepting connections and waits until every in-flight
// request has been answered or ctx ends. A request is in flight from its
// first byte: connections that have sent none (a bare TCP connection, a
// TLS handshake done or midway, a load balancer's spare) are closed at
// once without an answer, idle keep-alive connections too, and busy ones
// after their current response, which carries Connection: close. It
// returns ctx's error if requests were still running when ctx ended.
func (s *Server) Shutdown(ctx context.Context) error {
	if n := s.conns.drain(); n > 0 {
		s.log.Debug().Int("connections", n).Msg("shutdown: closed connections that had sent no request")
	}
	return s.fs.ShutdownWithContext(ctx)
}

// OpenConnections returns the number of connections being served.
func (s *Server) OpenConnections() int32 { return s.fs.GetOpenConnectionsCount() }

// parseError answers a request fasthttp could not read: too large, too
// slow, or malformed. The body names the problem class only; nothing of
// the request is echoed, and the log line is fixed text.
//
// It first gives the answer a write deadline of its own. fasthttp sets one
// only before the TLS handshake and before each handled request's
// response, not before this answer, so when a request stalled past the
// handshake's deadline (read_timeout is as long as write_timeout by
// default) the answer's write failed at once. Over TLS that was worse than
// a lost answer: the failed record had taken a sequence number, so the
// close_notify sent next failed the peer's integrity check
// (bad_record_mac) instead of closing cleanly.
func (s *Server) parseError(ctx *fasthttp.RequestCtx, err error) {
	if c := ctx.Conn(); c != nil && s.writeTimeout > 0 {
		_ = c.SetWriteDeadline(time.Now().Add(s.writeTimeout))
	}
	var small *fasthttp.ErrSmallBuffer
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		writeJSON(ctx, 413, `{"error":"invalid_request","error_description":"request body too large"}`)
	case errors.As(err, &small):
		writeJSON(ctx, 431, `{"error":"invalid_request","error_description":"request header too large"}`)
	case isTimeout(err):
		writeJSON(ctx, 408, `{"error":"invalid_request","error_description":"request timed out"}`)
	default:
		writeJSON(ctx, 400, `{"error":"invalid_request","error_description":"malformed HTTP request"}`)
	}
	ctx.SetConnectionClose()
	var addr [48]byte
	s.log.Info().Str("endpoint", "unreadable").Int("status", ctx.Response.StatusCode()).
		Bytes("remote", remoteAddr(ctx).AppendTo(addr[:0])).Msg("request")
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// fasthttpLogger sends fasthttp's own messages (a connection it could not
// serve, accept errors, connection limits) to the log at warn level, as
// fixed text: the format string with every argument left out. The
// arguments of "error when serving connection" quote the request bytes of
// a parse error (an Authorization header with a NUL, a header line without
// a colon, a request line without a version and its query) whatever
// SecureErrorLogMessage says; the format strings are constants of fasthttp
// and hold none.
type fasthttpLogger struct{ log zerolog.Logger }

func (l fasthttpLogger) Printf(format string, _ ...any) {
	l.log.Warn().Str("component", "fasthttp").Msg(withoutArgs(format))
}

// withoutArgs replaces each formatting verb of format by "…".
func withoutArgs(format string) string {
	var b strings.Builder
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		if i+1 < len(format) && format[i+1] == '%' {
			b.WriteByte('%')
			i++
			continue
		}
		// Skip flags, width, precision and the verb letter.
		for i++; i < len(format) && !isVerb(format[i]); i++ {
		}
		b.WriteString("…")
	}
	return b.String()
}

func isVerb(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
