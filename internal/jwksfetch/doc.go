// Package jwksfetch fetches and caches remote JWK Sets for the issuer: the
// jwks_uri of clients that authenticate with private_key_jwt (RFC 7523,
// SPEC §10) and of trusted issuers of JWT bearer assertions (SPEC §12).
//
// A jwks_uri is a URL that a client registers, so fetching it is a
// server-side request an outsider can point anywhere. A Fetcher therefore:
//
//   - fetches https URLs only, without user information, and follows at
//     most a few redirects, and only to the same scheme, host and port;
//   - refuses to connect to loopback, private, link-local, multicast and
//     other non-public addresses, checked on the address actually dialled
//     (after DNS resolution, so DNS rebinding does not get around it), and
//     uses no proxy from the environment; WithAllowPrivate lifts this for
//     tests and closed networks;
//   - bounds each fetch in time (WithTimeout) and size (WithMaxBytes), and
//     reads the set strictly (jws.ParseKeySet: public keys only);
//   - caches each set for its Cache-Control max-age, clamped to
//     WithCacheBounds, revalidating with If-None-Match when it can, in a
//     cache bounded in entries (WithMaxEntries, least recently used out);
//   - on a kid it does not know, refetches at most once per
//     WithRefetchInterval per URL, so unknown kids cannot make it hammer a
//     server (or be made into a traffic amplifier);
//   - keeps the last good set when a refetch fails, and retries no sooner
//     than the refetch interval;
//   - fetches each URL once however many callers ask at the same time.
//
// Every method that may fetch takes a context first and honours its
// cancellation. A Fetcher is safe for concurrent use and starts no
// goroutine that outlives a call.
package jwksfetch
