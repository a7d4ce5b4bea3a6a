package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/sealedtoken/issuer/internal/config"
	"github.com/sealedtoken/issuer/internal/server"
	"github.com/sealedtoken/issuer/pkg/endpoint"
	"github.com/sealedtoken/issuer/pkg/store"
	"github.com/sealedtoken/issuer/pkg/store/file"
	"github.com/sealedtoken/issuer/pkg/store/redis"
)

const revokeHelp = `usage: issuer revoke --config FILE TOKEN|-

Revokes a token of this issuer in the configured store, as RFC 7009
revocation by its client would, without asking the client: an access
token's status list bit is set, so every resource server polling the list
refuses it within the list's ttl (SPEC §9), and introspection answers it
inactive; a refresh token revokes its whole grant (refresh family) and
its bit; an access token that shares its grant's status entry revokes the
grant too. "-" reads the token from standard input (keep tokens out of
shell history). The token is opened with the configuration's key rings;
it prints the token's jti and what was revoked, never the token.

The store is the configuration's. With Redis, the running issuers see the
revocation at once. With store: file, the file can be held by one process
only: the command revokes while no issuer runs on it (it fails naming the
file when one does: use that issuer's revocation endpoint, POST /revoke,
instead). With store: memory the revocation would die with this command,
so it is refused.

  --config FILE   the issuer's configuration

exit codes: 0 revoked, 1 the token does not open or the store failed,
2 usage or configuration error
`

func runRevoke(ctx context.Context, args []string, env Env) error {
	fs := newFlags("revoke")
	cfgPath := fs.String("config", "", "")
	if err := parse(fs, args, revokeHelp, env); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("revoke: want one TOKEN argument (or - for standard input)")
	}
	cfg, err := loadConfig(*cfgPath, env)
	if err != nil {
		return err
	}
	token := fs.Arg(0)
	if token == "-" {
		in := env.Stdin
		if in == nil {
			in = os.Stdin
		}
		b, err := io.ReadAll(io.LimitReader(in, maxTokenInput))
		if err != nil {
			return err
		}
		token = string(b)
	}
	token = strings.TrimSpace(token)
	st, closeStore, err := openSharedStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeStore()
	kr, closeRings, err := server.ConnectKeyRings(ctx, cfg, env.Getenv)
	if err != nil {
		return err
	}
	defer closeRings()
	if err := openRings(ctx, kr); err != nil {
		return err
	}
	ep, err := server.AdminEndpoint(cfg, kr, st)
	if err != nil {
		return err
	}
	c, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	rv, err := ep.AdminRevoke(c, token)
	switch {
	case errors.Is(err, endpoint.ErrUnknownToken):
		return fmt.Errorf("revoke: %w (or expired, or an authorization code); nothing was revoked", err)
	case err != nil:
		return fmt.Errorf("revoke: nothing was revoked: %w", err)
	}
	fmt.Fprintf(env.Stdout, "revoked %s jti=%s client_id=%s\n", rv.Kind, rv.JTI, rv.ClientID)
	if rv.StatusURI != "" {
		fmt.Fprintf(env.Stdout, "status list bit set: %s index %d (resource servers refuse the token within tokens.status_list_ttl of their next poll)\n", rv.StatusURI, rv.StatusIndex)
	} else {
		fmt.Fprintf(env.Stdout, "the token has no status list entry: its jti is revoked, which introspection answers; resource servers that verify locally accept it until it expires\n")
	}
	if rv.Family {
		fmt.Fprintf(env.Stdout, "its grant (refresh family) is revoked: no refresh token of it works any more\n")
	}
	return nil
}

// openSharedStore connects to the store the running issuer uses, when the
// configuration names one another process can share.
func openSharedStore(ctx context.Context, cfg *config.Config) (store.Store, func() error, error) {
	switch {
	case cfg.Store.IsRedis():
		s, err := redis.New(ctx, string(cfg.Store))
		if err != nil {
			return nil, nil, fmt.Errorf("revoke: store: %w", err)
		}
		return s, s.Close, nil
	case cfg.Store.IsFile():
		s, err := file.Open(ctx, cfg.StorePath)
		if errors.Is(err, file.ErrLocked) {
			return nil, nil, fmt.Errorf("revoke: %w: an issuer is running on this store; revoke through its endpoint (POST /revoke) instead", err)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("revoke: store: %w", err)
		}
		return s, s.Close, nil
	case cfg.Store.IsMemory():
		return nil, nil, usagef("revoke: the configuration's store is memory, which lives inside the running issuer; revoke through its endpoint (POST /revoke) instead")
	}
	return nil, nil, usagef("revoke: store %s cannot be shared with a running issuer; revoke through its endpoint (POST /revoke)", cfg.Store)
}
