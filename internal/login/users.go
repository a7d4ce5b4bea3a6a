package login

import (
	"context"
	"errors"
	"fmt"

	"github.com/sealedtoken/issuer/pkg/endpoint"
	"github.com/sealedtoken/issuer/pkg/secret"
)

// MaxUsernameLen bounds a username as typed into the login form or sent by
// a trusted proxy; a longer one never matches and is not used as a limiter
// key as it is.
const MaxUsernameLen = 256

// User is one resource owner from configuration (SPEC §6 "users"): the name
// typed into the login form, the user id that becomes the tokens' "sub",
// and the hash of the password (bcrypt or argon2id for human-chosen
// passwords, see package secret).
type User struct {
	Username string
	ID       string
	Hash     secret.Hash
}

// Users is an endpoint.UserAuthenticator over a fixed list of users whose
// password hashes are checked through a secret.Verifier (cache of recent
// successes, concurrency cap on slow hashes). It serves the login page and
// the password grant (endpoint.WithUsers) alike.
//
// Usernames match exactly (case-sensitive, no normalization). A username
// that is not configured is checked against a decoy hash (secret.Decoys:
// the hash of a secret nobody knows, of a kind and cost of the configured
// ones, the same for every try of one name), so that the time a wrong
// answer takes does not tell whether the user exists.
//
// Users is immutable and safe for concurrent use.
type Users struct {
	byName   map[string]User
	decoys   *secret.Decoys
	verifier *secret.Verifier
}

var _ endpoint.UserAuthenticator = (*Users)(nil)

// NewUsers indexes users. Every user needs a username, an id and a hash,
// and usernames must be distinct; a nil v means a secret.Verifier with its
// default configuration.
func NewUsers(users []User, v *secret.Verifier) (*Users, error) {
	if v == nil {
		v = secret.NewVerifier(secret.VerifierConfig{})
	}
	u := &Users{byName: make(map[string]User, len(users)), verifier: v}
	for i, usr := range users {
		switch {
		case usr.Username == "":
			return nil, fmt.Errorf("login: user %d has no username", i)
		case len(usr.Username) > MaxUsernameLen:
			return nil, fmt.Errorf("login: user %d: username longer than %d bytes", i, MaxUsernameLen)
		case usr.ID == "":
			return nil, fmt.Errorf("login: user %q has no id", usr.Username)
		case usr.Hash.IsZero():
			return nil, fmt.Errorf("login: user %q has no password hash", usr.Username)
		}
		if _, dup := u.byName[usr.Username]; dup {
			return nil, fmt.Errorf("login: user %q listed twice", usr.Username)
		}
		u.byName[usr.Username] = usr
	}
	if len(users) > 0 {
		hashes := make([]secret.Hash, 0, len(users))
		for _, usr := range users {
			hashes = append(hashes, usr.Hash)
		}
		var err error
		if u.decoys, err = secret.NewDecoys(hashes...); err != nil {
			return nil, fmt.Errorf("login: %w", err)
		}
	}
	return u, nil
}

// Len returns the number of users.
func (u *Users) Len() int { return len(u.byName) }

// AuthenticateUser implements endpoint.UserAuthenticator: it returns the
// user id for a correct username and password, an error wrapping
// endpoint.ErrBadCredentials for a wrong one, or an error wrapping
// secret.ErrBusy when the verifier's concurrency cap stayed full until ctx
// ended (the password was then not checked: answer 503, not "wrong
// password"). No error contains the password or the username.
func (u *Users) AuthenticateUser(ctx context.Context, username, password string) (string, error) {
	if u.decoys == nil {
		return "", endpoint.ErrBadCredentials // no users at all
	}
	usr, known := u.byName[username]
	h := usr.Hash
	if !known {
		h = u.decoys.For(username)
	}
	ok, err := u.verifier.Verify(ctx, h, password)
	if err != nil {
		return "", fmt.Errorf("login: password not checked: %w", err)
	}
	if !ok || !known {
		return "", endpoint.ErrBadCredentials
	}
	return usr.ID, nil
}

// isBusy reports whether err means the password could not be checked.
func isBusy(err error) bool { return errors.Is(err, secret.ErrBusy) }

// ProxySubjects returns cmd/issuer's Config.ProxySubject rule for the user
// names an authenticating proxy sends (SPEC §6 login.trusted_header):
//
//   - a name listed in users is that user: the subject is the user's id,
//     the same "sub" a password sign-in gives, so a user has one identity
//     whichever way they came in;
//   - any other name is its own subject, since the proxy vouches for it —
//     unless it equals the id of a listed user (it would take over that
//     user's identity) or one of reserved, the client ids (a
//     client_credentials token carries its client id as "sub", RFC 9068
//     §2.2, so a user with that subject would be indistinguishable from the
//     client, RFC 9068 §5); those are refused.
//
// users may be nil (no configured users). The returned function is
// immutable and safe for concurrent use.
func ProxySubjects(users *Users, reserved []string) func(name string) (subject string, ok bool) {
	byName := map[string]string{}
	refused := make(map[string]bool, len(reserved))
	for _, r := range reserved {
		refused[r] = true
	}
	if users != nil {
		for name, u := range users.byName {
			byName[name] = u.ID
			refused[u.ID] = true
		}
	}
	return func(name string) (string, bool) {
		if id, ok := byName[name]; ok {
			return id, true
		}
		if refused[name] {
			return "", false
		}
		return name, true
	}
}
