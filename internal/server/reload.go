package server

import (
	"context"
	"net"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/sealedtoken/issuer/internal/config"
	"github.com/sealedtoken/issuer/pkg/keys"
)

// liveSection is a part of the configuration that a reload applies to the
// running issuer: a top-level list whose entries have an identity (a
// client id, a user name, an audience name).
type liveSection struct {
	key   string                                     // the YAML key, as the log names it
	apply func(dst, src *config.Config)              // copies the section from src into dst
	diff  func(old, next *config.Config) sectionDiff // what a reload changes
}

// liveSections are the parts of the configuration a reload (SIGHUP)
// applies while serving; every other top-level key is kept as it was at
// start, and a reload that changes one says so in the log. A section that
// comes to exist later (resource_servers, trusted_issuers) is live by
// adding its row here, provided newState builds from it.
var liveSections = []liveSection{
	listSection("clients", func(c *config.Config) *[]config.Client { return &c.Clients }, func(c config.Client) string { return c.ID }),
	listSection("users", func(c *config.Config) *[]config.User { return &c.Users }, func(u config.User) string { return u.Username }),
	listSection("audiences", func(c *config.Config) *[]config.Audience { return &c.Audiences }, func(a config.Audience) string { return a.Name }),
	listSection("resource_servers", func(c *config.Config) *[]config.ResourceServer { return &c.ResourceServers }, func(r config.ResourceServer) string { return r.ID }),
	listSection("trusted_issuers", func(c *config.Config) *[]config.TrustedIssuer { return &c.TrustedIssuers }, func(t config.TrustedIssuer) string { return t.Issuer }),
}

// sectionDiff names the entries a reload adds, removes and changes in one
// section, by identity only: never a value (a hash, a secret).
type sectionDiff struct {
	added, removed, changed []string
}

func (d sectionDiff) empty() bool { return len(d.added)+len(d.removed)+len(d.changed) == 0 }

// listSection returns the liveSection of the list field that get points
// at in a Config, whose entries id identifies.
func listSection[T any](key string, get func(*config.Config) *[]T, id func(T) string) liveSection {
	return liveSection{
		key:   key,
		apply: func(dst, src *config.Config) { *get(dst) = slices.Clone(*get(src)) },
		diff: func(old, next *config.Config) sectionDiff {
			var d sectionDiff
			before := map[string]T{}
			for _, e := range *get(old) {
				before[id(e)] = e
			}
			seen := map[string]bool{}
			for _, e := range *get(next) {
				k := id(e)
				seen[k] = true
				prev, ok := before[k]
				switch {
				case !ok:
					d.added = append(d.added, k)
				case !reflect.DeepEqual(prev, e):
					d.changed = append(d.changed, k)
				}
			}
			for _, e := range *get(old) {
				if !seen[id(e)] {
					d.removed = append(d.removed, id(e))
				}
			}
			return d
		},
	}
}

// frozenKeys returns the YAML keys of the top-level settings other than
// the live sections in which next differs from old: what a reload cannot
// change while serving (the listen address, TLS files, the store, the key
// directory, token lifetimes, limits, ...). Values are compared, never
// reported.
func frozenKeys(old, next *config.Config) []string {
	live := map[string]bool{}
	for _, s := range liveSections {
		live[s.key] = true
	}
	var keys []string
	ov, nv := reflect.ValueOf(old).Elem(), reflect.ValueOf(next).Elem()
	t := ov.Type()
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name == "" || name == "-" || live[name] {
			continue
		}
		if !reflect.DeepEqual(ov.Field(i).Interface(), nv.Field(i).Interface()) {
			keys = append(keys, name)
		}
	}
	return keys
}

// Current returns the configuration in force: the one Build was given, with
// the live sections of the last successful reload.
func (a *App) Current() *config.Config { return a.cur.Load() }

