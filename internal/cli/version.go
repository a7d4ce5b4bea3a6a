package cli

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
)

// Version, when set at link time, overrides the module version from the
// build information:
//
//	go build -ldflags "-X github.com/sealedtoken/issuer/internal/cli.Version=v1.2.3" ./cmd/issuer
var Version = ""

const versionHelp = `usage: issuer version

Prints the version (from -ldflags -X .../internal/cli.Version, else the
module version), the VCS revision and time the binary was built from, and
the Go version and platform.
`

func runVersion(_ context.Context, args []string, env Env) error {
	fs := newFlags("version")
	if err := parse(fs, args, versionHelp, env); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("version takes no arguments")
	}
	fmt.Fprintln(env.Stdout, versionString())
	return nil
}

// version is the issuer's version: Version if set at link time, else the
// module version from the build information, else "(devel)".
func version() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}

// versionString describes the binary, for example
//
//	issuer v1.2.3 (commit 0123abc, 2026-11-22T00:00:00Z) go1.26.8 linux/amd64
func versionString() string {
	v, rev, at, dirty := version(), "", "", false
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.time":
				at = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
	}
	out := "issuer " + v
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		out += " (commit " + rev
		if at != "" {
			out += ", " + at
		}
		if dirty {
			out += ", modified"
		}
		out += ")"
	}
	return fmt.Sprintf("%s %s %s/%s", out, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
