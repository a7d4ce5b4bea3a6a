package login

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/sealedtoken/issuer/pkg/endpoint"
	"github.com/sealedtoken/issuer/pkg/store"
)

// consentRecord is a user's remembered consent to one client (SPEC §11):
// the scopes granted and the audiences (RFC 8707 resources) they were
// granted for, stored as JSON under consentKey.
type consentRecord struct {
	Scopes    []string `json:"scopes"`
	Audiences []string `json:"audiences"`
}

// consentLabel separates consent keys from other SHA-256 uses.
const consentLabel = "sealedtoken login consent v1\x00"

// consentKey is the store key of the consent of user subject to client:
// the base64url SHA-256 of both, length-prefixed, so that a key is short
// and of fixed length whatever the ids.
func consentKey(subject, clientID string) string {
	h := sha256.New()
	h.Write([]byte(consentLabel))
	var n [4]byte
	for _, s := range []string{subject, clientID} {
		binary.BigEndian.PutUint32(n[:], uint32(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}

// consentEnabled reports whether consent is remembered: it needs the store
// and a positive ConsentTTL.
func (p *Page) consentEnabled() bool { return p.store != nil && p.consentTTL > 0 }

// needConsent reports whether user subject must be asked to consent to ar:
// always with prompt=consent (OpenID Connect Core 1.0 §3.1.2.1), never for
// a skip_consent client otherwise, and otherwise unless the user's
// remembered consent to the client covers every scope and the audience of
// the request.
func (p *Page) needConsent(ctx context.Context, ar *endpoint.AuthorizeRequest, subject string) (bool, error) {
	if o := ar.OpenID; o != nil && o.Consent {
		return true, nil
	}
	if ar.Client.SkipConsent {
		return false, nil
	}
	if !p.consentEnabled() {
		return true, nil
	}
	rec, err := p.loadConsent(ctx, subject, ar.ClientID())
	if err != nil || rec == nil {
		return true, err
	}
	covered := slices.Contains(rec.Audiences, ar.Audience)
	for _, sc := range ar.Scopes {
		covered = covered && slices.Contains(rec.Scopes, sc)
	}
	return !covered, nil
}

// loadConsent returns the remembered consent of subject to clientID, or
// nil.
func (p *Page) loadConsent(ctx context.Context, subject, clientID string) (*consentRecord, error) {
	raw, err := p.store.GetRecord(ctx, nsConsent, consentKey(subject, clientID))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("login: reading remembered consent: %w", err)
	}
	var rec consentRecord
	if json.Unmarshal(raw, &rec) != nil {
		return nil, nil // unreadable: ask again, and the answer replaces it
	}
	return &rec, nil
}

// rememberConsent records that subject granted the scopes granted of ar:
// what was remembered for scopes ar did not ask about is kept, scopes ar
// asked about are replaced by the answer (a scope left unchecked is
// forgotten), and ar's audience is added. It lives ConsentTTL from now.
func (p *Page) rememberConsent(ctx context.Context, ar *endpoint.AuthorizeRequest, subject string, granted []string) error {
	if !p.consentEnabled() || ar.Client.SkipConsent {
		return nil
	}
	rec, err := p.loadConsent(ctx, subject, ar.ClientID())
	if err != nil {
		return err
	}
	if rec == nil {
		rec = &consentRecord{}
	}
	next := consentRecord{Scopes: []string{}, Audiences: slices.Clone(rec.Audiences)}
	for _, sc := range rec.Scopes {
		if !slices.Contains(ar.Scopes, sc) {
			next.Scopes = append(next.Scopes, sc)
		}
	}
	for _, sc := range granted {
		if !slices.Contains(next.Scopes, sc) {
			next.Scopes = append(next.Scopes, sc)
		}
	}
	if !slices.Contains(next.Audiences, ar.Audience) {
		next.Audiences = append(next.Audiences, ar.Audience)
	}
	slices.Sort(next.Scopes)
	slices.Sort(next.Audiences)
	raw, err := json.Marshal(next)
	if err != nil {
		return err
	}
	if err := p.store.PutRecord(ctx, nsConsent, consentKey(subject, ar.ClientID()), raw, p.now().Add(p.consentTTL)); err != nil {
		return fmt.Errorf("login: remembering consent: %w", err)
	}
	return nil
}

// forgetConsent revokes the remembered consent of subject to ar's client:
// the user denied a request, so the next one asks again. The write is
// security-relevant (store.Priority): a revocation the store dropped would
// let the client in silently.
func (p *Page) forgetConsent(ctx context.Context, ar *endpoint.AuthorizeRequest, subject string) error {
	if !p.consentEnabled() {
		return nil
	}
	if err := p.store.DeleteRecord(store.Priority(ctx), nsConsent, consentKey(subject, ar.ClientID())); err != nil {
		return fmt.Errorf("login: revoking remembered consent: %w", err)
	}
	return nil
}
