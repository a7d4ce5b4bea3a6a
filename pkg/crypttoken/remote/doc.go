// Package remote is the resource server's network client of SPEC §9: given
// only the issuer's URL, its own id and its private key, a resource server
// gets its audiences' keys and the issuer's revocations over the network,
// in the background, and checks every token locally.
//
//	key, _ := os.ReadFile("/etc/orders-api/rs-key.json") // printed by `issuer rs new`
//	rs, err := remote.New(ctx, "https://issuer.example.com", "orders-api", key,
//		remote.WithCacheFile("/var/lib/orders-api/issuer-cache.json"))
//	...
//	defer rs.Close()
//	opener, err := rs.Opener("https://orders.example.com")
//	http.Handle("/orders", httpmw.Require(opener)(orders))
//
// # What it fetches
//
// New reads the issuer's metadata (RFC 8414 §3, the issuer's path after the
// well-known one) and checks its "issuer" is the URL given (§3.3). Then:
//
//   - jwks_uri: the issuer's public signing keys (RFC 7517), which verify
//     everything else;
//   - resource_keys_endpoint?resource_server=<id>: the key delivery, a
//     nested JWT signed by the issuer and encrypted to the resource
//     server's registered key (keys.OpenDelivery: ECDH-ES+A256KW, A256GCM,
//     typ rs-keys+jwt, "iss" the issuer, "sub" this id, not expired),
//     carrying the keys of each audience registered for this resource
//     server with their lifecycle, and which audiences are signed;
//   - status_list_aggregation_endpoint: the Status List Tokens the issuer
//     publishes (draft-ietf-oauth-status-list §9.3), each fetched from its
//     URI and verified (statuslist.Verifier: typ statuslist+jwt, "sub" the
//     URI, the issuer's signature, not expired).
//
// A delivery or list that is validly signed but older ("iat") than the
// copy held is refused too (ErrRollback): a stale CDN copy or a replay
// would forget keys or revocations.
//
// # Keeping current
//
// One goroutine polls: the metadata, keys, delivery and aggregation every
// WithPollInterval (1 min by default, jittered by ±10%; sooner when the
// issuer serves its keys with a shorter Cache-Control max-age, which it
// derives from its key propagation time, but at most once a second), each
// status list
// as its "ttl" says (draft §13.7; at least every poll interval, jittered
// earlier only, so a revocation is seen within ttl plus one fetch). Every
// request is conditional (If-None-Match) once an ETag is known. After a
// failure the wait doubles from 1 s up to WithMaxBackoff. A token signed
// by a signing key not yet known brings the keys poll forward (at most
// once a second).
//
// Whatever fails — the network, a document refused as tampered, expired,
// misaddressed or replayed, each with its typed error — is told to the
// WithOnError function, and the last good state is kept: the keys held
// keep opening tokens, the lists held keep refusing revoked ones.
//
// The Openers (Client.Opener) hold the audiences' keys.Rings, which the
// Client swaps as deliveries arrive: a rotation needs no new Opener.
//
// # Status checks on the request path
//
// A Client is the crypttoken.StatusSource of its Openers. Opening a token
// costs a map lookup by its list's URI and a bit test on an atomically
// swapped snapshot; no lock, no allocation, never a network call. A token
// naming a list the Client does not hold (a list an issuer replica started
// since the last poll) asks the background goroutine to fetch it, once
// however many such tokens arrive, and is refused with
// crypttoken.ErrStatusUnknown meanwhile (WithStatusPolicy can accept it
// instead); the middlewares answer that with 503 and Retry-After: 1. A
// token without a status (issued while the issuer's store was unreachable)
// is accepted unless the policy says RequireStatus. A
// token can name any URI, since every holder of the audience key can seal
// one, so only lists of the issuer's origin (or of its aggregation
// endpoint's, or listed by it) over https are ever fetched, and a list that
// failed is not fetched again for 30 s.
//
// # Signed access tokens
//
// When the delivery says an audience is signed (audiences[].sign at the
// issuer), its Opener requires the issuer's signature on every token
// (crypttoken.WithSignedTokensIf, against the jwks_uri keys), so that
// another resource server holding the audience key cannot forge tokens
// this one accepts. The requirement follows the delivery as the issuer's
// configuration changes.
//
// # Cache file
//
// With WithCacheFile the Client keeps the last good copy of every document
// in one file, mode 0600, replaced atomically (temporary file, fsync,
// rename, fsync of the directory), and starts from it: a resource server
// restarted while the issuer is down still verifies tokens and refuses
// revoked ones. The file holds only what the issuer published plus the key
// delivery as received, still encrypted to the resource server's key; on
// load every document is verified again as of when it was fetched, and a
// file that fails, or that group or others may write, is refused
// (ErrCache). Keys in it still expire at their own times.
//
// When the issuer stays unreachable, the lists held are kept however old
// they get, and revocations made meanwhile are not seen: availability over
// freshness. Health tells when the keys and lists were last confirmed, for
// a readiness check that prefers to fail.
//
// # Concurrency and lifetime
//
// A Client is safe for concurrent use. Its background goroutine runs until
// Close is called or the context given to New is cancelled; Close waits
// for it and closes the idle connections of the Client's own HTTP client.
// Openers keep working after Close with the last state.
//
// This package uses net/http and the standard library, pkg/keys,
// pkg/jws, pkg/statuslist and pkg/crypttoken, and never fasthttp or
// zerolog (scripts/depcheck.sh). It never logs.
package remote
