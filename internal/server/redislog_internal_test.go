package server

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/rs/zerolog"
)

// TestRedisLoggerScrubs: a go-redis message that quotes the store password
// (a URL in an error, say) reaches the log with the password replaced.
func TestRedisLoggerScrubs(t *testing.T) {
	var buf bytes.Buffer
	l := &redisLogger{log: zerolog.New(&buf), scrub: []string{"s3cret"}}
	l.Printf(context.Background(), "redis: dial %s failed: %v\n", "redis://:s3cret@10.0.0.1:6379", "refused")
	got := buf.String()
	if strings.Contains(got, "s3cret") || !strings.Contains(got, `redis://:xxxxx@10.0.0.1:6379`) || !strings.Contains(got, `"message":"dial`) {
		t.Fatalf("scrubbed line = %s", got)
	}
}
