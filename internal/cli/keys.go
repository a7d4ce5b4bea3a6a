package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sealedtoken/issuer/internal/config"
	"github.com/sealedtoken/issuer/internal/server"
	"github.com/sealedtoken/issuer/pkg/keys"
)

const keysHelp = `usage: issuer keys SUBCOMMAND --config FILE [flags]

Manages the key rings (SPEC §4), in keys.dir or, with keys.store: redis,
in the Redis of store: one ring per audience, which seals access tokens,
the issuer-internal ring, which seals refresh tokens and codes and is never
exported, and the signing ring ("signing"), whose keys (keys.signing_alg)
sign ID tokens, status lists and key deliveries; its public keys are served
at /jwks.json and its private keys are never exported. A running issuer
rotates its rings on schedule and picks up changes made here.

subcommands:
  init                       create the rings that do not exist yet (with
                             keys.store: redis, import those whose files are
                             in keys.dir)
  rotate [--ring NAME] [--force]
                             rotate now: a new key, pending for keys.propagation,
                             then sealing (signing); the current key retires then.
                             --ring may be repeated; default every ring. A ring
                             that already has a pending key is refused unless
                             --force, which replaces that key (and says so).
  retire KID [--now]         emergency: stop sealing with key KID at once. If it
                             was the sealing key, a new key seals from now on
                             (resource servers must reload before they can open
                             the new tokens) and the ring's pending keys are
                             dropped. Tokens KID sealed still open until they
                             expire; with --now they stop opening too (their
                             holders must get new ones). A running issuer applies
                             it at its next key tick, or at once on SIGHUP;
                             re-export the JWK Set for resource servers.
  list                       list every key's id, algorithm, state and times
                             (never key material)
  export --audience NAME [--out FILE]
                             print the audience's keys that can open tokens as a
                             JWK Set (RFC 7517): the file its resource server
                             loads. It holds key material: give it to that
                             resource server only. --out writes it atomically
                             (temporary file, fsync, rename) with mode 0600,
                             replacing an existing file whatever its mode.

The key-encryption key named by keys.kek_env is read from the environment.

exit codes: 0 ok, 1 runtime error, 2 usage or config error
`

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func runKeys(ctx context.Context, args []string, env Env) error {
	if len(args) == 0 {
		return usagef("keys: missing subcommand (init, rotate, list, export); see issuer keys -h")
	}
	sub := args[0]
	if sub == "-h" || sub == "-help" || sub == "--help" {
		fmt.Fprint(env.Stdout, keysHelp)
		return nil
	}
	fs := newFlags("keys")
	cfgPath := fs.String("config", "", "")
	var rings multiFlag
	audience, out := "", ""
	var force, immediate bool
	rest := args[1:]
	var kid string
	switch sub {
	case "rotate":
		fs.Var(&rings, "ring", "")
		fs.BoolVar(&force, "force", false, "")
	case "export":
		fs.StringVar(&audience, "audience", "", "")
		fs.StringVar(&out, "out", "", "")
	case "retire":
		fs.BoolVar(&immediate, "now", false, "")
		// The KID may come before or after the flags.
		if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
			kid, rest = rest[0], rest[1:]
		}
	case "init", "list":
	default:
		return usagef("keys: unknown subcommand %q (want init, rotate, retire, list or export)", sub)
	}
	if err := parse(fs, rest, keysHelp, env); err != nil {
		return err
	}
	extra := fs.Args()
	if sub == "retire" && kid == "" && len(extra) > 0 {
		// keys retire --config FILE KID [--now]: flags after the KID.
		kid = extra[0]
		if err := parse(fs, extra[1:], keysHelp, env); err != nil {
			return err
		}
		extra = fs.Args()
	}
	if len(extra) > 0 {
		return usagef("keys %s: unexpected argument %q", sub, extra[0])
	}
	if sub == "retire" && kid == "" {
		return usagef("keys retire: want the KID of the key to retire (see issuer keys list)")
	}
	if sub == "export" && audience == "" {
		return usagef("keys export: --audience NAME is required")
	}
	cfg, err := loadConfig(*cfgPath, env)
	if err != nil {
		return err
	}
	if sub == "export" && audience == keys.SigningRing {
		return usagef("keys export: the signing ring's private keys are never exported; its public keys are served at %s", server.PathJWKS)
	}
	kr, closeRings, err := server.ConnectKeyRings(ctx, cfg, env.Getenv)
	if err != nil {
		return err
	}
	defer closeRings()
	now := time.Now()
	switch sub {
	case "init":
		created, imported, err := kr.Init(ctx)
		if err != nil {
			return err
		}
		for _, n := range kr.Names() {
			state := "exists"
			switch {
			case slices.Contains(created, n):
				state = "created"
			case slices.Contains(imported, n):
				state = "imported"
			}
			fmt.Fprintf(env.Stdout, "%-8s %s  %s\n", state, n, kr.Path(n))
		}
		return nil
	case "rotate":
		if err := openRings(ctx, kr); err != nil {
			return err
		}
		for _, r := range rings {
			if r != keys.InternalRing && r != keys.SigningRing && !slices.ContainsFunc(cfg.Audiences, func(a config.Audience) bool { return a.Name == r }) {
				return usagef("keys rotate: --ring %q is neither an audience of the configuration nor %q or %q", r, keys.InternalRing, keys.SigningRing)
			}
		}
		targets := []string(rings)
		if len(targets) == 0 {
			targets = kr.Names()
		}
		// A second rotate would silently replace the key the first one
		// made pending, which resource servers may have loaded already.
		var replaced []string
		for _, n := range targets {
			r, _ := kr.Ring(n)
			for _, k := range r.Load().Keys() {
				if k.State(now) == keys.StatePending {
					replaced = append(replaced, fmt.Sprintf("%s in ring %q (pending, seals from %s)", k.ID, n, k.Activates.UTC().Format(time.RFC3339)))
				}
			}
		}
		if len(replaced) > 0 && !force {
			return usagef("keys rotate: a rotation would replace the pending key %s; it is already published and will seal on its own. Pass --force to replace it anyway",
				strings.Join(replaced, ", and "))
		}
		if err := kr.Rotate(ctx, rings...); err != nil {
			return err
		}
		for _, r := range replaced {
			fmt.Fprintf(env.Stdout, "replaced pending key %s\n", r)
		}
		fmt.Fprintf(env.Stdout, "rotated; the new keys seal from %s (after keys.propagation %s)\n\n",
			now.Add(cfg.Keys.Propagation).UTC().Format(time.RFC3339), cfg.Keys.Propagation)
		return listKeys(env, kr, now)
	case "retire":
		if err := openRings(ctx, kr); err != nil {
			return err
		}
		r, err := kr.Retire(ctx, kid, immediate)
		if errors.Is(err, keys.ErrUnknownKID) {
			return usagef("keys retire: %v", err)
		}
		if err != nil {
			return err
		}
		printRetirement(env, r, immediate)
		fmt.Fprintln(env.Stdout)
		return listKeys(env, kr, r.At.Add(time.Millisecond))
	case "list":
		if err := openRings(ctx, kr); err != nil {
			return err
		}
		return listKeys(env, kr, now)
	}
	// export
	if audience == keys.InternalRing {
		return usagef("keys export: %v", keys.ErrExportInternal)
	}
	if !slices.ContainsFunc(cfg.Audiences, func(a config.Audience) bool { return a.Name == audience }) {
		return usagef("keys export: %q is not an audience of the configuration", audience)
	}
	if err := openRings(ctx, kr); err != nil {
		return err
	}
	ring, _ := kr.Ring(audience)
	jwks, err := keys.ExportJWKS(ring.Load(), now)
	if err != nil {
		return err
	}
	defer clear(jwks)
	if out != "" {
		return writeFileAtomic(out, jwks, 0o600)
	}
	_, err = env.Stdout.Write(jwks)
	return err
}

