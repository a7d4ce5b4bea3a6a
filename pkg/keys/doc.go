// Package keys holds the key rings of the issuer (SPEC §4): the symmetric
// rings that seal and open its tokens, and the signing ring whose
// asymmetric keys sign ID tokens, Status List Tokens, key deliveries and
// signed access tokens. It covers their lifecycle, staged rotation, storage
// (ring files, or any Storage such as Redis), export as JWK Sets, and
// reloading while serving.
//
// It imports go-jose (for its JWK, JWE and strict JSON types),
// golang.org/x/crypto/cryptobyte and the standard library, nothing else, and
// never logs: resource servers import it through pkg/crypttoken.
//
// # Keys, sets and rings
//
// A Key is a 256-bit key with a kid, an algorithm (A256KW by default, or
// dir, RFC 7518 §4.4 and §4.5) — or, in the signing ring, an asymmetric key
// (see "Signing ring") — and four lifecycle times:
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
// # Signing ring
//
// The ring named SigningRing holds signing keys: ES256 (ECDSA P-256,
// RFC 7518 §3.4, the default), EdDSA (Ed25519, RFC 8037 §3.1) or RS256
// (RSASSA-PKCS1-v1_5 with RSABits-bit keys, RFC 7518 §3.3), chosen by
// Policy.Alg. They are Keys like the others, with the same lifecycle,
// Plan, Rotate, ring files, KEK wrapping, Manager and Reloader — the
// lifecycle reads "signs" where it reads "seals", and "verifies" where it
// reads "opens": exactly one active key signs (Set.Sealing), every key that
// has not expired verifies (Set.Opening), a new key is pending, published
// and not signing, for Propagation. A set holds symmetric keys or signing
// keys, never both (ErrKeyKind), and a Manager refuses a ring of the other
// kind than its policy makes; crypttoken refuses to seal with a signing
// ring.
//
// A signing key is made by Generate, NewSigningKey (from a private key) or
// NewVerifyingKey (a public key only, which cannot sign). Its JWS side is
// the method set that pkg/jws accepts:
//
//	KeyID() string                      // the JWS "kid"
//	Algorithm() string                  // "ES256", "EdDSA", "RS256"
//	Sign(signingInput []byte) ([]byte, error)
//	Public() crypto.PublicKey
//
// Sign returns the JWS Signature octets of RFC 7518 §3.4 (ES256: R || S, 64
// octets, not ASN.1), RFC 8037 §3.1 and RFC 7518 §3.3; a symmetric or
// public-only key returns ErrCannotSign. Signatures verify with the
// standard library's verifiers and with go-jose, which the tests use.
//
// ExportJWKS of a signing set is the public JWK Set served at the issuer's
// jwks_uri: each key with use "sig", alg and kid, from the moment it is
// written (pending) until it expires, and never a private member.
// expires = retires + Policy.MaxTokenTTL, which for the signing ring is the
// longest lifetime of anything it may have signed (the issuer uses
// max(access_ttl, the Status List Token and key delivery lifetime bounds)
// plus leeway), so every signature verifies until it has expired itself.
// ParsePublicJWKS reads such a set back into verify-only keys, skipping
// keys of other types or uses as RFC 7517 §5 asks and refusing any private
// member. In a ring file a signing key is stored as its private JWK ("EC",
// "OKP" or "RSA", RFC 7518 §6.2, §6.3, RFC 8037 §2), wrapped by the KEK
// like any other.
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
// "enc", alg A256KW or dir, with a 256-bit k whose kid is the entry's — or,
// for a signing key, not a private key of the kty and crv its alg needs
// (ES256: EC P-256, EdDSA: OKP Ed25519, RS256: RSA of MinRSABits to
// MaxRSABits bits) with use "sig", or whose public members do not match its
// private ones; symmetric and signing keys in one file; lifecycle times
// that are not RFC 3339 or out of order. Error messages never contain key
// material.
//
// WriteFile writes atomically: a temporary file in the same directory
// (created with mode 0600), write, fsync, chmod 0600, close, rename over the
// ring file, fsync of the directory. A failure or crash at any step leaves
// the previous file whole; readers see the old file or the new one. A crash
// may leave a ".<name>.tmp-*" file, which is never read and may be deleted.
//
// A Manager (NewManager) keeps every ring of the issuer in one directory,
// in the file FileName(ring): a slug of the name plus 12 hex digits of its
// SHA-256, so that audience URLs map to safe, distinct, stable file names.
// The issuer-internal ring is named InternalRing and is never exported;
// the signing ring is named SigningRing and only its public keys are.
//
// # Storage
//
// Where a Manager keeps its rings is a Storage: one document per ring (the
// bytes Marshal writes) with a Revision. Read(name, since) returns the
// document unless its revision is still since, so that polling an
// unchanged ring is cheap; Write(name, data, prev) stores a document only
// if the ring is still at revision prev ("" for a create), else it fails
// with ErrConflict (ErrExist for a create): a compare-and-set, so a writer
// that planned from an older ring never overwrites a newer one. DirStorage
// is the directory of ring files (revision: the content's SHA-256; the
// check runs just before the atomic rename). The issuer's Redis storage
// lives in pkg/store/redis (RingStorage: a hash per ring with a version
// counter, compare-and-set in one Lua script), since this package imports
// no Redis client. NewManagerWithStorage builds a Manager on any Storage;
// a document that fails to parse is refused and the ring keeps its last
// good set, whatever the storage. A Storage that may lose a ring while
// processes hold it (Redis without persistence) is a Restorer: the Manager
// that Ticks writes a lost ring back from memory, create-only. A directory
// is not: a vanished ring file is reported, never recreated.
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
// Issuer replicas share the rings' storage: the key directory, or Redis.
// One replica, holding a lease kept elsewhere, runs Manager.Run (Tick); the
// others run Manager.Follow. Tick re-reads rings changed by another process
// before planning, writes a ring only when Plan changed it, with a
// compare-and-set on the revision it read, and uses a new key only once
// the ring is written: the storage is the source of truth. A replica that
// lost the lease while planning gets ErrConflict and adopts the newer ring
// at its next Tick. A ring that cannot be read or parsed is never
// overwritten. Manager.Init creates missing rings create-only, so replicas
// starting together share one ring.
package keys
