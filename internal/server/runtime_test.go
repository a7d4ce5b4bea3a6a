package server_test

import (
	"runtime/debug"
	"testing"

	"github.com/sealedtoken/issuer/internal/config"
	"github.com/sealedtoken/issuer/internal/server"
)

// TestApplyRuntime: limits.gc_percent is set, unless the operator set GOGC
// or the key asks for the runtime's default.
func TestApplyRuntime(t *testing.T) {
	prev := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(prev) })
	cfg := &config.Config{Limits: config.Limits{GCPercent: 400}}
	noEnv := func(string) string { return "" }
	if pct, set := server.ApplyRuntime(cfg, noEnv); !set || pct != 400 || debug.SetGCPercent(400) != 400 {
		t.Fatalf("gc_percent 400: got %d, set %v", pct, set)
	}
	debug.SetGCPercent(100)
	gogc := func(k string) string {
		if k == "GOGC" {
			return "150"
		}
		return ""
	}
	if pct, set := server.ApplyRuntime(cfg, gogc); set || pct != 100 || debug.SetGCPercent(100) != 100 {
		t.Fatalf("with GOGC set: got %d, set %v; want the runtime's value kept", pct, set)
	}
	cfg.Limits.GCPercent = 0
	if pct, set := server.ApplyRuntime(cfg, noEnv); set || pct != 100 {
		t.Fatalf("gc_percent 0: got %d, set %v", pct, set)
	}
}
