package endpoint

import (
	"fmt"

	"github.com/sealedtoken/issuer/pkg/crypttoken"
)

// WithSignedAudiences makes the access tokens of the audiences names signed
// (SPEC §9, audiences[].sign): each is a nested JWT whose claims are signed
// by the active key of the signing ring (Rings.Signing, which is then
// required) before they are encrypted with the audience's ring
// (crypttoken.WithSigningRing). Introspection of those audiences' tokens
// then requires the signature too (crypttoken.WithSignedTokens), so that a
// resource server holding the audience key cannot forge a token that
// introspects as active either, and key deliveries tell resource servers
// to require it (keys.Delivery.Signed).
//
// Every name must be an audience of the Server's rings.
func WithSignedAudiences(names ...string) Option {
	return optionFunc(func(s *Server) error {
		if s.signedAudiences == nil {
			s.signedAudiences = make(map[string]bool, len(names))
		}
		for _, n := range names {
			s.signedAudiences[n] = true
		}
		return nil
	})
}

// audienceOptions returns the Sealer and Opener options of the audience
// name: signing for a signed audience, none otherwise.
func (s *Server) audienceOptions(name string) (seal, open []crypttoken.Option, err error) {
	if !s.signedAudiences[name] {
		return nil, nil, nil
	}
	if s.signingRing == nil || s.signingRing.Load() == nil || !s.signingRing.Load().Signing() {
		return nil, nil, fmt.Errorf("signed access tokens need the signing ring (Rings.Signing)")
	}
	src, err := crypttoken.RingKeys(s.signingRing, s.now)
	if err != nil {
		return nil, nil, err
	}
	return []crypttoken.Option{crypttoken.WithSigningRing(s.signingRing)},
		[]crypttoken.Option{crypttoken.WithSignedTokens(src)}, nil
}

// signedIn returns which of audiences are signed, for a key delivery.
func (s *Server) signedIn(audiences []string) map[string]bool {
	var out map[string]bool
	for _, a := range audiences {
		if s.signedAudiences[a] {
			if out == nil {
				out = make(map[string]bool)
			}
			out[a] = true
		}
	}
	return out
}

// checkSignedAudiences refuses a signed audience the Server has no ring
// for.
func (s *Server) checkSignedAudiences() error {
	for name := range s.signedAudiences {
		if s.audiences[name] == nil {
			return fmt.Errorf("endpoint: signed audience %q has no key ring", name)
		}
	}
	return nil
}
