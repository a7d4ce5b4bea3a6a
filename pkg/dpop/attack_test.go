package dpop_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/sealedtoken/issuer/pkg/dpop"
	"github.com/sealedtoken/issuer/pkg/jws"
)

// sharedStore is a fake of the issuer's shared store: one map behind a
// lock, as two replicas on one Redis see it.
type sharedStore struct {
	mu   sync.Mutex
	seen map[string]time.Time
	down bool
}

func (s *sharedStore) UseOnce(_ context.Context, key string, exp time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		return errors.New("store: unavailable")
	}
	if _, ok := s.seen[key]; ok {
		return dpop.ErrReplayed
	}
	s.seen[key] = exp
	return nil
}

// TestAttackReplayAcrossReplicas: an attacker who captured a proof replays
// it at another replica of the issuer (spring-security#18120 let this
// through with a process-local jti map). With the shared store both
// replicas refuse the replay; the victim's next, fresh proof is accepted.
func TestAttackReplayAcrossReplicas(t *testing.T) {
	store := &sharedStore{seen: map[string]time.Time{}}
	replica1 := verifier(t, dpop.WithReplayCache(store))
	replica2 := verifier(t, dpop.WithReplayCache(store))
	victim := keyFor(t, jws.ES256)
	req := dpop.Request{Method: "POST", URI: tokenURL}
	captured := proof(t, victim, dpop.Claims{Method: "POST", URI: tokenURL})
	if _, err := replica1.Verify(context.Background(), []string{captured}, req); err != nil {
		t.Fatal(err)
	}
	for i, r := range []*dpop.Verifier{replica2, replica1} {
		if _, err := r.Verify(context.Background(), []string{captured}, req); !errors.Is(err, dpop.ErrReplayed) || dpop.ErrorCode(err) != dpop.CodeInvalidProof {
			t.Fatalf("replay at replica %d: %v, want ErrReplayed", i+2, err)
		}
	}
	fresh := proof(t, victim, dpop.Claims{Method: "POST", URI: tokenURL})
	if _, err := replica2.Verify(context.Background(), []string{fresh}, req); err != nil {
		t.Fatalf("the victim's fresh proof: %v", err)
	}
	// The store failing is no verdict on the proof, and never an accept.
	store.down = true
	another := proof(t, victim, dpop.Claims{Method: "POST", URI: tokenURL})
	_, err := replica1.Verify(context.Background(), []string{another}, req)
	if !errors.Is(err, dpop.ErrReplayCheck) || dpop.ErrorCode(err) != "" {
		t.Fatalf("store down: %v, want ErrReplayCheck", err)
	}
}

// TestAttackInvalidProofsDoNotBurnJTI: an attacker who learned a proof's
// jti (not the proof) sends invalid proofs with that jti to use it up; the
// victim's genuine proof is still accepted.
func TestAttackInvalidProofsDoNotBurnJTI(t *testing.T) {
	cache, err := dpop.NewMemoryReplay(100, testClock)
	if err != nil {
		t.Fatal(err)
	}
	v := verifier(t, dpop.WithReplayCache(cache))
	victim := keyFor(t, jws.ES256)
	attacker, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	req := dpop.Request{Method: "POST", URI: tokenURL}
	// Signed by the attacker's key but naming the victim's jwk.
	forged := craft(t, clientKey{jws.ES256, attacker}, "dpop+jwt", publicJWK(t, victim), `{"jti":"victim-jti","htm":"POST","htu":"`+tokenURL+`","iat":`+iat(0)+`}`)
	if _, err := v.Verify(context.Background(), []string{forged}, req); !errors.Is(err, jws.ErrSignature) {
		t.Fatalf("forged: %v", err)
	}
	// Valid signature, wrong URI.
	wrong := proof(t, victim, dpop.Claims{Method: "POST", URI: "https://issuer.example.com/other", ID: "victim-jti"})
	if _, err := v.Verify(context.Background(), []string{wrong}, req); !errors.Is(err, dpop.ErrURI) {
		t.Fatalf("wrong URI: %v", err)
	}
	genuine := proof(t, victim, dpop.Claims{Method: "POST", URI: tokenURL, ID: "victim-jti"})
	if _, err := v.Verify(context.Background(), []string{genuine}, req); err != nil {
		t.Fatalf("the genuine proof: %v", err)
	}
}

// TestAttackStolenToken: a thief holding a DPoP-bound access token but not
// its key makes proofs with a key of its own, or replays a proof captured
// for another request; the resource server refuses each, and the owner's
// own request still succeeds.
func TestAttackStolenToken(t *testing.T) {
	owner := keyFor(t, jws.ES256)
	thiefKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	thief := clientKey{jws.ES256, thiefKey}
	const stolen = "stolen.access.token.value.x"
	cache, _ := dpop.NewMemoryReplay(1000, testClock)
	v := verifier(t, dpop.WithReplayCache(cache))
	req := dpop.Request{Method: "GET", URI: apiURL, AccessToken: stolen, JKT: thumbprint(t, owner)}
	attempts := map[string]struct {
		proof string
		want  error
	}{
		"a proof by the thief's own key":       {proof(t, thief, dpop.Claims{Method: "GET", URI: apiURL, AccessToken: stolen}), dpop.ErrKeyBinding},
		"the owner's proof for another URI":    {proof(t, owner, dpop.Claims{Method: "GET", URI: "https://api.example.com/v1/other", AccessToken: stolen}), dpop.ErrURI},
		"the owner's proof for another method": {proof(t, owner, dpop.Claims{Method: "DELETE", URI: apiURL, AccessToken: stolen}), dpop.ErrMethod},
		"the owner's proof for another token":  {proof(t, owner, dpop.Claims{Method: "GET", URI: apiURL, AccessToken: "other"}), dpop.ErrTokenHash},
	}
	for name, a := range attempts {
		if _, err := v.Verify(context.Background(), []string{a.proof}, req); !errors.Is(err, a.want) {
			t.Errorf("%s: %v, want %v", name, err, a.want)
		}
	}
	ownerProof := proof(t, owner, dpop.Claims{Method: "GET", URI: apiURL, AccessToken: stolen})
	if _, err := v.Verify(context.Background(), []string{ownerProof}, req); err != nil {
		t.Fatalf("the owner's request: %v", err)
	}
	if _, err := v.Verify(context.Background(), []string{ownerProof}, req); !errors.Is(err, dpop.ErrReplayed) {
		t.Fatalf("the owner's proof replayed: %v", err)
	}
}
