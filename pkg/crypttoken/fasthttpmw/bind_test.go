package fasthttpmw_test

import (
	"crypto/tls"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/sealedtoken/issuer/pkg/crypttoken"
	"github.com/sealedtoken/issuer/pkg/crypttoken/fasthttpmw"
	"github.com/sealedtoken/issuer/pkg/crypttoken/internal/bearer/bindtest"
)

// TestSenderConstrainedTokens runs the shared table of RFC 9449 §7,
// RFC 8705 §3 and RFC 9440 rows (bindtest) against a fasthttp server over
// TLS protected by Require.
func TestSenderConstrainedTokens(t *testing.T) {
	bindtest.Run(t, func(t *testing.T, o *crypttoken.Opener, conf *tls.Config, opts bindtest.Options) string {
		var mw []fasthttpmw.Option
		if opts.TrustLoopback {
			mw = append(mw, fasthttpmw.WithTrustedProxies(bindtest.TrustedLoopback))
		}
		if opts.Replay != nil {
			mw = append(mw, fasthttpmw.WithDPoPReplayCache(opts.Replay))
		}
		if opts.Nonces != nil {
			mw = append(mw, fasthttpmw.WithDPoPNonces(opts.Nonces))
		}
		protected := fasthttpmw.Require(o, mw...)(func(ctx *fasthttp.RequestCtx) {
			c, _ := fasthttpmw.FromRequest(ctx)
			ctx.SetBodyString(c.Subject)
		})
		srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
			if string(ctx.Path()) == bindtest.Path {
				protected(ctx)
				return
			}
			ctx.SetStatusCode(404)
		}}
		ln := bindtest.Listen(t)
		go func() { _ = srv.Serve(tls.NewListener(ln, conf)) }()
		t.Cleanup(func() { _ = srv.Shutdown() })
		return ln.Addr().String()
	})
}
