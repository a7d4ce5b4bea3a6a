package remote

import "errors"

// Errors of New, Opener and what the Client reports to WithOnError, matched
// with errors.Is. A refused key delivery also matches the pkg/keys sentinel
// of the failure (keys.ErrDelivery and keys.ErrDeliverySignature,
// keys.ErrDeliveryRecipient, keys.ErrDeliveryExpired, ...); a refused
// status list the pkg/statuslist or pkg/jws one (statuslist.ErrSubject,
// jws.ErrSignature, jws.ErrType, jws.ErrExpired, ...). Errors never hold
// key material or tokens.
var (
	// ErrConfig means New or an option was given an invalid argument.
	ErrConfig = errors.New("remote: invalid configuration")
	// ErrFetch means a document could not be fetched: a network failure, a
	// timeout, an HTTP status other than 200 (or 304 to a conditional
	// request), a body larger than its bound, or a URL that is not https.
	ErrFetch = errors.New("remote: fetch failed")
	// ErrNotFound means the issuer answered 404: at the key delivery
	// endpoint, that it does not know this resource server's id. It also
	// matches ErrFetch.
	ErrNotFound error = &notFound{}
	// ErrMetadata means the issuer's RFC 8414 metadata is not usable: not
	// JSON, an "issuer" other than the URL it was fetched for (RFC 8414
	// §3.3), or an endpoint that is missing or not an absolute https URL.
	ErrMetadata = errors.New("remote: invalid issuer metadata")
	// ErrIssuerKeys means the JWK Set at the issuer's jwks_uri does not
	// parse (see jws.ParseKeySet).
	ErrIssuerKeys = errors.New("remote: invalid issuer signing keys")
	// ErrDelivery means a key delivery was refused; it wraps the pkg/keys
	// error that says why.
	ErrDelivery = errors.New("remote: key delivery refused")
	// ErrStatusList means a Status List Token or the aggregation document
	// was refused; it wraps the pkg/statuslist or pkg/jws error that says
	// why.
	ErrStatusList = errors.New("remote: status list refused")
	// ErrRollback means a document was validly signed but older ("iat")
	// than the copy already held, by more than the leeway (replicas' clocks
	// differ a little): a stale cache or a replay, which would forget keys
	// or revocations. The copy held is kept.
	ErrRollback = errors.New("remote: older than the copy held")
	// ErrCache means the cache file could not be read, parsed, verified
	// or written; a cache that cannot be used is ignored.
	ErrCache = errors.New("remote: unusable cache file")
	// ErrAudience means Opener was asked for an audience whose keys the
	// issuer does not deliver to this resource server.
	ErrAudience = errors.New("remote: audience not delivered to this resource server")
	// ErrClosed means the Client was closed.
	ErrClosed = errors.New("remote: client closed")
)

// notFound is ErrNotFound, which also matches ErrFetch.
type notFound struct{}

func (*notFound) Error() string   { return "remote: not found (404)" }
func (*notFound) Is(t error) bool { return t == ErrFetch }
