package login

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"time"
)

// ticket is what a consent form carries to prove that the user signed in
// a moment ago, instead of the password: who, when, for which client, for
// which authorization request and in which browser. It is sealed with
// AES-256-GCM so that it can be neither forged nor read (the user id stays
// out of the page source and of anything that records form bodies).
//
// A ticket can be replayed until it expires (the server keeps no state):
// a user who submits the consent form twice gets two codes for the same
// request, which is no more than signing in twice would give. Binding to
// the browser's CSRF nonce means a ticket copied out of the page is useless
// in another browser.
type ticket struct {
	Subject  string
	AuthTime time.Time // zero when the user came from a trusted proxy
	// AMR and SessionID are the login's authentication methods and
	// session id, for the ID token of an OpenID request (may be empty).
	AMR       []string
	SessionID string
	ClientID  string
	Params    [32]byte // paramsHash of the authorization request
	Browser   [32]byte // SHA-256 of the browser's CSRF nonce
	Expiry    time.Time
}

const (
	ticketVersion = 2
	// ticketAAD is the additional data of every ticket: it separates
	// tickets from any other message sealed under a related key.
	ticketAAD = "sealedtoken login ticket v1"
	// maxTicketField bounds the subject and client id in a ticket.
	maxTicketField = 1024
	// maxTicketLen bounds a ticket as sent (base64url), checked before
	// decoding.
	maxTicketLen = 4096
)

// sealer seals and opens tickets.
type sealer struct {
	box box
}

func newSealer(key [32]byte) (*sealer, error) {
	b, err := newBox(key, "ticket", ticketAAD, maxTicketLen)
	if err != nil {
		return nil, err
	}
	return &sealer{box: b}, nil
}

// browserBinding is the ticket's Browser field for nonce n.
func browserBinding(n nonce) [32]byte {
	return sha256.Sum256(append([]byte("sealedtoken login browser v1\x00"), n[:]...))
}

// seal returns t sealed (box.seal). The plaintext is: version (1 byte),
// expiry and auth time (8 bytes each, Unix seconds, auth time 0 for none),
// the params and browser hashes (32 bytes each), then the client id, the
// subject and the session id, each with a 2-byte length, then the amr
// values (appendAMR).
func (s *sealer) seal(t *ticket) (string, error) {
	if len(t.Subject) == 0 || len(t.Subject) > maxTicketField || len(t.ClientID) > maxTicketField ||
		len(t.SessionID) > maxTicketField {
		return "", fmt.Errorf("login: ticket field out of range")
	}
	pt := make([]byte, 0, 1+8+8+32+32+2+len(t.ClientID)+2+len(t.Subject))
	pt = append(pt, ticketVersion)
	pt = binary.BigEndian.AppendUint64(pt, unixSeconds(t.Expiry))
	var auth uint64
	if !t.AuthTime.IsZero() {
		auth = unixSeconds(t.AuthTime)
	}
	pt = binary.BigEndian.AppendUint64(pt, auth)
	pt = append(pt, t.Params[:]...)
	pt = append(pt, t.Browser[:]...)
	pt = appendField(pt, t.ClientID)
	pt = appendField(pt, t.Subject)
	pt = appendField(pt, t.SessionID)
	pt, ok := appendAMR(pt, t.AMR)
	if !ok {
		return "", fmt.Errorf("login: ticket field out of range")
	}
	return s.box.seal(pt)
}

// open decrypts a ticket and checks it against the client, the request's
// parameter hash and the browser's nonce at now. Any mismatch is
// ErrTicketInvalid; a ticket that is sound but past its expiry is
// ErrTicketExpired.
func (s *sealer) open(v string, clientID string, params [32]byte, n nonce, haveNonce bool, now time.Time) (*ticket, error) {
	if !haveNonce {
		return nil, ErrTicketInvalid
	}
	pt, ok := s.box.open(v)
	if !ok {
		return nil, ErrTicketInvalid
	}
	t, ok := decodeTicket(pt)
	if !ok {
		return nil, ErrTicketInvalid
	}
	browser := browserBinding(n)
	if t.ClientID != clientID ||
		subtle.ConstantTimeCompare(t.Params[:], params[:]) != 1 ||
		subtle.ConstantTimeCompare(t.Browser[:], browser[:]) != 1 {
		return nil, ErrTicketInvalid
	}
	if unixSeconds(now) >= unixSeconds(t.Expiry) {
		return nil, ErrTicketExpired
	}
	return t, nil
}

// decodeTicket parses a ticket's plaintext (see seal).
func decodeTicket(pt []byte) (*ticket, bool) {
	const fixed = 1 + 8 + 8 + 32 + 32
	if len(pt) < fixed+2 || pt[0] != ticketVersion {
		return nil, false
	}
	t := &ticket{}
	t.Expiry = time.Unix(int64(binary.BigEndian.Uint64(pt[1:9])&(1<<62-1)), 0)
	if a := binary.BigEndian.Uint64(pt[9:17]); a != 0 {
		t.AuthTime = time.Unix(int64(a&(1<<62-1)), 0)
	}
	copy(t.Params[:], pt[17:49])
	copy(t.Browser[:], pt[49:81])
	f := fields(pt[fixed:])
	var ok bool
	if t.ClientID, ok = f.next(maxTicketField); !ok {
		return nil, false
	}
	if t.Subject, ok = f.next(maxTicketField); !ok || t.Subject == "" {
		return nil, false
	}
	if t.SessionID, ok = f.next(maxTicketField); !ok {
		return nil, false
	}
	if t.AMR, ok = f.amr(); !ok || len(f) != 0 {
		return nil, false
	}
	return t, true
}
