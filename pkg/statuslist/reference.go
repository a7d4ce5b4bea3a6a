package statuslist

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/sealedtoken/issuer/internal/jsonenc"
	"github.com/sealedtoken/issuer/internal/jsonscan"
)

// ClaimName is the Referenced Token's claim that holds its status
// references (draft §6.1).
const ClaimName = "status"

// Reference is a Referenced Token's place in a status list: the
// "status_list" member of its "status" claim (draft §6.2).
type Reference struct {
	// Index is "idx", the token's index in the list.
	Index uint64
	// URI is "uri", the Status List Token's URI, which is also its "sub".
	URI string
}

// AppendClaim appends the value of the "status" claim holding r,
// {"status_list":{"idx":N,"uri":"…"}}, to dst.
func (r Reference) AppendClaim(dst []byte) []byte {
	dst = append(dst, `{"status_list":{"idx":`...)
	dst = strconv.AppendUint(dst, r.Index, 10)
	dst = append(dst, `,"uri":`...)
	dst = jsonenc.AppendString(dst, r.URI)
	return append(dst, `}}`...)
}

// MarshalJSON returns the value of the "status" claim holding r, so that a
// Reference can stand as that claim in a claims set.
func (r Reference) MarshalJSON() ([]byte, error) {
	if err := r.check(); err != nil {
		return nil, err
	}
	return r.AppendClaim(nil), nil
}

// check applies draft §6.2's rules to r.
func (r Reference) check() error {
	if r.Index > maxIndex {
		return fmt.Errorf("%w: idx %d beyond 2^53-1", ErrMalformed, r.Index)
	}
	if r.URI == "" {
		return fmt.Errorf("%w: empty uri", ErrMalformed)
	}
	u, err := url.Parse(r.URI)
	if err != nil || u.Scheme == "" {
		return fmt.Errorf("%w: uri is not an absolute URI (RFC 3986)", ErrMalformed)
	}
	return nil
}

// ParseClaim reads the value of a Referenced Token's "status" claim (draft
// §6.1, §6.2): a JSON object whose "status_list" member is an object with a
// non-negative integer "idx" and an absolute URI "uri". Other members, of
// either object, name other status mechanisms or extensions and are
// ignored. No "status_list" is ErrNoStatus; anything else amiss,
// ErrMalformed. The URI is copied out of raw.
func ParseClaim(raw []byte) (Reference, error) {
	d := jsonscan.New(raw)
	bad := fmt.Errorf("%w: status claim", ErrMalformed)
	if d.Expect('{') != nil {
		return Reference{}, bad
	}
	var (
		ref  Reference
		seen bool
	)
	for first := true; ; first = false {
		name, ok, err := d.Member(first)
		if err != nil {
			return Reference{}, bad
		}
		if !ok {
			break
		}
		if name != "status_list" {
			if _, err := d.Skip(); err != nil {
				return Reference{}, bad
			}
			continue
		}
		if seen {
			return Reference{}, fmt.Errorf("%w: status_list twice", ErrMalformed)
		}
		seen = true
		if ref, err = parseStatusList(&d); err != nil {
			return Reference{}, err
		}
	}
	if d.End() != nil {
		return Reference{}, bad
	}
	if !seen {
		return Reference{}, ErrNoStatus
	}
	if err := ref.check(); err != nil {
		return Reference{}, err
	}
	ref.URI = strings.Clone(ref.URI) // own copy: raw may be reused
	return ref, nil
}

func parseStatusList(d *jsonscan.Decoder) (Reference, error) {
	var ref Reference
	bad := fmt.Errorf("%w: status_list", ErrMalformed)
	if d.Expect('{') != nil {
		return ref, bad
	}
	var haveIdx, haveURI bool
	for first := true; ; first = false {
		name, ok, err := d.Member(first)
		if err != nil {
			return ref, bad
		}
		if !ok {
			break
		}
		switch name {
		case "idx":
			if haveIdx {
				return ref, fmt.Errorf("%w: idx twice", ErrMalformed)
			}
			haveIdx = true
			if ref.Index, err = d.Uint(maxIndex); err != nil {
				return ref, fmt.Errorf("%w: idx is not a non-negative integer", ErrMalformed)
			}
		case "uri":
			if haveURI {
				return ref, fmt.Errorf("%w: uri twice", ErrMalformed)
			}
			haveURI = true
			if ref.URI, err = d.String(); err != nil {
				return ref, fmt.Errorf("%w: uri is not a string", ErrMalformed)
			}
		default:
			if _, err := d.Skip(); err != nil {
				return ref, bad
			}
		}
	}
	if !haveIdx || !haveURI {
		return ref, fmt.Errorf("%w: status_list needs idx and uri", ErrMalformed)
	}
	return ref, nil
}
