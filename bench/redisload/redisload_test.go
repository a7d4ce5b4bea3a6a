package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestRedisloadRuns keeps the load test from rotting: a short comparison
// must run against a redis-server it starts, or the file store, and report
// both stores' figures. The figures themselves are measured by "go run
// ./bench/redisload" (bench/RESULTS-redis.md, docs/STORE.md).
func TestRedisloadRuns(t *testing.T) {
	haveRedis := true
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("redis-server not found and CI=true: apt-get install -y redis-server")
		}
		haveRedis = false
	}
	tests := []struct {
		name string
		o    options
		want []string
	}{
		{
			name: "no persistence",
			o:    options{duration: 300 * time.Millisecond, warmup: 100 * time.Millisecond, rounds: 1, conns: 4, store: "redis", redisBin: "redis-server", aof: "no", maxCodes: 20000},
			want: []string{"round 1  memory", "round 1  redis", "redis/memory req/s", "appendonly no"},
		},
		{
			name: "append-only file, fsync always",
			o:    options{duration: 200 * time.Millisecond, rounds: 1, conns: 2, store: "redis", redisBin: "redis-server", aof: "always", maxCodes: 20000},
			want: []string{"appendfsync always", "round 1  redis"},
		},
		{
			name: "file store",
			o:    options{duration: 300 * time.Millisecond, warmup: 100 * time.Millisecond, rounds: 1, conns: 4, store: "file", aof: "no", maxCodes: 20000},
			want: []string{"round 1  memory", "round 1  file", "file/memory req/s", "every write fsynced"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.o.store == "redis" && !haveRedis {
				t.Skip("install redis-server (apt-get install -y redis-server)")
			}
			if err := tt.o.validate(); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			var out bytes.Buffer
			if err := run(ctx, tt.o, &out); err != nil {
				t.Fatalf("%v\n%s", err, out.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
			for _, m := range regexp.MustCompile(`(?m)^round 1  (memory|redis|file)\s+(\d+) req/s`).FindAllStringSubmatch(out.String(), -1) {
				if n, _ := strconv.Atoi(m[2]); n == 0 {
					t.Errorf("no throughput measured for %s:\n%s", m[1], out.String())
				}
			}
		})
	}
}

func TestOptionsValidate(t *testing.T) {
	ok := options{duration: time.Second, rounds: 1, conns: 1, store: "redis", aof: "no", maxCodes: 1}
	tests := []struct {
		name    string
		edit    func(*options)
		wantErr bool
	}{
		{name: "defaults are valid", edit: func(*options) {}},
		{name: "zero duration", edit: func(o *options) { o.duration = 0 }, wantErr: true},
		{name: "no rounds", edit: func(o *options) { o.rounds = 0 }, wantErr: true},
		{name: "unknown aof", edit: func(o *options) { o.aof = "sometimes" }, wantErr: true},
		{name: "aof with an existing server", edit: func(o *options) { o.redisURL, o.aof = "redis://127.0.0.1:6379/0", "always" }, wantErr: true},
		{name: "existing server", edit: func(o *options) { o.redisURL = "redis://127.0.0.1:6379/0" }},
		{name: "only redis", edit: func(o *options) { o.only = "redis" }},
		{name: "only something else", edit: func(o *options) { o.only = "postgres" }, wantErr: true},
		{name: "file store", edit: func(o *options) { o.store = "file" }},
		{name: "only file", edit: func(o *options) { o.store, o.only = "file", "file" }},
		{name: "only redis with the file store", edit: func(o *options) { o.store, o.only = "file", "redis" }, wantErr: true},
		{name: "unknown store", edit: func(o *options) { o.store = "postgres" }, wantErr: true},
		{name: "aof with the file store", edit: func(o *options) { o.store, o.aof = "file", "always" }, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := ok
			tt.edit(&o)
			if err := o.validate(); (err != nil) != tt.wantErr {
				t.Fatalf("validate() = %v, want error %v", err, tt.wantErr)
			}
		})
	}
}

func TestCodesFor(t *testing.T) {
	tests := []struct {
		name     string
		rate     float64
		d        time.Duration
		maxCodes int
		want     int
	}{
		{name: "half again the expected count", rate: 10000, d: 2 * time.Second, maxCodes: 1 << 20, want: 30000},
		{name: "at least 1000", rate: 10, d: time.Second, maxCodes: 1 << 20, want: 1000},
		{name: "capped", rate: 1e6, d: 10 * time.Second, maxCodes: 400000, want: 400000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := codesFor(tt.rate, tt.d, tt.maxCodes); got != tt.want {
				t.Fatalf("codesFor = %d, want %d", got, tt.want)
			}
		})
	}
}