// Reload applies a new configuration while the issuer serves (SIGHUP):
// load returns it (config.Load of the file, validated). The sections of
// liveSections — clients, users, audiences, resource servers — take effect: a new endpoint
// server and login page are built from them over the same key rings,
// store, verifier cache, failure limiter and login key, and swapped in
// atomically, so a request in flight finishes on the one it started with
// and none is lost. A new audience's ring is created and loaded. Every
// other setting keeps its running value; a reload that changes one logs
// its key as not applied ("restart to apply").
//
// If load fails, the merged configuration does not validate, or building
// from it fails, nothing changes: the issuer keeps serving the running
// configuration, and the error, which names the offending key (never a
// secret), is logged and returned. Reload also re-reads the key ring
// files at once (as the key loop does every tick), so a ring changed by
// "issuer keys rotate" or "issuer keys retire" takes effect without
// waiting. Reloads are serialized.
func (a *App) Reload(ctx context.Context, load func() (*config.Config, error)) error {
	a.reloadMu.Lock()
	defer a.reloadMu.Unlock()
	if err := a.Keys.Reload(ctx); err != nil {
		a.log.Error().Str("component", "keys").Str("cause", err.Error()).Msg("key ring reload failed; keeping the last good rings")
	}
	fail := func(what string, err error) error {
		a.Metrics.ConfigReloaded(false)
		a.log.Error().Str("component", "config").Strs("errors", strings.Split(err.Error(), "\n")).
			Msg("configuration reload failed: " + what + "; still serving the running configuration")
		return err
	}
	next, err := load()
	if err != nil {
		return fail("the file does not load", err)
	}
	cur := a.cur.Load()
	eff := *cur
	for _, s := range liveSections {
		s.apply(&eff, next)
	}
	if err := eff.Validate(); err != nil {
		// The new sections do not fit the settings that stay as they
		// were (a client naming an audience the file removed, say).
		return fail("the new clients, users or audiences do not fit the running settings", err)
	}
	frozen := frozenKeys(cur, next)
	if len(frozen) > 0 {
		a.log.Warn().Str("component", "config").Strs("keys", frozen).
			Msg("configuration reload: these settings cannot change while serving and keep their running values; restart to apply them")
	}
	var changed []liveChange
	for _, s := range liveSections {
		if d := s.diff(cur, &eff); !d.empty() {
			changed = append(changed, liveChange{s.key, d})
		}
	}
	if len(changed) == 0 {
		a.Metrics.ConfigReloaded(true)
		a.log.Info().Str("component", "config").Msg("configuration reloaded: no client, user or audience changed")
		return nil
	}
	st, err := a.newState(ctx, &eff)
	if err != nil {
		return fail("the new configuration cannot be built", err)
	}
	a.Handler.Swap(st.ep, st.owner)
	a.cur.Store(&eff)
	a.Metrics.ConfigReloaded(true)
	ev := a.log.Info().Str("component", "config")
	for _, c := range changed {
		ev.Dict(c.key, c.dict())
	}
	ev.Msg("configuration reloaded")
	return nil
}

// liveChange is one section's changes, for the reload's log line.
type liveChange struct {
	key string
	sectionDiff
}

func (c liveChange) dict() *zerolog.Event {
	d := zerolog.Dict()
	if len(c.added) > 0 {
		d.Strs("added", c.added)
	}
	if len(c.removed) > 0 {
		d.Strs("removed", c.removed)
	}
	if len(c.changed) > 0 {
		d.Strs("changed", c.changed)
	}
	return d
}

// ringReloaded logs a ring that another process changed on disk (the
// replica holding the rotation lease, "issuer keys rotate" or "retire")
// once this one has swapped it in: its name and each key's id and state,
// never key material. It runs inside the keys.Manager (keys.WithOnReload).
func (a *App) ringReloaded(set *keys.Set) {
	if a.Metrics != nil {
		a.Metrics.RingReloaded(set.Name())
	}
	a.log.Info().Str("component", "keys").Str("ring", set.Name()).Array("keys", keyStates(set, a.now())).
		Msg("key ring reloaded")
}

// keyStates lists a ring's keys as {kid, state, activates, retires}.
func keyStates(set *keys.Set, now time.Time) *zerolog.Array {
	arr := zerolog.Arr()
	for _, k := range set.Keys() {
		arr.Dict(zerolog.Dict().Str("kid", k.ID).Str("state", k.State(now).String()).
			Time("activates", k.Activates).Time("retires", k.Retires))
	}
	return arr
}

// logStart writes the start-up line: what this process serves and with
// what, so that an operator reading the log knows the version, the store
// (its kind and, for Redis, its address without the password), every key
// ring with its active key, where it listens and whether with TLS, where
// the metrics are, and the name it takes the rotation lease under.
func (a *App) logStart(addr net.Addr, metrics net.Listener) {
	cfg := a.cur.Load()
	now := a.now()
	rings := zerolog.Arr()
	for _, set := range a.Keys.List() {
		d := zerolog.Dict().Str("ring", set.Name()).Int("keys", set.Len())
		if k, err := set.Sealing(now); err == nil {
			d.Str("active_kid", k.ID)
		} else {
			d.Str("active_kid", "none")
		}
		rings.Dict(d)
	}
	ev := a.log.Info().Str("version", a.version).Str("issuer", cfg.Issuer).Str("addr", addr.String()).
		Bool("tls", a.Server.tls != nil)
	if cfg.TLS.CertFile != "" {
		ev.Str("cert_file", cfg.TLS.CertFile)
	}
	ev.Str("store", storeKind(cfg.Store))
	switch {
	case cfg.Store.IsFile():
		ev.Str("store_path", cfg.StorePath)
	case !cfg.Store.IsMemory():
		ev.Str("store_url", cfg.Store.String()) // the password redacted
	}
	ev.Array("rings", rings).Str("keys_dir", cfg.Keys.Dir).Str("lease_holder", a.holder)
	if metrics != nil {
		ev.Str("metrics_addr", metrics.Addr().String())
	} else {
		ev.Str("metrics_addr", addr.String())
	}
	ev.Int("clients", len(cfg.Clients)).Int("users", len(cfg.Users)).Msg("listening")
}

// storeKind is the kind of store a store setting names: "file", "memory",
// or the URL scheme ("redis", "rediss"), or the setting itself when it is
// a bare word; never the URL, which may hold a password.
func storeKind(s config.Store) string {
	v := string(s)
	if scheme, _, ok := strings.Cut(v, "://"); ok {
		return scheme
	}
	if strings.ContainsAny(v, ":/@") {
		return "other"
	}
	return v
}
