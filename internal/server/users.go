package server

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/sealedtoken/issuer/pkg/endpoint"
	"github.com/sealedtoken/issuer/pkg/secret"
)

// User is a resource owner who logs in with a password.
type User struct {
	Username string
	ID       string
	Password secret.Hash
}

// Users is an endpoint.UserAuthenticator over a fixed list of users, as
// loaded from the configuration. Passwords are checked by a
// secret.Verifier, so slow hashes run under its concurrency cap and
// successful checks are cached briefly (SPEC §6).
//
// A user name that does not exist costs a verification against a dummy
// bcrypt hash, so response times do not tell which names exist. Failed
// attempts are throttled by the callers (the token endpoint's limiter, the
// login page).
type Users struct {
	byName   map[string]User
	verifier *secret.Verifier
}

// NewUsers indexes users. Names and ids must be unique and non-empty.
func NewUsers(v *secret.Verifier, users ...User) (*Users, error) {
	if v == nil {
		return nil, errors.New("server: users: nil verifier")
	}
	u := &Users{byName: make(map[string]User, len(users)), verifier: v}
	ids := map[string]bool{}
	for i, x := range users {
		switch {
		case x.Username == "" || x.ID == "":
			return nil, fmt.Errorf("server: users[%d]: empty username or id", i)
		case x.Password.IsZero():
			return nil, fmt.Errorf("server: user %q: no password hash", x.Username)
		case ids[x.ID]:
			return nil, fmt.Errorf("server: user %q: id listed twice", x.Username)
		}
		if _, dup := u.byName[x.Username]; dup {
			return nil, fmt.Errorf("server: user %q listed twice", x.Username)
		}
		u.byName[x.Username] = x
		ids[x.ID] = true
	}
	return u, nil
}

// IDs maps each user name to its user id.
func (u *Users) IDs() map[string]string {
	m := make(map[string]string, len(u.byName))
	for name, x := range u.byName {
		m[name] = x.ID
	}
	return m
}

// AuthenticateUser implements endpoint.UserAuthenticator.
func (u *Users) AuthenticateUser(ctx context.Context, username, password string) (string, error) {
	x, ok := u.byName[username]
	if !ok {
		if h, err := dummyHash(); err == nil {
			_, _ = u.verifier.Verify(ctx, h, password)
		}
		return "", endpoint.ErrBadCredentials
	}
	ok, err := u.verifier.Verify(ctx, x.Password, password)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", endpoint.ErrBadCredentials
	}
	return x.ID, nil
}

var _ endpoint.UserAuthenticator = (*Users)(nil)

// dummyHash is a bcrypt hash of a random secret nobody knows, made once.
var dummyHash = sync.OnceValues(func() (secret.Hash, error) {
	s, err := secret.NewClientSecret()
	if err != nil {
		return secret.Hash{}, err
	}
	enc, err := secret.NewBcrypt(s[:32], 10)
	if err != nil {
		return secret.Hash{}, err
	}
	return secret.Parse(enc)
})
