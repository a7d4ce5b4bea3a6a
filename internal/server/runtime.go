package server

import (
	"runtime/debug"

	"github.com/sealedtoken/issuer/internal/config"
)

// ApplyRuntime sets the process-wide runtime tuning that cfg asks for:
// the garbage collector's target, limits.gc_percent, unless the GOGC
// environment variable (looked up with getenv) is set, which the operator
// then chose. It returns the percentage in force and whether it set it.
// It is for the server process (issuer serve), not for a library user of
// Build: the setting is global to the process.
func ApplyRuntime(cfg *config.Config, getenv func(string) string) (percent int, set bool) {
	if getenv("GOGC") != "" || cfg.Limits.GCPercent == 0 {
		percent = debug.SetGCPercent(-1)
		debug.SetGCPercent(percent)
		return percent, false
	}
	debug.SetGCPercent(cfg.Limits.GCPercent)
	return cfg.Limits.GCPercent, true
}
