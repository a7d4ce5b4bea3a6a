#!/usr/bin/env bash
# Enforces the one-way dependency rules of SPEC §2.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
fail=0
check() { # package, forbidden-regexp, reason
  local bad
  bad=$($GO list -deps "$1" 2>/dev/null | grep -E "$2" || true)
  if [ -n "$bad" ]; then echo "depcheck: $1 must not depend on: $bad ($3)"; fail=1; fi
}
for p in ./pkg/keys ./pkg/crypttoken; do
  check "$p" 'valyala/fasthttp|rs/zerolog|^net/http$' "resource servers import it"
done
# The JOSE building blocks a resource server imports need only the standard
# library, go-jose and golang.org/x/crypto (and x/sys, which x/crypto uses) (SPEC §2).
only_std_jose_xcrypto() { # package
  local bad
  bad=$($GO list -deps "$1" 2>/dev/null | grep -E '^[^/]+\.[^/]+/' |
    grep -vE '^(github\.com/go-jose/go-jose/v4|golang\.org/x/(crypto|sys)|github\.com/sealedtoken/issuer)(/|$)' || true)
  if [ -n "$bad" ]; then echo "depcheck: $1 must depend only on the standard library, go-jose and x/crypto: $bad"; fail=1; fi
}
for p in ./pkg/jws ./pkg/statuslist ./pkg/dpop ./pkg/certbind; do
  if ! $GO list "$p" >/dev/null 2>&1; then echo "depcheck: $p does not build"; fail=1; continue; fi
  check "$p" 'valyala/fasthttp|rs/zerolog|^net/http$' "resource servers import it"
  only_std_jose_xcrypto "$p"
done
# The resource server's network client (SPEC §9): net/http is its job, but
# no HTTP framework, no logger, and nothing beyond the standard library,
# go-jose and x/crypto.
check ./pkg/crypttoken/remote 'valyala/fasthttp|rs/zerolog' "resource servers import it"
only_std_jose_xcrypto ./pkg/crypttoken/remote
# The middlewares' shared logic (bearer tokens, DPoP and certificate
# binding) adapts to no framework: each middleware adapts to it.
check ./pkg/crypttoken/internal/bearer 'valyala/fasthttp|rs/zerolog|^net/http$' "shared by httpmw and fasthttpmw"
# Small parsers that resource-server packages import: the standard library
# only (jsonscan: pkg/crypttoken and the JOSE packages; authheader: the
# middlewares' bearer package and pkg/endpoint).
for p in ./internal/jsonscan ./internal/authheader; do
  bad=$($GO list -deps "$p" 2>/dev/null | grep -E '^[^/]+\.[^/]+/' | grep -v '^github\.com/sealedtoken/issuer/' || true)
  if [ -n "$bad" ]; then echo "depcheck: $p must depend only on the standard library: $bad"; fail=1; fi
  check "$p" '^net/http$' "resource servers import it"
done
check ./internal/jwksfetch 'valyala/fasthttp|rs/zerolog' "a library of the issuer, no HTTP framework or logger"
check ./pkg/endpoint 'valyala/fasthttp|rs/zerolog|^net/http$' "framework-agnostic core"
check ./pkg/store 'valyala/fasthttp|rs/zerolog|redis/go-redis' "interface only"
check ./pkg/store/file 'valyala/fasthttp|rs/zerolog|^net/http$|redis/go-redis' "embedded store: bbolt and the standard library"
for p in $($GO list ./pkg/...); do
  check "$p" 'sealedtoken/issuer/(cmd|internal/(cli|server|login|config))' "pkg/ never imports cmd/ or the service's internals"
  check "$p" 'prometheus/client_golang' "metrics are the service's concern (internal/server); pkg/ returns errors and results"
done
[ $fail -eq 0 ] && echo "depcheck: ok"
exit $fail
