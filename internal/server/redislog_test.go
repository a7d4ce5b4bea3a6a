package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/sealedtoken/issuer/internal/server"
)

// TestRouteRedisLogs: during a Redis outage go-redis reports its failed
// dials itself; routed, they are JSON lines of the issuer's log (component
// "redis"), never plain text, and never carry the store password.
func TestRouteRedisLogs(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := l.Addr().String()
	l.Close() // nothing listens there now
	const password = "redis-pass-never-logged"
	var buf syncBuf
	server.RouteRedisLogs(zerolog.New(&buf), password)
	t.Cleanup(func() { server.RouteRedisLogs(zerolog.New(io.Discard)) })

	c := goredis.NewClient(&goredis.Options{Addr: dead, Password: password, DialTimeout: 200 * time.Millisecond, MaxRetries: -1})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err == nil {
		t.Fatal("ping of a closed port succeeded")
	}
	text, _ := buf.snapshot()
	lines := nonEmptyLines(text)
	if len(lines) == 0 {
		t.Fatal("go-redis logged nothing about the failed dial")
	}
	for _, line := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("a plain-text line in the log: %q", line)
		}
		if m["component"] != "redis" || m["level"] != "warn" {
			t.Errorf("go-redis line without component redis at warn: %v", m)
		}
	}
	if !strings.Contains(text, "dial") {
		t.Errorf("the failed dial is not reported: %s", text)
	}
	if strings.Contains(text, password) {
		t.Fatal("the log holds the store password")
	}
}
