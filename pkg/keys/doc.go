// Package keys holds the symmetric key rings that seal and open the
// issuer's tokens (SPEC §4): their lifecycle, staged rotation, storage in
// ring files, export as JWK Sets, and reloading while serving.
//
// It imports go-jose (for its JWK, JWE and strict JSON types) and the
// standard library, nothing else, and never logs: resource servers import it
// through pkg/crypttoken.
//
// # Keys, sets and rings
//
// A Key is a 256-bit key with a kid, an algorithm (A256KW by default, or
// dir, RFC 7518 §4.4 and §4.5) and four lifecycle times:
//
//	created <= activates < retires <= expires
//
// which give its State at any instant:
//
//	pending  [created, activates)  published, opens, does not seal yet
//	active   [activates, retires)  seals and opens
//	retired  [retires, expires)    opens tokens it sealed, seals nothing
//	expired  [expires, ...)        neither; rotation removes it
//
// expires is retires plus the longest lifetime of a token the ring seals, so
// every token sealed by a key opens until it expires itself.
//
// A Set is an immutable snapshot of one ring. Set.Sealing(now) returns the
// one active key (the latest activated, should hand edits make several
// active), Set.Opening(kid, now) looks a key up by kid in a map and answers
// only while it has not expired. A Ring holds the current Set of a ring and
// swaps it atomically, the way crypto/tls.Config.SetSessionTicketKeys does:
// sealers and openers call Ring.Load on every operation, never lock, and
// never see a partial set. Sets, Rings and Keys are safe for concurrent use.
// A Key is immutable except for its seal counter (CountSeal), which Merge
// and Plan carry over to every later Key value of the same material, so the
// usage bound of dir keys survives reloads and rotations.
//
// # Rotation timeline
//
// Plan applies a Policy (RotateEvery, Propagation, MaxTokenTTL) to a set at
// an instant. With R the active key's retirement and P the propagation:
//
//	time ───────────────────────────────────────────────────────────────────>
//	                    R-2P         R                     R+TTL
//	key n    ══ active ══════════════╡── retired (opens) ───╡ removed
//	key n+1                  ├─ pending (published) ──┤══ active ═══════ ...
//	                    written at a Tick in [R-2P, R-P]   activates at R
//	                         <──────── >= P ─────────>
//
// The successor is written when the active key enters the last 2×P of its
// life, activates exactly when its predecessor retires (so one key is active
// at every instant) and seals for RotateEvery. A Tick interval shorter than
// P therefore leaves every successor pending for at least P. If Plan runs
// too late (the issuer was down), the active key's retirement is postponed
// so that the successor still gets its full P: a key never seals before it
// has been published for P. A dir key that reaches RotateAt seals is
// replaced early: its successor activates P from now and it retires then.
// Rotate forces a rotation at once (`issuer keys rotate`): the pending keys,
// which have sealed nothing, are dropped, a new key activates after P, and
// the active key retires then. Only expired keys are ever pruned.
//
// Propagation must exceed the time any resource server can take to learn a
// new key: its Reloader poll interval, plus the delay of whatever copies the
// ring file or the exported JWK Set to it, plus the issuer's Tick interval.
// A token sealed with a key that a resource server has not loaded fails
// there.
//
// # Ring file
//
// A ring is stored as one JSON file (FormatVersion 1), the keys as go-jose
// JSONWebKey values ("oct", RFC 7517 §4, RFC 7518 §6.4) plus their lifecycle
// times in RFC 3339, UTC:
//
//	{
//	  "version": 1,
//	  "ring": "https://api.example.com",
//	  "keys": [
//	    {
//	      "kid": "Zk3…",
//	      "jwk": {"use": "enc", "kty": "oct", "kid": "Zk3…", "alg": "A256KW", "k": "…"},
//	      "created": "2026-03-01T11:00:00Z",
//	      "activates": "2026-03-01T12:00:00Z",
//	      "retires": "2026-03-02T12:00:00Z",
//	      "expires": "2026-03-02T12:10:00Z"
//	    }
//	  ]
//	}
//
// Parse checks everything and refuses, with a *ParseError naming the key
// (index and kid) and the member at fault, any of: JSON that is malformed,
// truncated, followed by anything but white space, or has duplicate or
// unknown members (names match case-sensitively, as in JOSE); an unknown
// version; another ring name than expected; a kid that is not 1 to 128
// printable ASCII characters or repeats; a JWK that is not kty "oct", use
// "enc", alg A256KW or dir, with a 256-bit k whose kid is the entry's;
// lifecycle times that are not RFC 3339 or out of order. Error messages
// never contain key material.
//
// WriteFile writes atomically: a temporary file in the same directory
// (created with mode 0600), write, fsync, chmod 0600, close, rename over the
// ring file, fsync of the directory. A failure or crash at any step leaves
// the previous file whole; readers see the old file or the new one. A crash
// may leave a ".<name>.tmp-*" file, which is never read and may be deleted.
//
// A Manager keeps every ring of the issuer in one directory, in the file
// FileName(ring): a slug of the name plus 12 hex digits of its SHA-256, so
// that audience URLs map to safe, distinct, stable file names. The
// issuer-internal ring is named InternalRing and is never exported.
//
// # Key-encryption key
//
// With WithKEK (for instance from KEKFromEnv("ISSUER_KEK"), or ParseKEK of
// a value the program looked up itself; 32 random bytes in base64 as
// `openssl rand -base64 32` prints them) each key is stored
// wrapped as RFC 7517 §7 describes: the entry's "jwk" is replaced by "jwe",
// a compact JWE (alg A256KW, enc A256GCM, cty "jwk+json") of the JWK, and
// the file gains "kek", an identifier of the KEK (72 bits of a
// domain-separated SHA-256; it reveals nothing of the KEK). The JWE's
// protected header, which AES-GCM authenticates, names the ring and the kid
// ("ring", "ring_kid"), so an entry moved to another ring or kid fails to
// unwrap. Reading a wrapped file without a KEK fails with ErrKEKRequired,
// with another KEK with ErrWrongKEK, a tampered entry with ErrUnwrap, and a
// file in clear where a KEK is given with ErrNotWrapped. The lifecycle times
// stay in clear and are not authenticated: whoever can write the file can
// also delete it. Any JOSE library holding the KEK can unwrap an entry.
//
// # Export and reload
//
// ExportJWKS writes the keys of a ring that open at an instant as a plain
// RFC 7517 JWK Set, the file a resource server that is not given the ring
// file loads (ParseJWKS). Lifecycle times are not exported: ParseJWKS gives
// every key a lifecycle in which it opens at any time and never seals (see
// ParseJWKS). Decode accepts either a ring file or a JWK Set.
//
// A Reloader keeps a resource server's Ring current with its file by
// polling: inode, size and modification time decide whether to read, the
// SHA-256 of the content whether it changed. A new set is merged with the
// current one (Merge) and swapped in; a file that fails to load is reported
// to WithOnError's function and the last good set stays. Manager.Reload and
// Manager.Follow do the same for issuer replicas that do not rotate.
//
// # Replicas
//
// Issuer replicas share the key directory. One replica, holding a lease
// kept elsewhere, runs Manager.Run (Tick); the others run Manager.Follow.
// Tick re-reads files changed by another process before planning, writes a
// ring only when Plan changed it, and uses a new key only once its file is
// written: the disk is the source of truth. A ring file that cannot be read
// or parsed is never overwritten. Manager.Init creates missing ring files
// create-only, so replicas starting together share one ring.
package keys
