package server_test

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sealedtoken/issuer/internal/server"
)

type syncBuf struct {
	mu     sync.Mutex
	b      bytes.Buffer
	writes int
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes++
	return s.b.Write(p)
}

func (s *syncBuf) snapshot() (string, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String(), s.writes
}

func TestLogWriter(t *testing.T) {
	tests := []struct {
		name      string
		lines     int
		lineLen   int
		interval  time.Duration
		wantAll   bool // everything is written before Close
		maxWrites int
	}{
		{name: "few lines are flushed by the interval", lines: 3, lineLen: 10, interval: 20 * time.Millisecond, wantAll: true, maxWrites: 1},
		{name: "many lines are batched", lines: 10000, lineLen: 100, interval: time.Hour, maxWrites: 32},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var sb syncBuf
			w := server.NewLogWriter(&sb, tt.interval)
			line := strings.Repeat("x", tt.lineLen-1) + "\n"
			for i := 0; i < tt.lines; i++ {
				_, _ = w.Write([]byte(line))
			}
			if tt.wantAll {
				deadline := time.Now().Add(5 * time.Second)
				for got, _ := sb.snapshot(); len(got) != tt.lines*tt.lineLen; got, _ = sb.snapshot() {
					if time.Now().After(deadline) {
						t.Fatalf("after the interval %d bytes written, want %d", len(got), tt.lines*tt.lineLen)
					}
					time.Sleep(5 * time.Millisecond)
				}
			}
			_ = w.Close()
			got, writes := sb.snapshot()
			if len(got) != tt.lines*tt.lineLen || strings.Count(got, "\n") != tt.lines {
				t.Fatalf("after Close %d bytes, want %d", len(got), tt.lines*tt.lineLen)
			}
			if writes > tt.maxWrites {
				t.Fatalf("%d writes for %d lines, want at most %d", writes, tt.lines, tt.maxWrites)
			}
		})
	}
}

func TestNewLogger(t *testing.T) {
	tests := []struct {
		name, level, format string
		terminal            bool
		wantErr             bool
		wantJSON            bool
	}{
		{name: "json", level: "info", format: "json", wantJSON: true},
		{name: "auto off a terminal is json", level: "debug", format: "auto", wantJSON: true},
		{name: "auto on a terminal is console", level: "info", format: "auto", terminal: true},
		{name: "console", level: "warn", format: "console"},
		{name: "bad level", level: "loud", format: "json", wantErr: true},
		{name: "bad format", level: "info", format: "xml", wantErr: true},
		{name: "empty format off a terminal is json", level: "info", format: "", wantJSON: true},
		{name: "json on a terminal", level: "info", format: "json", terminal: true, wantJSON: true},
	}
	if lines := server.JSONLines(io.Discard, "xml", false); lines != nil {
		t.Errorf("JSONLines of an unknown format = %v, want nil", lines)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			l, err := server.NewLogger(&b, tt.level, tt.format, tt.terminal)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v", err)
			}
			if tt.wantErr {
				return
			}
			// JSONLines hands the request-line encoder the writer exactly
			// when the logger writes JSON to it.
			if lines := server.JSONLines(&b, tt.format, tt.terminal); (lines != nil) != tt.wantJSON {
				t.Errorf("JSONLines = %v, want a writer: %v", lines, tt.wantJSON)
			}
			l.Error().Str("k", "v").Msg("hello")
			if got := strings.HasPrefix(b.String(), "{"); got != tt.wantJSON {
				t.Fatalf("output %q: JSON = %v, want %v", b.String(), got, tt.wantJSON)
			}
		})
	}
}

// TestLogWriterConcurrent writes from many goroutines: every line arrives
// whole, and each goroutine's lines arrive in the order written.
func TestLogWriterConcurrent(t *testing.T) {
	var sb syncBuf
	w := server.NewLogWriter(&sb, time.Millisecond)
	const writers, lines = 8, 5000
	var wg sync.WaitGroup
	for g := 0; g < writers; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < lines; i++ {
				_, _ = fmt.Fprintf(w, "{\"g\":%d,\"i\":%d,\"pad\":\"%s\"}\n", g, i, strings.Repeat("p", i%97))
			}
		}()
	}
	wg.Wait()
	_ = w.Close()
	got, _ := sb.snapshot()
	next := make([]int, writers)
	n := 0
	for _, line := range strings.Split(strings.TrimSuffix(got, "\n"), "\n") {
		var g, i int
		var pad string
		if _, err := fmt.Sscanf(line, "{\"g\":%d,\"i\":%d,\"pad\":%s", &g, &i, &pad); err != nil || !strings.HasSuffix(line, "\"}") {
			t.Fatalf("broken line %q", line)
		}
		if i != next[g] {
			t.Fatalf("writer %d: line %d arrived when %d was expected", g, i, next[g])
		}
		next[g]++
		n++
	}
	if n != writers*lines {
		t.Fatalf("%d lines, want %d", n, writers*lines)
	}
}
