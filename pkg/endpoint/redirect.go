package endpoint

import (
	"errors"
	"net/url"
)

// checkRedirectURI checks a registered redirect URI (RFC 6749 §3.1.2): an
// absolute URI without a fragment.
func checkRedirectURI(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return errors.New("not a URI")
	case !u.IsAbs() || u.Opaque != "":
		return errors.New("not an absolute URI (RFC 6749 §3.1.2)")
	case u.Fragment != "" || u.RawFragment != "" || len(raw) > 0 && raw[len(raw)-1] == '#':
		return errors.New("has a fragment (RFC 6749 §3.1.2)")
	}
	return nil
}
