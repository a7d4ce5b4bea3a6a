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
check ./pkg/endpoint 'valyala/fasthttp|rs/zerolog|^net/http$' "framework-agnostic core"
check ./pkg/store 'valyala/fasthttp|rs/zerolog|redis/go-redis' "interface only"
check ./pkg/store/file 'valyala/fasthttp|rs/zerolog|^net/http$|redis/go-redis' "embedded store: bbolt and the standard library"
for p in $($GO list ./pkg/...); do
  check "$p" 'sealedtoken/issuer/(cmd|internal/(cli|server|login|metrics|config))' "pkg/ never imports cmd/ or the service's internals"
done
[ $fail -eq 0 ] && echo "depcheck: ok"
exit $fail
