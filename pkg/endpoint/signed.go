package endpoint

import (
	"fmt"

	"github.com/sealedtoken/issuer/pkg/crypttoken"
	"github.com/sealedtoken/issuer/pkg/keys"
)

// WithSignedAudiences makes the access tokens of the audiences names signed
// (SPEC §9, audiences[].sign): each is a nested JWT whose claims are signed
// by the active key of signing, the issuer's signing ring
// (keys.SigningRing), before they are encrypted with the audience's ring
// (crypttoken.WithSigningRing). Introspection of those audiences' tokens
// then requires the signature too (crypttoken.WithSignedTokens), so that
// a resource server holding the audience key cannot forge a token that
// introspects as active either.
//
// Every name must be an audience of the Server's rings; signing must hold
// signing keys. The option may be given once.
func WithSignedAudiences(signing *keys.Ring, names ...string) Option {
	return optionFunc(func(s *Server) error {
		if signing == nil || signing.Load() == nil || !signing.Load().Signing() {
			return fmt.Errorf("endpoint: signed audiences need the signing ring")
		}
		if s.signedAudiences != nil {
			return fmt.Errorf("endpoint: WithSignedAudiences given twice")
		}
		s.signingRing = signing
		s.signedAudiences = make(map[string]bool, len(names))
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
	src, err := crypttoken.RingKeys(s.signingRing, s.now)
	if err != nil {
		return nil, nil, err
	}
	return []crypttoken.Option{crypttoken.WithSigningRing(s.signingRing)},
		[]crypttoken.Option{crypttoken.WithSignedTokens(src)}, nil
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
