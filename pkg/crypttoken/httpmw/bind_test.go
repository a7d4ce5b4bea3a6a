package httpmw_test

import (
	"crypto/tls"
	"net/http"
	"testing"
	"time"

	"github.com/sealedtoken/issuer/pkg/crypttoken"
	"github.com/sealedtoken/issuer/pkg/crypttoken/httpmw"
	"github.com/sealedtoken/issuer/pkg/crypttoken/internal/bearer/bindtest"
)

// TestSenderConstrainedTokens runs the shared table of RFC 9449 §7,
// RFC 8705 §3 and RFC 9440 rows (bindtest) against a net/http server over
// TLS protected by Require.
func TestSenderConstrainedTokens(t *testing.T) {
	bindtest.Run(t, func(t *testing.T, o *crypttoken.Opener, conf *tls.Config, opts bindtest.Options) string {
		var mw []httpmw.Option
		if opts.TrustLoopback {
			mw = append(mw, httpmw.WithTrustedProxies(bindtest.TrustedLoopback))
		}
		if opts.Replay != nil {
			mw = append(mw, httpmw.WithDPoPReplayCache(opts.Replay))
		}
		if opts.Nonces != nil {
			mw = append(mw, httpmw.WithDPoPNonces(opts.Nonces))
		}
		mux := http.NewServeMux()
		mux.Handle(bindtest.Path, httpmw.Require(o, mw...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, _ := httpmw.FromContext(r.Context())
			_, _ = w.Write([]byte(c.Subject))
		})))
		srv := &http.Server{Handler: mux, TLSConfig: conf, ReadHeaderTimeout: 5 * time.Second}
		ln := bindtest.Listen(t)
		go func() { _ = srv.ServeTLS(ln, "", "") }()
		t.Cleanup(func() { _ = srv.Close() })
		return ln.Addr().String()
	})
}