// printRetirement says what "keys retire" did and what it means.
func printRetirement(env Env, r keys.Retirement, immediate bool) {
	w := env.Stdout
	switch {
	case r.Was == keys.StateExpired:
		fmt.Fprintf(w, "key %s of ring %q has expired already: it seals and opens nothing; nothing to do\n", r.KID, r.Ring)
		return
	case r.Was == keys.StateRetired && !immediate:
		fmt.Fprintf(w, "key %s of ring %q is retired already: it seals nothing. Tokens it sealed open until they expire; add --now to refuse them\n", r.KID, r.Ring)
		return
	case r.Was == keys.StatePending:
		fmt.Fprintf(w, "removed pending key %s of ring %q (it had sealed nothing)\n", r.KID, r.Ring)
	case r.Removed:
		fmt.Fprintf(w, "retired key %s of ring %q at %s and removed it: tokens it sealed no longer open\n", r.KID, r.Ring, r.At.UTC().Format(time.RFC3339))
	default:
		fmt.Fprintf(w, "retired key %s of ring %q at %s: it seals no more; tokens it sealed open until they expire\n", r.KID, r.Ring, r.At.UTC().Format(time.RFC3339))
	}
	if r.Successor != nil {
		fmt.Fprintf(w, "key %s seals in its place from now on, without the usual propagation: resource servers refuse the tokens it seals until they hold it\n", r.Successor.ID)
	}
	for _, d := range r.Dropped {
		fmt.Fprintf(w, "dropped pending key %s (published with the retired key); a new one is added at the next rotation\n", d)
	}
	if r.Ring != keys.InternalRing {
		fmt.Fprintf(w, "next: re-export the ring for its resource servers now (issuer keys export --audience %s); running issuers apply the change at their next key tick, or at once on SIGHUP\n", shellQuote(r.Ring))
	} else {
		fmt.Fprintf(w, "next: running issuers apply the change at their next key tick, or at once on SIGHUP\n")
	}
}

// writeFileAtomic writes data to path through a temporary file in the same
// directory (mode perm, written, fsynced, renamed over path, directory
// fsynced): a reader sees the old file or the new one, never a part, and
// an existing file is replaced, so its old mode does not survive.
func writeFileAtomic(path string, data []byte, perm os.FileMode) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = os.Remove(tmp)
		}
	}()
	if err = f.Chmod(perm); err == nil {
		if _, err = f.Write(data); err == nil {
			err = f.Sync()
		}
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func openRings(ctx context.Context, kr *server.KeyRings) error {
	err := kr.Open(ctx)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w (run \"issuer keys init\" or start the server first)", err)
	}
	return err
}

// listKeys prints every key's metadata; never key material.
func listKeys(env Env, kr *server.KeyRings, now time.Time) error {
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RING\tKID\tALG\tSTATE\tCREATED\tACTIVATES\tRETIRES\tEXPIRES")
	ts := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
	for _, set := range kr.List() {
		for _, k := range set.Keys() {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", set.Name(), k.ID, k.Alg, k.State(now),
				ts(k.Created), ts(k.Activates), ts(k.Retires), ts(k.Expires))
		}
	}
	return tw.Flush()
}
